package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Defaults of the tusvault-only flags. The tusd flags take their defaults
// from tusd v2.9.1 (cmd/tusd/cli/flags.go); see defaultConfig.
const (
	// defaultPartSize is the size of every encrypted part but the last.
	defaultPartSize = 10 << 20
	// minPartSize and maxPartSize are S3's bounds on a part.
	minPartSize = 5 << 20
	maxPartSize = 5 << 30
	// defaultConcurrentPartUploads is the process-wide number of part
	// uploads in flight (the limiter's slots).
	defaultConcurrentPartUploads = 4
	// defaultKeyringName is the keyring's file name inside the upload dir.
	defaultKeyringName = "keyring.json"
)

// Config is what the serve flags say. Every field names its flag and its
// default; defaultConfig returns the defaults and validate checks a parsed
// value.
type Config struct {
	// Listening options.
	Host        string // -host, default "0.0.0.0"
	Port        string // -port, default "8080"; "0" picks a free port
	UnixSock    string // -unix-sock, default "" (listen on TCP)
	BasePath    string // -base-path, default "/files/"
	BehindProxy bool   // -behind-proxy, default false

	// TLS options: TLS is on when both files are given.
	TLSCertFile string // -tls-certificate, default ""
	TLSKeyFile  string // -tls-key, default ""
	TLSMode     string // -tls-mode, default "tls12" (or "tls13", "tls12-strong")

	// Upload protocol options.
	DisableDownload      bool  // -disable-download, default false
	DisableTermination   bool  // -disable-termination, default false
	DisableConcatenation bool  // -disable-concatenation, always true for now
	MaxSize              int64 // -max-size, default 0 (no limit)

	// CORS options.
	DisableCors          bool   // -disable-cors, default false
	CorsAllowOrigin      string // -cors-allow-origin, default ".*"
	CorsAllowCredentials bool   // -cors-allow-credentials, default false
	CorsAllowMethods     string // -cors-allow-methods, default ""
	CorsAllowHeaders     string // -cors-allow-headers, default ""
	CorsMaxAge           string // -cors-max-age, default "86400"
	CorsExposeHeaders    string // -cors-expose-headers, default ""

	// Storage options.
	UploadDir                    string        // -upload-dir, default "./data"
	FilelockHolderPollInterval   time.Duration // -filelock-holder-poll-interval, default 5s
	FilelockAcquirerPollInterval time.Duration // -filelock-acquirer-poll-interval, default 2s

	// Encryption options (tusvault's own).
	Keyring               string // -keyring, default "" = <upload-dir>/keyring.json
	PartSize              int64  // -part-size, default 10 MiB
	SpoolDir              string // -spool-dir, default "" = <upload-dir>/.tusvault/spool
	ConcurrentPartUploads int    // -concurrent-part-uploads, default 4

	// Monitoring and logging options.
	ShowGreeting    bool   // -show-greeting, default true
	ShowVersion     bool   // -version, default false
	Verbose         bool   // -verbose, default true
	ShowStartupLogs bool   // -show-startup-logs, default true
	LogFormat       string // -log-format, default "text" (or "json")

	// Timeout options.
	NetworkTimeout           time.Duration // -network-timeout, default 60s
	ShutdownTimeout          time.Duration // -shutdown-timeout, default 10s
	AcquireLockTimeout       time.Duration // -acquire-lock-timeout, default 20s
	RequestCompletionTimeout time.Duration // -request-completion-timeout, default 10s
}

// defaultConfig returns the configuration of a flag-less `tusvault`.
func defaultConfig() Config {
	return Config{
		Host:                         "0.0.0.0",
		Port:                         "8080",
		BasePath:                     "/files/",
		TLSMode:                      tlsMode12,
		DisableConcatenation:         true,
		CorsAllowOrigin:              ".*",
		CorsMaxAge:                   "86400",
		UploadDir:                    "./data",
		FilelockHolderPollInterval:   5 * time.Second,
		FilelockAcquirerPollInterval: 2 * time.Second,
		PartSize:                     defaultPartSize,
		ConcurrentPartUploads:        defaultConcurrentPartUploads,
		ShowGreeting:                 true,
		Verbose:                      true,
		ShowStartupLogs:              true,
		LogFormat:                    "text",
		NetworkTimeout:               60 * time.Second,
		ShutdownTimeout:              10 * time.Second,
		AcquireLockTimeout:           20 * time.Second,
		RequestCompletionTimeout:     10 * time.Second,
	}
}

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
		fs.BoolVar(&c.DisableDownload, "disable-download", c.DisableDownload, "Disable the download endpoint")
		fs.BoolVar(&c.DisableTermination, "disable-termination", c.DisableTermination, "Disable the termination endpoint")
		fs.BoolVar(&c.DisableConcatenation, "disable-concatenation", c.DisableConcatenation, "Disable support for the concatenation extension (always disabled: tusvault does not support concatenation yet)")
		fs.Int64Var(&c.MaxSize, "max-size", c.MaxSize, "Maximum size of a single upload in bytes (0: no limit)")
	})
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
		fs.StringVar(&c.UploadDir, "upload-dir", c.UploadDir, "Directory to store uploads in (encrypted)")
		fs.DurationVar(&c.FilelockHolderPollInterval, "filelock-holder-poll-interval", c.FilelockHolderPollInterval, "The holder of a lock polls regularly to see if another request handler needs the lock. This flag specifies the poll interval.")
		fs.DurationVar(&c.FilelockAcquirerPollInterval, "filelock-acquirer-poll-interval", c.FilelockAcquirerPollInterval, "The acquirer of a lock polls regularly to see if the lock has been released. This flag specifies the poll interval.")
	})
	group("Encryption options", func() {
		fs.StringVar(&c.Keyring, "keyring", c.Keyring, "Keyring file holding the key-encryption keys; created (mode 0600) when absent. Default <upload-dir>/"+defaultKeyringName+". Back it up: without it no upload can be decrypted.")
		fs.Int64Var(&c.PartSize, "part-size", c.PartSize, "Size in bytes of every encrypted part but the last (at least 5 MiB)")
		fs.StringVar(&c.SpoolDir, "spool-dir", c.SpoolDir, "Directory for ciphertext parts waiting to be stored. Default <upload-dir>/.tusvault/spool")
		fs.IntVar(&c.ConcurrentPartUploads, "concurrent-part-uploads", c.ConcurrentPartUploads, "Number of part uploads in flight across the process; further parts wait")
	})
	group("Monitoring, logging options", func() {
		fs.BoolVar(&c.ShowGreeting, "show-greeting", c.ShowGreeting, "Show the greeting message for GET requests to the root path")
		fs.BoolVar(&c.ShowVersion, "version", c.ShowVersion, "Print tusvault version information")
		fs.BoolVar(&c.Verbose, "verbose", c.Verbose, "Enable verbose logging output")
		fs.BoolVar(&c.ShowStartupLogs, "show-startup-logs", c.ShowStartupLogs, "Print details about tusvault's configuration during startup")
		fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "Logging format (text or json)")
	})
	group("Timeout options", func() {
		fs.DurationVar(&c.NetworkTimeout, "network-timeout", c.NetworkTimeout, "Timeout for reading the request and writing the response. If tusvault does not receive data for this duration, it will consider the connection dead.")
		fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.ShutdownTimeout, "Timeout for closing connections gracefully during shutdown. After the timeout, tusvault will exit regardless of any open connection.")
		fs.DurationVar(&c.AcquireLockTimeout, "acquire-lock-timeout", c.AcquireLockTimeout, "Timeout for a request handler to wait for acquiring the upload lock.")
		fs.DurationVar(&c.RequestCompletionTimeout, "request-completion-timeout", c.RequestCompletionTimeout, "Period after which all request operations are cancelled when the request is stopped by the client.")
	})
	return fs, groups
}

// parseConfig parses the serve flags (args without the program name and
// without the "serve" word) into a Config and validates it.
func parseConfig(args []string) (Config, error) {
	c := defaultConfig()
	fs, _ := c.newFlagSet()
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err := c.validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// validate reports the first invalid value, naming its flag, in one line.
func (c *Config) validate() error {
	if c.UnixSock == "" {
		if err := validPort(c.Port); err != nil {
			return fmt.Errorf("invalid -port %q: %w", c.Port, err)
		}
		if strings.ContainsAny(c.Host, " \t\r\n/") {
			return fmt.Errorf("invalid -host %q", c.Host)
		}
	}
	if err := validBasePath(c.BasePath); err != nil {
		return fmt.Errorf("invalid -base-path %q: %w", c.BasePath, err)
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		return errors.New("-tls-certificate and -tls-key must be given together")
	}
	if _, err := tlsConfig(c.TLSMode); err != nil {
		return err
	}
	if !c.DisableConcatenation {
		return errors.New("invalid -disable-concatenation=false: tusvault does not support the concatenation extension yet")
	}
	if c.MaxSize < 0 {
		return fmt.Errorf("invalid -max-size %d: must be 0 (no limit) or positive", c.MaxSize)
	}
	if _, err := regexp.Compile(c.CorsAllowOrigin); err != nil {
		return fmt.Errorf("invalid -cors-allow-origin: %w", err)
	}
	if _, err := strconv.ParseUint(c.CorsMaxAge, 10, 31); err != nil {
		return fmt.Errorf("invalid -cors-max-age %q: must be a number of seconds", c.CorsMaxAge)
	}
	for name, v := range map[string]string{
		"-cors-allow-methods":  c.CorsAllowMethods,
		"-cors-allow-headers":  c.CorsAllowHeaders,
		"-cors-expose-headers": c.CorsExposeHeaders,
	} {
		if strings.ContainsAny(v, "\r\n") {
			return fmt.Errorf("invalid %s: must be a single line", name)
		}
	}
	if c.UploadDir == "" {
		return errors.New("invalid -upload-dir: must not be empty")
	}
	if c.PartSize < minPartSize || c.PartSize > maxPartSize {
		return fmt.Errorf("invalid -part-size %d: must be from %d (5 MiB) to %d (5 GiB) bytes", c.PartSize, minPartSize, int64(maxPartSize))
	}
	if c.ConcurrentPartUploads < 1 {
		return fmt.Errorf("invalid -concurrent-part-uploads %d: must be at least 1", c.ConcurrentPartUploads)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return fmt.Errorf("invalid -log-format %q: must be text or json", c.LogFormat)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"-network-timeout", c.NetworkTimeout},
		{"-acquire-lock-timeout", c.AcquireLockTimeout},
		{"-request-completion-timeout", c.RequestCompletionTimeout},
		{"-filelock-holder-poll-interval", c.FilelockHolderPollInterval},
		{"-filelock-acquirer-poll-interval", c.FilelockAcquirerPollInterval},
	} {
		if d.v <= 0 {
			return fmt.Errorf("invalid %s %s: must be positive", d.name, d.v)
		}
	}
	if c.ShutdownTimeout < 0 {
		return fmt.Errorf("invalid -shutdown-timeout %s: must not be negative", c.ShutdownTimeout)
	}
	return nil
}

// validPort accepts a decimal TCP port, 0 included (a free port).
func validPort(p string) error {
	n, err := strconv.ParseUint(p, 10, 16)
	if err != nil || p != strconv.FormatUint(n, 10) {
		return errors.New("must be a number from 0 to 65535")
	}
	return nil
}

// validBasePath accepts a URL path that starts with "/" and that can be used
// as a net/http mux pattern (no wildcards, no query, no spaces).
func validBasePath(p string) error {
	if !strings.HasPrefix(p, "/") {
		return errors.New("must start with /")
	}
	if strings.ContainsAny(p, "{}?# \t\r\n") || strings.Contains(p, "//") {
		return errors.New("must be a plain URL path")
	}
	u, err := url.Parse(p)
	if err != nil || u.Path != p {
		return errors.New("must be a plain URL path")
	}
	return nil
}

// basePath is the base path with its trailing slash, as tusd's handler
// uses it for upload URLs.
func (c *Config) basePath() string {
	if strings.HasSuffix(c.BasePath, "/") {
		return c.BasePath
	}
	return c.BasePath + "/"
}

// keyringPath is -keyring or its default inside the upload dir.
func (c *Config) keyringPath() string {
	return keyringPath(c.Keyring, c.UploadDir)
}

// spoolDir is -spool-dir or its default inside the upload dir.
func (c *Config) spoolDir() string {
	if c.SpoolDir != "" {
		return c.SpoolDir
	}
	return defaultSpoolDir(c.UploadDir)
}

func keyringPath(flagValue, uploadDir string) string {
	if flagValue != "" {
		return flagValue
	}
	return filepath.Join(uploadDir, defaultKeyringName)
}

func defaultSpoolDir(uploadDir string) string {
	return filepath.Join(uploadDir, ".tusvault", "spool")
}
