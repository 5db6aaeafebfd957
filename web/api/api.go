package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tus/tusd/v2/pkg/handler"

	"github.com/tusvault/tusvault/hooks"
	"github.com/tusvault/tusvault/store"
)

// The API's paths.
const (
	SessionPath = "/api/session"
	UploadsPath = "/api/uploads"
)

// DefaultRetryDelays are Config.RetryDelays when nil: quick retries, then
// one every two minutes (the page keeps repeating the last delay, so an
// upload survives hours of flaky network).
var DefaultRetryDelays = []time.Duration{
	0, time.Second, 3 * time.Second, 10 * time.Second, 30 * time.Second, time.Minute, 2 * time.Minute,
}

// Lister lists uploads; *store.Store implements it.
type Lister interface {
	ListUploads(ctx context.Context, prefixes []string, limit int, cursor string) ([]store.Listed, string, error)
}

// Config configures the API. The zero value of every optional field
// selects the default written beside it.
type Config struct {
	// Policy authenticates tokens and decides what they may do. Required.
	Policy *hooks.Policy
	// Uploads lists the account's uploads. Required.
	Uploads Lister
	// BasePath is tusd's base path, with its trailing slash: the page's
	// upload endpoint and the prefix of download links. Default "/files/".
	BasePath string
	// MaxSize is tusd's -max-size, which bounds every upload besides the
	// route's and the token's limits. Default 0: none.
	MaxSize int64
	// ChunkSize is the body size of one PATCH the page sends
	// (-web-chunk-size). Default 0: one PATCH per file.
	ChunkSize int64
	// RetryDelays are the page's delays between retries
	// (-web-retry-delays). Default nil: DefaultRetryDelays; empty: no
	// retries.
	RetryDelays []time.Duration
	// TokenRefreshURL is where the page may fetch a fresh token
	// (-web-token-refresh-url). Default "": none.
	TokenRefreshURL string
	// DisableDownload is tusd's -disable-download: no download links.
	// Default false.
	DisableDownload bool
	// Logger receives failures. Default: discard.
	Logger *slog.Logger
}

// API serves the routes of the package documentation.
type API struct {
	cfg Config
	log *slog.Logger
}

// New checks cfg and returns the API.
func New(cfg Config) (*API, error) {
	if cfg.Policy == nil || cfg.Uploads == nil {
		return nil, errors.New("api: Policy and Uploads are required")
	}
	if cfg.BasePath == "" {
		cfg.BasePath = "/files/"
	}
	if !strings.HasPrefix(cfg.BasePath, "/") || !strings.HasSuffix(cfg.BasePath, "/") {
		return nil, errors.New("api: the base path must start and end with /")
	}
	if cfg.MaxSize < 0 || cfg.ChunkSize < 0 {
		return nil, errors.New("api: negative size")
	}
	if cfg.RetryDelays == nil {
		cfg.RetryDelays = DefaultRetryDelays
	}
	for _, d := range cfg.RetryDelays {
		if d < 0 {
			return nil, errors.New("api: negative retry delay")
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &API{cfg: cfg, log: cfg.Logger}, nil
}

// Register adds the API's routes to mux (exact paths only, so that they
// never shadow an upload id under a base path of "/").
func (a *API) Register(mux *http.ServeMux) {
	mux.Handle(SessionPath, a.endpoint(a.serveSession))
	mux.Handle(UploadsPath, a.endpoint(a.serveUploads))
}

// Client-visible errors of the API itself (the policy's are its own).
var (
	errMethod   = withHeader(handler.NewError("ERR_METHOD_NOT_ALLOWED", "method not allowed", http.StatusMethodNotAllowed), "Allow", allow)
	errLimit    = handler.NewError("ERR_INVALID_LIMIT", "limit must be a whole number from 1", http.StatusBadRequest)
	errCursor   = handler.NewError("ERR_INVALID_CURSOR", "the cursor is not one this server handed out; start again without it", http.StatusBadRequest)
	errInternal = handler.NewError("ERR_INTERNAL_SERVER_ERROR", "the request could not be processed; retry later", http.StatusInternalServerError)
)

const allow = "GET, HEAD, OPTIONS"

func withHeader(e handler.Error, key, value string) handler.Error {
	e.HTTPResponse.Header[key] = value
	return e
}

// endpoint wraps a GET handler: headers common to every answer, OPTIONS
// (same-origin: no CORS headers), other methods 405.
func (a *API) endpoint(serve func(w http.ResponseWriter, r *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			// Two Authorization lines are refused as on the upload
			// routes: a proxy in front may read the other one.
			if err := hooks.CheckHeaders(r.Header); err != nil {
				a.writeError(w, r, err)
				return
			}
			if err := serve(w, r); err != nil {
				a.writeError(w, r, err)
			}
		case http.MethodOptions:
			h.Set("Allow", allow)
			w.WriteHeader(http.StatusNoContent)
		default:
			a.writeError(w, r, errMethod)
		}
	})
}

// writeJSON answers v with 200.
func writeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(b)
	}
	return nil
}

// writeError answers err as tusd would a handler.Error (status, headers,
// "CODE: message" body); anything else is logged and answered 500.
func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var e handler.Error
	if !errors.As(err, &e) {
		a.log.ErrorContext(r.Context(), "api request failed", "path", r.URL.Path, "error", err)
		e = errInternal
	}
	h := w.Header()
	for k, v := range e.HTTPResponse.Header {
		h.Set(k, v)
	}
	body := e.HTTPResponse.Body
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.HTTPResponse.StatusCode)
	if r.Method != http.MethodHead {
		io.WriteString(w, body)
	}
}

// timeText is t in RFC 3339 (UTC, seconds), or nil when unknown.
func timeText(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC3339)
	return &s
}
