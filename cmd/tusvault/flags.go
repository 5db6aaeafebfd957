package main

import (
	"flag"
	"io"

	"github.com/tusvault/tusvault/web"
)

// flagGroup is a titled list of flags, for the usage text.
type flagGroup struct {
	title string
	names []string
}

// newFlagSet registers the serve flags on a new flag set, bound to c (whose
// current values become the defaults), and returns the groups for usage.
func (c *Config) newFlagSet() (*flag.FlagSet, []flagGroup) {
	fs := flag.NewFlagSet("tusvault", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	var groups []flagGroup
	group := func(title string, add func()) {
		before := map[string]bool{}
		fs.VisitAll(func(f *flag.Flag) { before[f.Name] = true })
		add()
		g := flagGroup{title: title}
		fs.VisitAll(func(f *flag.Flag) {
			if !before[f.Name] {
				g.names = append(g.names, f.Name)
			}
		})
		groups = append(groups, g)
	}

	group("Listening options", func() {
		fs.StringVar(&c.Host, "host", c.Host, "Host to bind HTTP server to")
		fs.StringVar(&c.Port, "port", c.Port, "Port to bind HTTP server to (0 picks a free port)")
		fs.StringVar(&c.UnixSock, "unix-sock", c.UnixSock, "If set, will listen to a UNIX socket at this location instead of a TCP socket")
		fs.StringVar(&c.BasePath, "base-path", c.BasePath, "Basepath of the HTTP server")
		fs.BoolVar(&c.BehindProxy, "behind-proxy", c.BehindProxy, "Respect X-Forwarded-* and similar headers which may be set by proxies")
	})
	group("TLS options", func() {
		fs.StringVar(&c.TLSCertFile, "tls-certificate", c.TLSCertFile, "Path to the file containing the x509 TLS certificate to be used. The file should also contain any intermediate certificates and the CA certificate.")
		fs.StringVar(&c.TLSKeyFile, "tls-key", c.TLSKeyFile, "Path to the file containing the key for the TLS certificate.")
		fs.StringVar(&c.TLSMode, "tls-mode", c.TLSMode, "Specify which TLS mode to use; valid modes are tls13, tls12, and tls12-strong.")
	})
	group("Upload protocol options", func() {
		fs.BoolVar(&c.EnableExperimentalProtocol, "enable-experimental-protocol", c.EnableExperimentalProtocol, "Enable support for the new resumable upload protocol draft from the IETF's HTTP working group, next to the current tus v1 protocol. (experimental and may be removed/changed in the future)")
		fs.BoolVar(&c.DisableDownload, "disable-download", c.DisableDownload, "Disable the download endpoint")
		fs.BoolVar(&c.DisableTermination, "disable-termination", c.DisableTermination, "Disable the termination endpoint")
		fs.BoolVar(&c.DisableConcatenation, "disable-concatenation", c.DisableConcatenation, "Disable support for the concatenation extension (always disabled: tusvault does not support concatenation yet)")
		fs.Int64Var(&c.MaxSize, "max-size", c.MaxSize, "Maximum size of a single upload in bytes (0: no limit)")
	})
	group("Auth and routing options", func() { c.authFlags.register(fs) })
	group("CORS options", func() {
		fs.BoolVar(&c.DisableCors, "disable-cors", c.DisableCors, "Disable CORS headers")
		fs.StringVar(&c.CorsAllowOrigin, "cors-allow-origin", c.CorsAllowOrigin, "Regular expression used to determine if the Origin header is allowed. If not, no CORS headers will be sent. By default, all origins are allowed.")
		fs.BoolVar(&c.CorsAllowCredentials, "cors-allow-credentials", c.CorsAllowCredentials, "Allow credentials by setting Access-Control-Allow-Credentials: true")
		fs.StringVar(&c.CorsAllowMethods, "cors-allow-methods", c.CorsAllowMethods, "Comma-separated list of request methods that are included in Access-Control-Allow-Methods in addition to the ones required by tus")
		fs.StringVar(&c.CorsAllowHeaders, "cors-allow-headers", c.CorsAllowHeaders, "Comma-separated list of headers that are included in Access-Control-Allow-Headers in addition to the ones required by tus")
		fs.StringVar(&c.CorsMaxAge, "cors-max-age", c.CorsMaxAge, "Value of the Access-Control-Max-Age header to control the cache duration of CORS responses.")
		fs.StringVar(&c.CorsExposeHeaders, "cors-expose-headers", c.CorsExposeHeaders, "Comma-separated list of headers that are included in Access-Control-Expose-Headers in addition to the ones required by tus")
	})
	group("File storage options", func() {
		fs.StringVar(&c.UploadDir, "upload-dir", c.UploadDir, "Directory to store uploads in (encrypted). With -s3-bucket, only the default home of the keyring and the spool")
		fs.DurationVar(&c.FilelockHolderPollInterval, "filelock-holder-poll-interval", c.FilelockHolderPollInterval, "The holder of a lock polls regularly to see if another request handler needs the lock. This flag specifies the poll interval.")
		fs.DurationVar(&c.FilelockAcquirerPollInterval, "filelock-acquirer-poll-interval", c.FilelockAcquirerPollInterval, "The acquirer of a lock polls regularly to see if the lock has been released. This flag specifies the poll interval.")
	})
	group("AWS S3 storage options", func() {
		c.registerS3(fs)
		fs.Int64Var(&c.PartSize, "s3-part-size", c.PartSize, "Size in bytes of every encrypted part but the last, from 5 MiB to 5 GiB, raised per upload so that no upload needs more than 10,000 parts (also for the disk storage; -part-size is the same flag)")
		fs.IntVar(&c.ConcurrentPartUploads, "s3-concurrent-part-uploads", c.ConcurrentPartUploads, "Number of part uploads in flight across the process; further parts wait (also for the disk storage; -concurrent-part-uploads is the same flag)")
	})
	group("Several instances", func() { c.registerRedis(fs) })
	group("Expiry options", func() {
		fs.DurationVar(&c.ExpireAfter, "expire-after", c.ExpireAfter, "Remove unfinished uploads whose last write is older than this (and orphaned multipart uploads and tails) in a sweep shortly after startup and then every quarter of it, from once a minute to once an hour (0: never). Finished uploads are never removed. 'tusvault cleanup' runs one sweep.")
	})
	group("Encryption options", func() {
		fs.StringVar(&c.Keyring, "keyring", c.Keyring, "Keyring file holding the key-encryption keys. Default <upload-dir>/"+defaultKeyringName+". Created (mode 0600) when absent with the disk storage only; with -s3-bucket it must exist: create it with 'tusvault keys init'. Back it up: without it no upload can be decrypted.")
		fs.Int64Var(&c.PartSize, "part-size", c.PartSize, "Same as -s3-part-size")
		fs.IntVar(&c.UploadFormat, "upload-format", c.UploadFormat, "Encryption format of new uploads: 2 authenticates every 64 KiB chunk, so ranged downloads are verified too; 1 is the format of tusvault before v2, for while older instances that read only v1 still serve the same bucket. Each upload keeps the format it was created in, and both are always read.")
		fs.StringVar(&c.SpoolDir, "spool-dir", c.SpoolDir, "Directory for ciphertext parts waiting to be stored. Default <upload-dir>/.tusvault/spool")
		fs.IntVar(&c.ConcurrentPartUploads, "concurrent-part-uploads", c.ConcurrentPartUploads, "Same as -s3-concurrent-part-uploads")
		fs.Int64Var(&c.TailCacheMB, "tail-cache-mb", c.TailCacheMB, "MiB of the spool directory that may keep, between two PATCHes of an upload, its tail ciphertext (less than a part), so that the next PATCH reads nothing back from the object store; the oldest go first (0: off)")
		fs.DurationVar(&c.TailCacheTTL, "tail-cache-ttl", c.TailCacheTTL, "How long a tail stays in the tail cache after its PATCH")
	})
	c.hookFlags.register(fs, group)
	group("Web page options", func() { c.webFlags.register(fs) })
	group("Monitoring, logging options", func() {
		fs.BoolVar(&c.ShowGreeting, "show-greeting", c.ShowGreeting, "Serve the upload page at the root path (and its files beside it); false: none")
		fs.BoolVar(&c.ShowVersion, "version", c.ShowVersion, "Print tusvault version information")
		fs.BoolVar(&c.Verbose, "verbose", c.Verbose, "Enable verbose logging output")
		fs.BoolVar(&c.ShowStartupLogs, "show-startup-logs", c.ShowStartupLogs, "Print details about tusvault's configuration during startup")
		fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "Logging format (text or json)")
		fs.BoolVar(&c.ExposeMetrics, "expose-metrics", c.ExposeMetrics, "Expose metrics about tusvault usage (Prometheus: tusd's tusd_* and tusvault's tusvault_*)")
		fs.StringVar(&c.MetricsPath, "metrics-path", c.MetricsPath, "Path under which the metrics endpoint will be accessible")
		fs.BoolVar(&c.ExposePprof, "expose-pprof", c.ExposePprof, "Expose the pprof interface over HTTP for profiling tusvault")
		fs.StringVar(&c.PprofPath, "pprof-path", c.PprofPath, "Path under which the pprof endpoint will be accessible")
		fs.IntVar(&c.PprofBlockProfileRate, "pprof-block-profile-rate", c.PprofBlockProfileRate, "Fraction of goroutine blocking events that are reported in the blocking profile")
		fs.IntVar(&c.PprofMutexProfileRate, "pprof-mutex-profile-rate", c.PprofMutexProfileRate, "Fraction of mutex contention events that are reported in the mutex profile")
		fs.StringVar(&c.StatusTokenFile, "status-token-file", c.StatusTokenFile, "File holding a bearer token that "+web.RAMStatusPath+", the metrics and pprof then require (its text, surrounding whitespace trimmed, at least 16 characters). Default: they are open; /healthz and /readyz always are")
		fs.Int64Var(&c.RAMLimitMB, "ram-limit-mb", c.RAMLimitMB, "Memory limit in MiB reported by "+web.RAMStatusPath+" and used for GOMEMLIMIT (0: detect it from the cgroup, else the physical memory)")
	})
	group("Timeout options", func() {
		fs.DurationVar(&c.NetworkTimeout, "network-timeout", c.NetworkTimeout, "Timeout for reading the request and writing the response. If tusvault does not receive data for this duration, it will consider the connection dead.")
		fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.ShutdownTimeout, "Timeout for closing connections gracefully during shutdown. After the timeout, tusvault will exit regardless of any open connection.")
		fs.DurationVar(&c.AcquireLockTimeout, "acquire-lock-timeout", c.AcquireLockTimeout, "Timeout for a request handler to wait for acquiring the upload lock.")
		fs.DurationVar(&c.RequestCompletionTimeout, "request-completion-timeout", c.RequestCompletionTimeout, "Period after which all request operations are cancelled when the request is stopped by the client.")
	})
	return fs, groups
}
