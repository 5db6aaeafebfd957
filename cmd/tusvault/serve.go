package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/tus/tusd/v2/pkg/handler"

	"github.com/tusvault/tusvault/internal/sysmem"
	"github.com/tusvault/tusvault/web"
	"github.com/tusvault/tusvault/web/api"
)

// statusAuth words how the status routes are protected, for the startup
// log.
func statusAuth(token string) string {
	if token == "" {
		return " (the RAM status, metrics and pprof are open; -status-token-file protects them)"
	}
	return " (the RAM status, metrics and pprof need the status token)"
}

// serve runs the upload server until ctx is cancelled, then shuts it down
// gracefully within cfg.ShutdownTimeout. cfg must be valid.
func serve(ctx context.Context, cfg Config, getenv func(string) string, stdout, stderr io.Writer) error {
	started := time.Now()
	out := newOutput(stdout, stderr, cfg.LogFormat, cfg.Verbose, cfg.ShowStartupLogs)
	lim, err := cfg.memoryLimit()
	if err != nil {
		return err
	}
	out.startup("%s", setGoMemLimit(lim, getenv))
	out.startup("%s", setGOGC(getenv))
	token, err := loadStatusToken(cfg.StatusTokenFile)
	if err != nil {
		return err
	}

	svc, err := newService(ctx, cfg, getenv, out)
	if err != nil {
		return err
	}
	defer cfg.hookFlags.closeHooks()
	defer svc.close()
	out.startup("Supported tus extensions: %s", svc.tus.SupportedExtensions())
	wc := cfg.webConfig(token, lim)
	wc.Store, wc.Policy, wc.TusMetrics, wc.Started, wc.Logger = svc.store, svc.policy, &svc.tus.Metrics, started, out.log
	routes, err := web.New(wc)
	if err != nil {
		return err
	}
	out.startup("Serving the RAM status at %s, health at /healthz and /readyz%s.", web.RAMStatusPath, statusAuth(token))
	if wc.MetricsPath != "" {
		out.startup("Using %s as the metrics path.", wc.MetricsPath)
	}
	if wc.PprofPath != "" {
		web.EnablePprofRates(cfg.PprofBlockProfileRate, cfg.PprofMutexProfileRate)
		out.startup("Using %s as the pprof path.", wc.PprofPath)
	}

	var tlsCfg *tls.Config
	if cfg.TLSCertFile != "" {
		if tlsCfg, err = loadTLS(cfg.TLSMode, cfg.TLSCertFile, cfg.TLSKeyFile); err != nil {
			return err
		}
		out.startup("Using TLS mode %s with certificate %s.", cfg.TLSMode, cfg.TLSCertFile)
	}

	var address string
	if cfg.UnixSock != "" {
		address = cfg.UnixSock
		out.startup("Using %s as socket to listen.", address)
	} else {
		address = net.JoinHostPort(strings.Trim(cfg.Host, "[]"), cfg.Port)
		out.startup("Using %s as address to listen.", address)
	}
	out.startup("Using %s as the base path.", cfg.BasePath)
	var first, every time.Duration
	if cfg.ExpireAfter > 0 {
		first, every = sweepTimes(cfg.ExpireAfter)
		out.startup("Removing unfinished uploads idle for more than %s, checking every %s.", cfg.ExpireAfter, every)
	}

	ln, err := listen(context.WithoutCancel(ctx), cfg.UnixSock, address)
	if err != nil {
		return fmt.Errorf("unable to create listener: %w", err)
	}

	mux := newMux(cfg, svc.handler())
	routes.Register(mux)
	if err := registerPage(mux, cfg, svc, out); err != nil {
		ln.Close()
		return err
	}
	server := newHTTPServer(mux, cfg, tlsCfg)
	server.ErrorLog = slog.NewLogLogger(out.log.Handler(), slog.LevelWarn)
	if m := routes.Metrics(); m != nil {
		server.ConnState = m.ConnState
	}

	scheme := "http"
	if tlsCfg != nil {
		scheme = "https"
	}
	if err := printLinks(svc.auth, out, cfg, scheme, ln.Addr(), svc.uploadDir); err != nil {
		ln.Close()
		return err
	}
	if n, err := sysmem.ReleaseStartupPages(); err != nil {
		out.log.Debug("could not release the startup pages", "error", err)
	} else {
		out.log.Debug("released the startup pages", "bytes", n)
	}
	if cfg.UnixSock == "" {
		// The last startup line: tests and scripts read the bound port
		// here, so it carries listener.Addr(), not the flag.
		out.startup("You can now upload files to: %s://%s%s", scheme, ln.Addr(), cfg.BasePath)
	} else {
		out.startup("You can now upload files through the UNIX socket %s to: %s", cfg.UnixSock, cfg.BasePath)
	}

	swept := make(chan struct{})
	sweepCtx, stopSweeps := context.WithCancel(ctx)
	defer func() {
		stopSweeps()
		<-swept
	}()
	go func() {
		defer close(swept)
		if cfg.ExpireAfter > 0 {
			runSweeps(sweepCtx, svc.store, cfg.ExpireAfter, first, every, out.log)
		}
	}()

	served := make(chan error, 1)
	go func() {
		if tlsCfg != nil {
			served <- server.ServeTLS(ln, "", "")
		} else {
			served <- server.Serve(ln)
		}
	}()

	select {
	case err := <-served:
		return fmt.Errorf("unable to serve: %w", err)
	case <-ctx.Done():
	}
	out.printf("Received interrupt signal. Shutting down tusvault...")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	err = server.Shutdown(shutdownCtx)
	switch {
	case err == nil:
		out.printf("Shutdown completed. Goodbye!")
	case errors.Is(err, context.DeadlineExceeded):
		out.errorf("Shutdown timeout exceeded. Exiting immediately!")
		server.Close()
	default:
		out.errorf("Failed to shutdown gracefully: %s", err)
		server.Close()
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("unable to serve: %w", err)
	}
	return nil
}

// newMux routes the base path, with and without its trailing slash, through
// http.StripPrefix to h (service.handler).
func newMux(cfg Config, h http.Handler) *http.ServeMux {
	mux := http.NewServeMux()
	if cfg.BasePath == "/" {
		mux.Handle("/", http.StripPrefix("/", h))
		return mux
	}
	with := cfg.basePath()
	without := strings.TrimSuffix(with, "/")
	mux.Handle(with, http.StripPrefix(with, h))
	mux.Handle(without, http.StripPrefix(without, h))
	return mux
}

// registerPage adds the upload page's API (/api/session, /api/uploads)
// and, with -show-greeting and a base path other than "/" (which the tus
// handler then owns), the page itself at "/" (package web).
func registerPage(mux *http.ServeMux, cfg Config, svc *service, out *output) error {
	a, err := api.New(api.Config{
		Policy:          svc.policy,
		Uploads:         svc.store,
		BasePath:        cfg.basePath(),
		MaxSize:         cfg.MaxSize,
		ChunkSize:       int64(cfg.WebChunkSize),
		RetryDelays:     []time.Duration(cfg.WebRetryDelays),
		TokenRefreshURL: cfg.WebTokenRefreshURL,
		DisableDownload: cfg.DisableDownload,
		Logger:          out.log,
	})
	if err != nil {
		return err
	}
	a.Register(mux)
	if !cfg.ShowGreeting || cfg.BasePath == "/" {
		out.startup("Serving the upload page's API at %s and %s; no page at / (%s).", api.SessionPath, api.UploadsPath, noPageReason(cfg))
		return nil
	}
	var connect []string
	if origin, _ := refreshOrigin(cfg.WebTokenRefreshURL); origin != "" {
		connect = append(connect, origin)
	}
	page, err := web.NewPage(web.PageConfig{ConnectSrc: connect})
	if err != nil {
		return err
	}
	page.Register(mux)
	out.startup("Serving the upload page at / and its API at %s and %s.", api.SessionPath, api.UploadsPath)
	return nil
}

func noPageReason(cfg Config) string {
	if !cfg.ShowGreeting {
		return "-show-greeting=false"
	}
	return "the base path is /"
}

// newHTTPServer returns the server, set up like tusd's: header and idle
// timeouts from -network-timeout (the handler extends body deadlines
// itself), and a base context cancelled with handler.ErrServerShutdown when
// Shutdown starts, so that PATCHes in flight save what they received and
// answer 503 ERR_SERVER_SHUTDOWN. With TLS, HTTP/2 is off, as in tusd.
func newHTTPServer(h http.Handler, cfg Config, tlsCfg *tls.Config) *http.Server {
	serverCtx, cancel := context.WithCancelCause(context.Background())
	s := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: cfg.NetworkTimeout,
		IdleTimeout:       cfg.NetworkTimeout,
		MaxHeaderBytes:    http.DefaultMaxHeaderBytes,
		TLSConfig:         tlsCfg,
		BaseContext:       func(net.Listener) context.Context { return serverCtx },
	}
	s.RegisterOnShutdown(func() { cancel(handler.ErrServerShutdown) })
	if tlsCfg != nil {
		p := new(http.Protocols)
		p.SetHTTP1(true)
		s.Protocols = p
	}
	return s
}

// listen binds the TCP address, or the UNIX socket at path (replacing a
// stale socket file, never another kind of file).
func listen(ctx context.Context, sock, address string) (net.Listener, error) {
	var lc net.ListenConfig
	if sock == "" {
		return lc.Listen(ctx, "tcp", address)
	}
	fi, err := os.Lstat(sock)
	switch {
	case err == nil && fi.Mode()&fs.ModeSocket != 0:
		if err := os.Remove(sock); err != nil {
			return nil, err
		}
	case err == nil:
		return nil, fmt.Errorf("%s exists and is not a socket", sock)
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	return lc.Listen(ctx, "unix", sock)
}
