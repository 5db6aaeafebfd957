package main

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	tushooks "github.com/tus/tusd/v2/pkg/hooks"
	"github.com/tus/tusd/v2/pkg/hooks/file"
	"github.com/tus/tusd/v2/pkg/hooks/grpc"
	tushttp "github.com/tus/tusd/v2/pkg/hooks/http"
	"github.com/tus/tusd/v2/pkg/hooks/plugin"
)

// defaultHookEvents is tusd's default -hooks-enabled-events.
const defaultHookEvents = "pre-create,post-create,post-receive,post-terminate,post-finish"

// hookFlags are tusd's external hook flags, with tusd's names, meanings and
// defaults (tusd v2.9.1 cmd/tusd/cli/flags.go). At most one backend is
// given; tusvault's own routing always runs first in pre-create
// (hooks.Policy.HookHandler).
type hookFlags struct {
	HooksEnabledEvents    string        // -hooks-enabled-events, default defaultHookEvents ("": every event)
	ProgressHooksInterval time.Duration // -progress-hooks-interval, default 1s

	HooksDir string // -hooks-dir, default "" (file hooks: scripts named after the events)

	HooksHTTP               string        // -hooks-http, default ""
	HooksHTTPForwardHeaders string        // -hooks-http-forward-headers, default ""
	HooksHTTPRetry          int           // -hooks-http-retry, default 3
	HooksHTTPBackoff        time.Duration // -hooks-http-backoff, default 1s
	HooksHTTPTimeout        time.Duration // -hooks-http-timeout, default 15s
	HooksHTTPSizeLimit      int64         // -hooks-http-size-limit, default 5120 bytes

	HooksGRPC               string        // -hooks-grpc, default ""
	HooksGRPCRetry          int           // -hooks-grpc-retry, default 3
	HooksGRPCBackoff        time.Duration // -hooks-grpc-backoff, default 1s
	HooksGRPCSecure         bool          // -hooks-grpc-secure, default false
	HooksGRPCServerTLSCert  string        // -hooks-grpc-server-tls-certificate, default ""
	HooksGRPCClientTLSCert  string        // -hooks-grpc-client-tls-certificate, default ""
	HooksGRPCClientTLSKey   string        // -hooks-grpc-client-tls-key, default ""
	HooksGRPCForwardHeaders string        // -hooks-grpc-forward-headers, default ""

	HooksPlugin string // -hooks-plugin, default ""
}

func defaultHookFlags() hookFlags {
	return hookFlags{
		HooksEnabledEvents:    defaultHookEvents,
		ProgressHooksInterval: time.Second,
		HooksHTTPRetry:        3,
		HooksHTTPBackoff:      time.Second,
		HooksHTTPTimeout:      15 * time.Second,
		HooksHTTPSizeLimit:    5 << 10,
		HooksGRPCRetry:        3,
		HooksGRPCBackoff:      time.Second,
	}
}

// register binds the hook flags, grouped as in tusd's help.
func (h *hookFlags) register(fs *flag.FlagSet, group func(string, func())) {
	group("General hook options", func() {
		fs.StringVar(&h.HooksEnabledEvents, "hooks-enabled-events", h.HooksEnabledEvents, "Comma separated list of enabled hook events (e.g. post-create,post-finish). Leave empty to enable all events. tusvault's own pre-create check (tokens, routing, limits) always runs first")
		fs.DurationVar(&h.ProgressHooksInterval, "progress-hooks-interval", h.ProgressHooksInterval, "Interval at which the post-receive progress hooks are emitted for each active upload")
	})
	group("File hook options", func() {
		fs.StringVar(&h.HooksDir, "hooks-dir", h.HooksDir, "Directory to search for available hooks scripts")
	})
	group("HTTP hook options", func() {
		fs.StringVar(&h.HooksHTTP, "hooks-http", h.HooksHTTP, "An HTTP endpoint to which hook events will be sent to")
		fs.StringVar(&h.HooksHTTPForwardHeaders, "hooks-http-forward-headers", h.HooksHTTPForwardHeaders, "List of HTTP request headers to be forwarded from the client request to the hook endpoint")
		fs.IntVar(&h.HooksHTTPRetry, "hooks-http-retry", h.HooksHTTPRetry, "Number of times to retry on a 500 or network timeout")
		fs.DurationVar(&h.HooksHTTPBackoff, "hooks-http-backoff", h.HooksHTTPBackoff, "Wait period before retrying each retry")
		fs.DurationVar(&h.HooksHTTPTimeout, "hooks-http-timeout", h.HooksHTTPTimeout, "Timeout for the HTTP hook requests")
		fs.Int64Var(&h.HooksHTTPSizeLimit, "hooks-http-size-limit", h.HooksHTTPSizeLimit, "Maximum size of the response body in bytes")
	})
	group("gRPC hook options", func() {
		fs.StringVar(&h.HooksGRPC, "hooks-grpc", h.HooksGRPC, "An gRPC endpoint to which hook events will be sent to")
		fs.IntVar(&h.HooksGRPCRetry, "hooks-grpc-retry", h.HooksGRPCRetry, "Number of times to retry on a server error or network timeout")
		fs.DurationVar(&h.HooksGRPCBackoff, "hooks-grpc-backoff", h.HooksGRPCBackoff, "Wait period before retrying each retry")
		fs.BoolVar(&h.HooksGRPCSecure, "hooks-grpc-secure", h.HooksGRPCSecure, "Enables secure connection via TLS certificates to the specified gRPC endpoint")
		fs.StringVar(&h.HooksGRPCServerTLSCert, "hooks-grpc-server-tls-certificate", h.HooksGRPCServerTLSCert, "Path to the file containing the TLS certificate of the remote gRPC server")
		fs.StringVar(&h.HooksGRPCClientTLSCert, "hooks-grpc-client-tls-certificate", h.HooksGRPCClientTLSCert, "Path to the file containing the client certificate for mTLS")
		fs.StringVar(&h.HooksGRPCClientTLSKey, "hooks-grpc-client-tls-key", h.HooksGRPCClientTLSKey, "Path to the file containing the client key for mTLS")
		fs.StringVar(&h.HooksGRPCForwardHeaders, "hooks-grpc-forward-headers", h.HooksGRPCForwardHeaders, "List of HTTP request headers to be forwarded from the client request to the hook endpoint")
	})
	group("Plugin hook options", func() {
		fs.StringVar(&h.HooksPlugin, "hooks-plugin", h.HooksPlugin, "Path to a Go plugin for loading hook functions")
	})
}

// parseHookEvents parses -hooks-enabled-events: comma-separated names of
// tusd hook events, spaces around them ignored; empty means all of them,
// as in tusd.
func parseHookEvents(s string) ([]tushooks.HookType, error) {
	if strings.TrimSpace(s) == "" {
		return slices.Clone(tushooks.AvailableHooks), nil
	}
	var events []tushooks.HookType
	for name := range strings.SplitSeq(s, ",") {
		e := tushooks.HookType(strings.TrimSpace(name))
		if !slices.Contains(tushooks.AvailableHooks, e) {
			return nil, fmt.Errorf("invalid -hooks-enabled-events: unknown hook event %q (known: %s)", e, hookNames(tushooks.AvailableHooks))
		}
		if !slices.Contains(events, e) {
			events = append(events, e)
		}
	}
	return events, nil
}

func hookNames(events []tushooks.HookType) string {
	names := make([]string, len(events))
	for i, e := range events {
		names[i] = string(e)
	}
	return strings.Join(names, ", ")
}

// backends lists the hook backends given, by flag.
func (h *hookFlags) backends() []string {
	var given []string
	for _, b := range []struct{ name, v string }{
		{"-hooks-dir", h.HooksDir}, {"-hooks-http", h.HooksHTTP}, {"-hooks-grpc", h.HooksGRPC}, {"-hooks-plugin", h.HooksPlugin},
	} {
		if b.v != "" {
			given = append(given, b.name)
		}
	}
	return given
}

// validate reports the first invalid hook flag in one line.
func (h *hookFlags) validate() error {
	if _, err := parseHookEvents(h.HooksEnabledEvents); err != nil {
		return err
	}
	if h.ProgressHooksInterval <= 0 {
		return fmt.Errorf("invalid -progress-hooks-interval %s: must be positive", h.ProgressHooksInterval)
	}
	if b := h.backends(); len(b) > 1 {
		return fmt.Errorf("%s and %s exclude each other: give one hook backend", b[0], b[1])
	}
	if h.HooksHTTP != "" {
		u, err := url.Parse(h.HooksHTTP)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			// Not echoed: an endpoint may carry credentials.
			return errors.New("invalid -hooks-http: must be an http(s)://host[:port]/path URL")
		}
	}
	if h.HooksGRPCSecure && h.HooksGRPCServerTLSCert == "" {
		return errors.New("-hooks-grpc-secure needs -hooks-grpc-server-tls-certificate")
	}
	for _, d := range []struct {
		name string
		bad  bool
		want string
	}{
		{"-hooks-http-retry", h.HooksHTTPRetry < 0, "0 or more"},
		{"-hooks-grpc-retry", h.HooksGRPCRetry < 0, "0 or more"},
		{"-hooks-http-backoff", h.HooksHTTPBackoff < 0, "0 or more"},
		{"-hooks-grpc-backoff", h.HooksGRPCBackoff < 0, "0 or more"},
		{"-hooks-http-timeout", h.HooksHTTPTimeout <= 0, "positive"},
		{"-hooks-http-size-limit", h.HooksHTTPSizeLimit <= 0, "positive"},
	} {
		if d.bad {
			return fmt.Errorf("invalid %s: must be %s", d.name, d.want)
		}
	}
	return nil
}

// events returns the enabled hook events; h is valid.
func (h *hookFlags) events() []tushooks.HookType {
	e, _ := parseHookEvents(h.HooksEnabledEvents)
	return e
}

// newHook returns the external hook backend the flags select (nil for
// none), as tusd's CLI builds it, and a line describing it for the startup
// log. Files named by the flags are checked here: tusd's plugin loader
// exits the process on a bad path.
func (h *hookFlags) newHook(jsonLogs bool) (tushooks.HookHandler, string, error) {
	switch {
	case h.HooksDir != "":
		dir, err := filepath.Abs(h.HooksDir)
		if err == nil {
			err = isDir(dir)
		}
		if err != nil {
			return nil, "", fmt.Errorf("-hooks-dir: %w", err)
		}
		return &file.FileHook{Directory: dir}, fmt.Sprintf("Using '%s' for hooks", dir), nil
	case h.HooksHTTP != "":
		u, _ := url.Parse(h.HooksHTTP) // valid
		return &tushttp.HttpHook{
			Endpoint:       h.HooksHTTP,
			MaxRetries:     h.HooksHTTPRetry,
			Backoff:        h.HooksHTTPBackoff,
			ForwardHeaders: headerList(h.HooksHTTPForwardHeaders),
			Timeout:        h.HooksHTTPTimeout,
			SizeLimit:      h.HooksHTTPSizeLimit,
		}, fmt.Sprintf("Using '%s' as the endpoint for hooks", u.Redacted()), nil
	case h.HooksGRPC != "":
		return &grpc.GrpcHook{
			Endpoint:                        h.HooksGRPC,
			MaxRetries:                      h.HooksGRPCRetry,
			Backoff:                         h.HooksGRPCBackoff,
			Secure:                          h.HooksGRPCSecure,
			ServerTLSCertificateFilePath:    h.HooksGRPCServerTLSCert,
			ClientTLSCertificateFilePath:    h.HooksGRPCClientTLSCert,
			ClientTLSCertificateKeyFilePath: h.HooksGRPCClientTLSKey,
			ForwardHeaders:                  headerList(h.HooksGRPCForwardHeaders),
		}, fmt.Sprintf("Using '%s' as the endpoint for gRPC hooks", h.HooksGRPC), nil
	case h.HooksPlugin != "":
		fi, err := os.Stat(h.HooksPlugin)
		if err == nil && (!fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0) {
			err = errors.New("not an executable file")
		}
		if err != nil {
			return nil, "", fmt.Errorf("-hooks-plugin %s: %w", h.HooksPlugin, err)
		}
		return &plugin.PluginHook{Path: h.HooksPlugin, JSONLogFormat: jsonLogs},
			fmt.Sprintf("Using '%s' to load plugin for hooks", h.HooksPlugin), nil
	}
	return nil, "", nil
}

// closeHooks stops the plugin process, if any (tusd does so at shutdown).
func (h *hookFlags) closeHooks() {
	if h.HooksPlugin != "" {
		plugin.CleanupPlugins()
	}
}

// headerList splits a comma-separated list of header names.
func headerList(s string) []string {
	var names []string
	for name := range strings.SplitSeq(s, ",") {
		if name = strings.TrimSpace(name); name != "" {
			names = append(names, name)
		}
	}
	return names
}

func isDir(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", path)
	}
	return nil
}
