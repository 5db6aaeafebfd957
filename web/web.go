package web

import (
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"runtime"
	"strings"
	"time"

	"github.com/tus/tusd/v2/pkg/handler"

	"github.com/tusvault/tusvault/hooks"
	"github.com/tusvault/tusvault/internal/sysmem"
	"github.com/tusvault/tusvault/store"
)

// RAMStatusPath is the path of the RAM status route, as the system
// tusvault replaces served it.
const RAMStatusPath = "/upload/ram-status"

// HealthzPath and ReadyzPath are the paths of health (the process serves)
// and readiness (it can serve uploads), always open.
const (
	HealthzPath = "/healthz"
	ReadyzPath  = "/readyz"
)

// Config configures the routes. The zero value of every optional field
// selects the default written beside it.
type Config struct {
	// Store is the upload store, whose counters and readiness are
	// exposed. Required.
	Store *store.Store
	// Policy counts refused requests. Default nil: none exposed.
	Policy *hooks.Policy
	// TusMetrics are the tusd handler's counters (handler.Handler's
	// Metrics), exposed under tusd's names. Default: none.
	TusMetrics *handler.Metrics
	// System reads the process's memory. Default: the real one.
	System sysmem.System
	// Limit is the memory limit the process runs under (detected at
	// startup). Required.
	Limit sysmem.Limit
	// Started is when the process started. Default: when New ran.
	Started time.Time
	// StatusToken, when set, is the bearer token the RAM status, the
	// metrics and pprof require. Default "": open.
	StatusToken string
	// MetricsPath serves the metrics when set (tusd's -expose-metrics
	// and -metrics-path). Default "": no metrics.
	MetricsPath string
	// PprofPath serves pprof when set (-expose-pprof, -pprof-path).
	// Default "": no pprof.
	PprofPath string
	// ReadyTimeout bounds the object store check of /readyz. Default 5s.
	ReadyTimeout time.Duration
	// Logger receives failed readiness checks. Default: discard.
	Logger *slog.Logger
}

// Routes serves the side routes; see the package documentation.
type Routes struct {
	cfg     Config
	metrics *Metrics
}

// New checks cfg and builds the routes (and the metrics registry, when
// metrics are served).
func New(cfg Config) (*Routes, error) {
	if cfg.Store == nil {
		return nil, errors.New("web: store is required")
	}
	if cfg.Limit.Bytes <= 0 {
		return nil, errors.New("web: memory limit is required")
	}
	if cfg.Started.IsZero() {
		cfg.Started = time.Now()
	}
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Routes{cfg: cfg}
	if cfg.MetricsPath != "" {
		r.metrics = newMetrics(cfg)
	}
	return r, nil
}

// Metrics returns the metrics, or nil when they are not served.
func (r *Routes) Metrics() *Metrics { return r.metrics }

// Register adds the routes to mux.
func (r *Routes) Register(mux *http.ServeMux) {
	mux.Handle("GET "+RAMStatusPath, r.guard(http.HandlerFunc(r.serveRAMStatus)))
	mux.HandleFunc("GET "+HealthzPath, serveHealthz)
	mux.HandleFunc("GET "+ReadyzPath, r.serveReadyz)
	if r.metrics != nil {
		mux.Handle("GET "+r.cfg.MetricsPath, r.guard(r.metrics.handler()))
	}
	if p := r.cfg.PprofPath; p != "" {
		mux.Handle(p, r.guard(http.StripPrefix(strings.TrimSuffix(p, "/"), pprofMux())))
	}
}

// EnablePprofRates sets the block and mutex profile rates of tusd's
// -pprof-block-profile-rate and -pprof-mutex-profile-rate.
func EnablePprofRates(block, mutex int) {
	runtime.SetBlockProfileRate(block)
	runtime.SetMutexProfileFraction(mutex)
}

// pprofMux serves net/http/pprof under a stripped prefix. pprof.Index
// finds a named profile (heap, goroutine, allocs...) only under
// /debug/pprof/, so the named ones go to pprof.Handler here.
func pprofMux() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if name := strings.TrimPrefix(r.URL.Path, "/"); name != "" {
			pprof.Handler(name).ServeHTTP(w, r)
			return
		}
		pprof.Index(w, r)
	})
	mux.HandleFunc("/cmdline", pprof.Cmdline)
	mux.HandleFunc("/profile", pprof.Profile)
	mux.HandleFunc("/symbol", pprof.Symbol)
	mux.HandleFunc("/trace", pprof.Trace)
	return mux
}

// guard requires the status token, when one is set.
func (r *Routes) guard(next http.Handler) http.Handler {
	if r.cfg.StatusToken == "" {
		return next
	}
	want := []byte(r.cfg.StatusToken)
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		got, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="tusvault status"`)
			http.Error(w, "ERR_UNAUTHORIZED: this route needs the status token", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, req)
	})
}
