package main

import (
	"errors"
	"flag"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// tusdDefaults are the defaults of the tusd flags tusvault keeps, copied
// from tusd v2.9.1 cmd/tusd/cli/flags.go (flag.Flag.DefValue form).
var tusdDefaults = map[string]string{
	"host":                            "0.0.0.0",
	"port":                            "8080",
	"unix-sock":                       "",
	"base-path":                       "/files/",
	"behind-proxy":                    "false",
	"tls-certificate":                 "",
	"tls-key":                         "",
	"tls-mode":                        "tls12",
	"enable-experimental-protocol":    "false",
	"disable-download":                "false",
	"disable-termination":             "false",
	"max-size":                        "0",
	"disable-cors":                    "false",
	"cors-allow-origin":               ".*",
	"cors-allow-credentials":          "false",
	"cors-allow-methods":              "",
	"cors-allow-headers":              "",
	"cors-max-age":                    "86400",
	"cors-expose-headers":             "",
	"upload-dir":                      "./data",
	"filelock-holder-poll-interval":   "5s",
	"filelock-acquirer-poll-interval": "2s",
	"show-greeting":                   "true",
	"version":                         "false",
	"verbose":                         "true",
	"show-startup-logs":               "true",
	"log-format":                      "text",
	"expose-metrics":                  "true",
	"metrics-path":                    "/metrics",
	"expose-pprof":                    "false",
	"pprof-path":                      "/debug/pprof/",
	"pprof-block-profile-rate":        "0",
	"pprof-mutex-profile-rate":        "0",
	"network-timeout":                 "1m0s",
	"shutdown-timeout":                "10s",
	"acquire-lock-timeout":            "20s",
	"request-completion-timeout":      "10s",

	"hooks-enabled-events":              "pre-create,post-create,post-receive,post-terminate,post-finish",
	"progress-hooks-interval":           "1s",
	"hooks-dir":                         "",
	"hooks-http":                        "",
	"hooks-http-forward-headers":        "",
	"hooks-http-retry":                  "3",
	"hooks-http-backoff":                "1s",
	"hooks-http-timeout":                "15s",
	"hooks-http-size-limit":             "5120",
	"hooks-grpc":                        "",
	"hooks-grpc-retry":                  "3",
	"hooks-grpc-backoff":                "1s",
	"hooks-grpc-secure":                 "false",
	"hooks-grpc-server-tls-certificate": "",
	"hooks-grpc-client-tls-certificate": "",
	"hooks-grpc-client-tls-key":         "",
	"hooks-grpc-forward-headers":        "",
	"hooks-plugin":                      "",
}

func TestFlagDefaultsMatchTusd(t *testing.T) {
	c := defaultConfig()
	fs, _ := c.newFlagSet()
	for name, want := range tusdDefaults {
		f := fs.Lookup(name)
		if f == nil {
			t.Errorf("-%s: not defined", name)
			continue
		}
		if f.DefValue != want {
			t.Errorf("-%s: default %q, tusd's is %q", name, f.DefValue, want)
		}
	}
	// Ours.
	for name, want := range map[string]string{
		"keyring":                 "",
		"part-size":               "5242880",
		"spool-dir":               "",
		"tail-cache-mb":           "256",
		"upload-format":           "2",
		"tail-cache-ttl":          "10m0s",
		"concurrent-part-uploads": "4",
		"disable-concatenation":   "true",
		"auth":                    "jwt",
		"auth-secret-file":        "",
		"auth-secret-encoding":    "raw",
		"auth-public-key-file":    "",
		"auth-resume-grace":       "24h0m0s",
		"home-max-size":           "0",
		"guest-max-size":          "0",
		"home-prefix":             "home",
		"guest-prefix":            "guest",
		"public-prefix":           "public",
		"status-token-file":       "",
		"ram-limit-mb":            "0",
		"web-chunk-size":          "0",
		"web-retry-delays":        "0s,1s,3s,10s,30s,1m,2m",
		"web-token-refresh-url":   "",
	} {
		if f := fs.Lookup(name); f == nil || f.DefValue != want {
			t.Errorf("-%s: got %v, want default %q", name, f, want)
		}
	}
}

func TestParseConfigNoFlags(t *testing.T) {
	got, err := parseConfig(nil, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Host: "0.0.0.0", Port: "8080", BasePath: "/files/", TLSMode: "tls12",
		DisableConcatenation: true, CorsAllowOrigin: ".*", CorsMaxAge: "86400",
		storageFlags: storageFlags{UploadDir: "./data"}, FilelockHolderPollInterval: 5 * time.Second,
		FilelockAcquirerPollInterval: 2 * time.Second, PartSize: 5 << 20,
		ConcurrentPartUploads: 4, UploadFormat: 2, TailCacheMB: 256, TailCacheTTL: 10 * time.Minute, ShowGreeting: true, Verbose: true,
		ShowStartupLogs: true, LogFormat: "text", NetworkTimeout: time.Minute,
		ExposeMetrics: true, MetricsPath: "/metrics", PprofPath: "/debug/pprof/",
		ShutdownTimeout: 10 * time.Second, AcquireLockTimeout: 20 * time.Second,
		RequestCompletionTimeout: 10 * time.Second,
		authFlags:                authFlags{Auth: "jwt", AuthResumeGrace: 24 * time.Hour, HomePrefix: "home", GuestPrefix: "guest", PublicPrefix: "public"},
		hookFlags: hookFlags{
			HooksEnabledEvents: "pre-create,post-create,post-receive,post-terminate,post-finish", ProgressHooksInterval: time.Second,
			HooksHTTPRetry: 3, HooksHTTPBackoff: time.Second, HooksHTTPTimeout: 15 * time.Second, HooksHTTPSizeLimit: 5120,
			HooksGRPCRetry: 3, HooksGRPCBackoff: time.Second,
		},
		webFlags: webFlags{WebRetryDelays: durationList{0, time.Second, 3 * time.Second, 10 * time.Second, 30 * time.Second, time.Minute, 2 * time.Minute}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if p := got.keyringPath(); p != filepath.Join("data", "keyring.json") {
		t.Errorf("keyring path %q", p)
	}
	if p := got.spoolDir(); p != filepath.Join("data", ".tusvault", "spool") {
		t.Errorf("spool dir %q", p)
	}
}

func TestParseConfig(t *testing.T) {
	tests := []struct {
		args  []string
		check func(c Config) bool
	}{
		{[]string{"-host", "127.0.0.1", "-port=0"}, func(c Config) bool { return c.Host == "127.0.0.1" && c.Port == "0" }},
		{[]string{"--port", "9000"}, func(c Config) bool { return c.Port == "9000" }},
		{[]string{"-unix-sock", "/tmp/x.sock", "-port", "not-used"}, func(c Config) bool { return c.UnixSock == "/tmp/x.sock" }},
		{[]string{"-base-path", "/uploads"}, func(c Config) bool { return c.BasePath == "/uploads" && c.basePath() == "/uploads/" }},
		{[]string{"-base-path", "/"}, func(c Config) bool { return c.basePath() == "/" }},
		{[]string{"-upload-dir", "/srv/up"}, func(c Config) bool {
			return c.keyringPath() == "/srv/up/keyring.json" && c.spoolDir() == "/srv/up/.tusvault/spool"
		}},
		{[]string{"-keyring", "/etc/k.json", "-spool-dir", "/var/spool/tv"}, func(c Config) bool {
			return c.keyringPath() == "/etc/k.json" && c.spoolDir() == "/var/spool/tv"
		}},
		{[]string{"-max-size", "1048576"}, func(c Config) bool { return c.MaxSize == 1<<20 }},
		{[]string{"-network-timeout", "5s", "-shutdown-timeout", "0s"}, func(c Config) bool {
			return c.NetworkTimeout == 5*time.Second && c.ShutdownTimeout == 0
		}},
		{[]string{"-behind-proxy", "-disable-download", "-disable-termination", "-disable-cors"}, func(c Config) bool {
			return c.BehindProxy && c.DisableDownload && c.DisableTermination && c.DisableCors
		}},
		{[]string{"-cors-allow-origin", `^https://example\.com$`, "-cors-allow-credentials", "-cors-max-age", "60"}, func(c Config) bool {
			return c.CorsAllowOrigin == `^https://example\.com$` && c.CorsAllowCredentials && c.CorsMaxAge == "60"
		}},
		{[]string{"-tls-certificate", "c.pem", "-tls-key", "k.pem", "-tls-mode", "tls13"}, func(c Config) bool {
			return c.TLSCertFile == "c.pem" && c.TLSKeyFile == "k.pem" && c.TLSMode == "tls13"
		}},
		{[]string{"-tls-mode", "tls12-strong"}, func(c Config) bool { return c.TLSMode == "tls12-strong" }},
		{[]string{"-verbose=false", "-show-startup-logs=false", "-show-greeting=false", "-log-format", "json"}, func(c Config) bool {
			return !c.Verbose && !c.ShowStartupLogs && !c.ShowGreeting && c.LogFormat == "json"
		}},
		{[]string{"-part-size", "5242880", "-concurrent-part-uploads", "1"}, func(c Config) bool {
			return c.PartSize == 5<<20 && c.ConcurrentPartUploads == 1
		}},
		{[]string{"-disable-concatenation"}, func(c Config) bool { return c.DisableConcatenation }},
		{[]string{"-enable-experimental-protocol"}, func(c Config) bool { return c.EnableExperimentalProtocol }},
		{[]string{"-filelock-holder-poll-interval", "1s", "-filelock-acquirer-poll-interval", "500ms"}, func(c Config) bool {
			return c.FilelockHolderPollInterval == time.Second && c.FilelockAcquirerPollInterval == 500*time.Millisecond
		}},
		{[]string{"-version"}, func(c Config) bool { return c.ShowVersion }},
		{[]string{"-web-chunk-size", "95MiB", "-web-retry-delays", "0, 500ms,5s,1h", "-web-token-refresh-url", "/app/token"}, func(c Config) bool {
			return c.WebChunkSize == 95<<20 && reflect.DeepEqual(c.WebRetryDelays, durationList{0, 500 * time.Millisecond, 5 * time.Second, time.Hour}) &&
				c.WebTokenRefreshURL == "/app/token"
		}},
		{[]string{"-web-retry-delays", "", "-web-token-refresh-url", "https://app.example.com/tusvault/token?x=1"}, func(c Config) bool {
			return c.WebRetryDelays != nil && len(c.WebRetryDelays) == 0 && c.WebTokenRefreshURL == "https://app.example.com/tusvault/token?x=1"
		}},
	}
	for _, tt := range tests {
		c, err := parseConfig(tt.args, noEnv)
		if err != nil {
			t.Errorf("%v: %v", tt.args, err)
			continue
		}
		if !tt.check(c) {
			t.Errorf("%v: unexpected config %+v", tt.args, c)
		}
	}
}

func TestParseConfigRejects(t *testing.T) {
	tests := []struct {
		args []string
		want string // part of the message
	}{
		{[]string{"-port", "http"}, "-port"},
		{[]string{"-port", "65536"}, "-port"},
		{[]string{"-port", "-1"}, "-port"},
		{[]string{"-port", "08080"}, "-port"},
		{[]string{"-port", ""}, "-port"},
		{[]string{"-host", "a b"}, "-host"},
		{[]string{"-base-path", "files/"}, "-base-path"},
		{[]string{"-base-path", "/files/{id}"}, "-base-path"},
		{[]string{"-base-path", "/files?x=1"}, "-base-path"},
		{[]string{"-base-path", "//files"}, "-base-path"},
		{[]string{"-max-size", "-1"}, "-max-size"},
		{[]string{"-max-size", "lots"}, "-max-size"},
		{[]string{"-tls-mode", "tls11"}, "-tls-mode"},
		{[]string{"-tls-certificate", "c.pem"}, "-tls-key"},
		{[]string{"-tls-key", "k.pem"}, "-tls-certificate"},
		{[]string{"-cors-allow-origin", "("}, "-cors-allow-origin"},
		{[]string{"-cors-max-age", "a day"}, "-cors-max-age"},
		{[]string{"-cors-max-age", "-5"}, "-cors-max-age"},
		{[]string{"-cors-allow-headers", "X-A\r\nX-B"}, "-cors-allow-headers"},
		{[]string{"-log-format", "xml"}, "-log-format"},
		{[]string{"-network-timeout", "0s"}, "-network-timeout"},
		{[]string{"-network-timeout", "soon"}, "-network-timeout"},
		{[]string{"-shutdown-timeout", "-1s"}, "-shutdown-timeout"},
		{[]string{"-acquire-lock-timeout", "0s"}, "-acquire-lock-timeout"},
		{[]string{"-request-completion-timeout", "-1s"}, "-request-completion-timeout"},
		{[]string{"-filelock-holder-poll-interval", "0s"}, "-filelock-holder-poll-interval"},
		{[]string{"-filelock-acquirer-poll-interval", "0s"}, "-filelock-acquirer-poll-interval"},
		{[]string{"-upload-dir", ""}, "-upload-dir"},
		{[]string{"-part-size", "1024"}, "-part-size"},
		{[]string{"-part-size", "6000000000"}, "-part-size"},
		{[]string{"-concurrent-part-uploads", "0"}, "-concurrent-part-uploads"},
		{[]string{"-disable-concatenation=false"}, "-disable-concatenation"},
		{[]string{"-verbose=maybe"}, "-verbose"},
		{[]string{"-web-chunk-size", "1000"}, "-web-chunk-size"},
		{[]string{"-web-chunk-size", "-1"}, "-web-chunk-size"},
		{[]string{"-web-retry-delays", "1s,soon"}, "-web-retry-delays"},
		{[]string{"-web-retry-delays", "-1s"}, "-web-retry-delays"},
		{[]string{"-web-retry-delays", "2h"}, "-web-retry-delays"},
		{[]string{"-web-retry-delays", "1s,,2s"}, "-web-retry-delays"},
		{[]string{"-web-retry-delays", strings.Repeat("1s,", 40) + "1s"}, "-web-retry-delays"},
		{[]string{"-web-token-refresh-url", "token"}, "-web-token-refresh-url"},
		{[]string{"-web-token-refresh-url", "//evil.example/token"}, "-web-token-refresh-url"},
		{[]string{"-web-token-refresh-url", "javascript:alert(1)"}, "-web-token-refresh-url"},
		{[]string{"-web-token-refresh-url", "https://user:pw@app.example/token"}, "-web-token-refresh-url"},
		{[]string{"-web-token-refresh-url", "/token#x"}, "-web-token-refresh-url"},
		{[]string{"-web-token-refresh-url", "/a b"}, "-web-token-refresh-url"},
		{[]string{"-no-such-flag"}, "no-such-flag"},
		{[]string{"stray"}, "stray"},
	}
	for _, tt := range tests {
		_, err := parseConfig(tt.args, noEnv)
		if err == nil {
			t.Errorf("%q: accepted", tt.args)
			continue
		}
		if errors.Is(err, flag.ErrHelp) {
			t.Errorf("%q: got ErrHelp", tt.args)
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %q does not name %q", tt.args, err, tt.want)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: error is not one line: %q", tt.args, err)
		}
	}
}

func TestValidate(t *testing.T) {
	ok := defaultConfig()
	if err := ok.validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	tests := []struct {
		name  string
		edit  func(c *Config)
		valid bool
	}{
		{"unix socket ignores port", func(c *Config) { c.UnixSock = "/tmp/s"; c.Port = "x" }, true},
		{"ipv6 host", func(c *Config) { c.Host = "::1" }, true},
		{"empty host", func(c *Config) { c.Host = "" }, true},
		{"port 0", func(c *Config) { c.Port = "0" }, true},
		{"port 65535", func(c *Config) { c.Port = "65535" }, true},
		{"root base path", func(c *Config) { c.BasePath = "/" }, true},
		{"nested base path", func(c *Config) { c.BasePath = "/api/v1/files/" }, true},
		{"tls pair", func(c *Config) { c.TLSCertFile, c.TLSKeyFile = "c", "k" }, true},
		{"shutdown timeout 0", func(c *Config) { c.ShutdownTimeout = 0 }, true},
		{"part size 5 GiB", func(c *Config) { c.PartSize = 5 << 30 }, true},
		{"bad port", func(c *Config) { c.Port = "99999" }, false},
		{"relative base path", func(c *Config) { c.BasePath = "files" }, false},
		{"absolute URL base path", func(c *Config) { c.BasePath = "http://x/files/" }, false},
		{"concatenation", func(c *Config) { c.DisableConcatenation = false }, false},
		{"negative max size", func(c *Config) { c.MaxSize = -1 }, false},
		{"zero network timeout", func(c *Config) { c.NetworkTimeout = 0 }, false},
		{"part size too small", func(c *Config) { c.PartSize = 5<<20 - 1 }, false},
		{"part size too large", func(c *Config) { c.PartSize = 5<<30 + 1 }, false},
		{"no slots", func(c *Config) { c.ConcurrentPartUploads = 0 }, false},
		{"bad log format", func(c *Config) { c.LogFormat = "" }, false},
		{"bad tls mode", func(c *Config) { c.TLSMode = "" }, false},
	}
	for _, tt := range tests {
		c := defaultConfig()
		tt.edit(&c)
		err := c.validate()
		if (err == nil) != tt.valid {
			t.Errorf("%s: validate() = %v, want valid=%v", tt.name, err, tt.valid)
		}
	}
}

func TestParseSubInterspersed(t *testing.T) {
	tests := []struct {
		args    []string
		wantPos []string
		wantO   string
	}{
		{[]string{"ID"}, []string{"ID"}, ""},
		{[]string{"-o", "f", "ID"}, []string{"ID"}, "f"},
		{[]string{"ID", "-o", "f"}, []string{"ID"}, "f"},
		{[]string{"A", "-o", "f", "B"}, []string{"A", "B"}, "f"},
		{[]string{"-o", "f", "--", "-ID"}, []string{"-ID"}, "f"},
	}
	for _, tt := range tests {
		fs := newSubFlagSet("decrypt")
		var o string
		fs.StringVar(&o, "o", "", "")
		pos, _, err := parseSub(fs, tt.args, nil, "", noEnv)
		if err != nil {
			t.Errorf("%q: %v", tt.args, err)
			continue
		}
		if !reflect.DeepEqual(pos, tt.wantPos) || o != tt.wantO {
			t.Errorf("%q: got %q, -o %q; want %q, -o %q", tt.args, pos, o, tt.wantPos, tt.wantO)
		}
	}
}
