package main

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/tusvault/tusvault/store"
)

// Defaults of the tusvault-only flags. The tusd flags take their defaults
// from tusd v2.9.1 (cmd/tusd/cli/flags.go); see defaultConfig.
const (
	// defaultPartSize is the size of every encrypted part but the last.
	defaultPartSize = 5 << 20
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
	EnableExperimentalProtocol bool  // -enable-experimental-protocol, default false (IETF draft)
	DisableDownload            bool  // -disable-download, default false
	DisableTermination         bool  // -disable-termination, default false
	DisableConcatenation       bool  // -disable-concatenation, always true for now
	MaxSize                    int64 // -max-size, default 0 (no limit)

	// Auth and routing options: -auth (default "jwt"), -auth-secret-file,
	// -auth-public-key-file, -auth-issuer, -auth-audience,
	// -auth-resume-grace (24h), -home-max-size, -guest-max-size and the
	// route prefixes (authflags.go).
	authFlags

	// CORS options.
	DisableCors          bool   // -disable-cors, default false
	CorsAllowOrigin      string // -cors-allow-origin, default ".*"
	CorsAllowCredentials bool   // -cors-allow-credentials, default false
	CorsAllowMethods     string // -cors-allow-methods, default ""
	CorsAllowHeaders     string // -cors-allow-headers, default ""
	CorsMaxAge           string // -cors-max-age, default "86400"
	CorsExposeHeaders    string // -cors-expose-headers, default ""

	// Storage options: -upload-dir (default "./data"), -keyring (default
	// <upload-dir>/keyring.json) and the -s3-* flags that say where the
	// bucket is, shared with the offline commands (storage.go).
	storageFlags
	FilelockHolderPollInterval   time.Duration // -filelock-holder-poll-interval, default 5s
	FilelockAcquirerPollInterval time.Duration // -filelock-acquirer-poll-interval, default 2s
	ExpireAfter                  time.Duration // -expire-after, default 0 (no expiry sweep)

	// Part options, for both backends (tusd's -s3-* names are the primary
	// ones; tusvault's older names are aliases of the same variables).
	PartSize              int64 // -s3-part-size = -part-size, default 5 MiB
	ConcurrentPartUploads int   // -s3-concurrent-part-uploads = -concurrent-part-uploads, default 4

	// Encryption options (tusvault's own).
	UploadFormat int           // -upload-format, default 2 (1: v1, for a fleet with older binaries)
	SpoolDir     string        // -spool-dir, default "" = <upload-dir>/.tusvault/spool
	TailCacheMB  int64         // -tail-cache-mb, default 256 (0: no tail cache)
	TailCacheTTL time.Duration // -tail-cache-ttl, default 10m

	// Hook options: tusd's -hooks-* flags and -progress-hooks-interval
	// (exthooks.go).
	hookFlags

	// Web page options: -web-chunk-size (default 0), -web-retry-delays
	// (default 0s,1s,3s,10s,30s,1m,2m), -web-token-refresh-url (default
	// "") (web.go).
	webFlags

	// Monitoring and logging options (package web serves the routes).
	ShowGreeting          bool   // -show-greeting, default true
	ShowVersion           bool   // -version, default false
	Verbose               bool   // -verbose, default true
	ShowStartupLogs       bool   // -show-startup-logs, default true
	LogFormat             string // -log-format, default "text" (or "json")
	ExposeMetrics         bool   // -expose-metrics, default true
	MetricsPath           string // -metrics-path, default "/metrics"
	ExposePprof           bool   // -expose-pprof, default false
	PprofPath             string // -pprof-path, default "/debug/pprof/"
	PprofBlockProfileRate int    // -pprof-block-profile-rate, default 0
	PprofMutexProfileRate int    // -pprof-mutex-profile-rate, default 0
	StatusTokenFile       string // -status-token-file, default "" (ram-status, metrics and pprof open)
	RAMLimitMB            int64  // -ram-limit-mb, default 0 (detected: cgroup, then physical memory)

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
		authFlags:                    defaultAuthFlags(),
		CorsAllowOrigin:              ".*",
		CorsMaxAge:                   "86400",
		storageFlags:                 defaultStorageFlags(),
		FilelockHolderPollInterval:   5 * time.Second,
		FilelockAcquirerPollInterval: 2 * time.Second,
		PartSize:                     defaultPartSize,
		ConcurrentPartUploads:        defaultConcurrentPartUploads,
		UploadFormat:                 store.DefaultFormat,
		TailCacheMB:                  store.DefaultTailCacheBytes >> 20,
		TailCacheTTL:                 store.DefaultTailCacheTTL,
		hookFlags:                    defaultHookFlags(),
		webFlags:                     defaultWebFlags(),
		ShowGreeting:                 true,
		Verbose:                      true,
		ShowStartupLogs:              true,
		LogFormat:                    "text",
		ExposeMetrics:                true,
		MetricsPath:                  "/metrics",
		PprofPath:                    "/debug/pprof/",
		NetworkTimeout:               60 * time.Second,
		ShutdownTimeout:              10 * time.Second,
		AcquireLockTimeout:           20 * time.Second,
		RequestCompletionTimeout:     10 * time.Second,
	}
}

// parseConfig parses the serve flags (args without the program name and
// without the "serve" word) into a Config, sets those args leave unset
// from their TUSVAULT_ variables in getenv (env.go), and validates it.
func parseConfig(args []string, getenv func(string) string) (Config, error) {
	c := defaultConfig()
	fs, _ := c.newFlagSet()
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	fromEnv, err := applyEnv(fs, getenv, fromEnvServe)
	if err != nil {
		return Config{}, err
	}
	if err := c.validate(); err != nil {
		return Config{}, fromEnv.explain(err)
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
	if err := c.storageFlags.validate(); err != nil {
		return err
	}
	if err := c.authFlags.validate(c.useS3()); err != nil {
		return err
	}
	if err := c.hookFlags.validate(); err != nil {
		return err
	}
	if err := c.webFlags.validate(); err != nil {
		return err
	}
	if c.ExpireAfter < 0 {
		return fmt.Errorf("invalid -expire-after %s: must be 0 (off) or positive", c.ExpireAfter)
	}
	if c.PartSize < minPartSize || c.PartSize > maxPartSize {
		return fmt.Errorf("invalid -s3-part-size (-part-size) %d: must be from %d (5 MiB) to %d (5 GiB) bytes", c.PartSize, minPartSize, int64(maxPartSize))
	}
	if c.UploadFormat != 1 && c.UploadFormat != 2 {
		return fmt.Errorf("invalid -upload-format %d: must be 2 (or 1 while older instances share the bucket)", c.UploadFormat)
	}
	if c.TailCacheMB < 0 || c.TailCacheTTL <= 0 {
		return fmt.Errorf("invalid -tail-cache-mb %d or -tail-cache-ttl %s: must be 0 (off) or more, and positive", c.TailCacheMB, c.TailCacheTTL)
	}
	if c.ConcurrentPartUploads < 1 {
		return fmt.Errorf("invalid -s3-concurrent-part-uploads (-concurrent-part-uploads) %d: must be at least 1", c.ConcurrentPartUploads)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return fmt.Errorf("invalid -log-format %q: must be text or json", c.LogFormat)
	}
	if err := c.validateMonitoring(); err != nil {
		return err
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
