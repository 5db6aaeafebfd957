package hooks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/tus/tusd/v2/pkg/handler"
)

// Uploads is what the policy reads of the store; *store.Store implements
// it. None of its methods interrupts a request writing an upload.
type Uploads interface {
	// UploadIDs lists upload ids by prefix (max_files counts a share's
	// uploads with it).
	UploadIDs(ctx context.Context, prefix string) ([]string, error)
	// Peek returns an upload's stored state without taking its lock;
	// Storage["Tag"] is set once it is complete.
	Peek(ctx context.Context, id string) (handler.FileInfo, error)
	// Settle makes sure an upload is complete without interrupting a
	// request that holds it: nil when complete, a 423 handler.Error
	// while held, a 400 one while bytes are missing.
	Settle(ctx context.Context, id string) error
}

// Config configures a Policy. The zero value of every optional field selects
// the default written beside it.
type Config struct {
	// Auth verifies bearer tokens. Default nil: open uploads (-auth=none),
	// tusd's behaviour: anyone may create an upload (routed to
	// <PublicPrefix>/<id>) and anyone with its URL may act on it.
	Auth *Verifier
	// HomePrefix, GuestPrefix and PublicPrefix are the first segment of the
	// ids (and object keys) of each route. Defaults "home", "guest" and
	// "public"; each one segment of [a-z0-9_-], all different.
	HomePrefix, GuestPrefix, PublicPrefix string
	// HomeMaxSize and GuestMaxSize bound one upload of each route in bytes
	// (-home-max-size, -guest-max-size); a token's max_size applies too and
	// the smaller wins. Default 0: no limit of their own.
	HomeMaxSize, GuestMaxSize int64
	// Uploads is the store: it counts a share's uploads for max_files and
	// tells the share owner's reads and expired tokens what state an
	// upload is in. Required with Auth.
	Uploads Uploads
	// Cors, when set, makes the middleware's own error answers carry the
	// CORS headers tusd would add, so that browsers can read them (pass
	// the tusd handler's configuration). Default nil: none.
	Cors *handler.CorsConfig
	// Logger receives refused tokens (warn, with a reason, never the
	// token), other refusals (debug) and failures. Default: discard.
	Logger *slog.Logger
	// LinkKey signs and checks download links (DownloadLink): at least
	// 32 bytes, the same on every instance serving the same uploads
	// (store.Store.LinkKey derives it from the keyring). Default nil: no
	// links; a request carrying one is refused.
	LinkKey []byte
	// LinkTTL is how long a download link is valid, up to MaxLinkTTL.
	// Default MaxLinkTTL.
	LinkTTL time.Duration
	// Now is the clock of download links and of the max_files
	// reservations. Default time.Now. (Tokens are checked on the
	// Verifier's clock.)
	Now func() time.Time
	// EnableExperimentalProtocol is the tusd handler's setting of that
	// name (-enable-experimental-protocol): with it, requests in the IETF
	// draft form (draft.go) are authorized as tus 1.0 ones and the
	// middleware's own answers to them are in the draft form, as tusd's
	// are. Default false: tusd, and so the policy, treat every request as
	// tus 1.0.
	EnableExperimentalProtocol bool
	// Reservations keeps the max_files reservations. Default: in the
	// process (one instance); several instances on one bucket share
	// store/lock's Redis Reservations.
	Reservations Reservations
	// MaxSize is the tusd handler's MaxSize (-max-size), which tusd
	// announces in the draft form's Upload-Limit; the share owner's HEAD,
	// answered by the middleware, announces it alike. Default 0: none.
	MaxSize int64
}

func (c *Config) validate() error {
	if c.HomePrefix == "" {
		c.HomePrefix = RouteHome
	}
	if c.GuestPrefix == "" {
		c.GuestPrefix = RouteGuest
	}
	if c.PublicPrefix == "" {
		c.PublicPrefix = RoutePublic
	}
	for _, p := range []string{c.HomePrefix, c.GuestPrefix, c.PublicPrefix} {
		if !validPrefix(p) {
			return fmt.Errorf("hooks: route prefix %q is not one segment of [a-z0-9_-]", p)
		}
	}
	if c.HomePrefix == c.GuestPrefix || c.HomePrefix == c.PublicPrefix || c.GuestPrefix == c.PublicPrefix {
		return errors.New("hooks: the home, guest and public prefixes must differ")
	}
	if c.HomeMaxSize < 0 || c.GuestMaxSize < 0 || c.MaxSize < 0 {
		return errors.New("hooks: negative maximum upload size")
	}
	if c.Auth != nil && c.Uploads == nil {
		return errors.New("hooks: Uploads is required with Auth (max_files counts a share's uploads)")
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.LinkKey != nil && len(c.LinkKey) < minLinkKey {
		return fmt.Errorf("hooks: link key of %d bytes, want at least %d", len(c.LinkKey), minLinkKey)
	}
	switch {
	case c.LinkTTL == 0:
		c.LinkTTL = MaxLinkTTL
	case c.LinkTTL < 0 || c.LinkTTL > MaxLinkTTL:
		return fmt.Errorf("hooks: link lifetime %s is outside 0..%s", c.LinkTTL, MaxLinkTTL)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Reservations == nil {
		c.Reservations = newLocalReservations(c.Now)
	}
	return nil
}

// Policy routes new uploads and authorizes every request on existing ones.
// It is safe for concurrent use.
type Policy struct {
	cfg    Config
	layout layout
	log    *slog.Logger
	now    func() time.Time

	// refused counts refused requests by reason (Refusals).
	refused refusals
}

// New returns a policy for cfg, checking it and filling in its defaults.
func New(cfg Config) (*Policy, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Policy{
		cfg:    cfg,
		layout: layout{home: cfg.HomePrefix, guest: cfg.GuestPrefix, public: cfg.PublicPrefix},
		log:    cfg.Logger,
		now:    cfg.Now,
	}, nil
}

// open reports whether the policy serves open uploads (-auth=none).
func (p *Policy) open() bool { return p.cfg.Auth == nil }

// ParseID returns the route an upload id carries; ok is false for an id
// this policy cannot have handed out.
func (p *Policy) ParseID(id string) (rt Route, ok bool) { return p.layout.parse(id) }

// ID renders rt as an upload id (the object key).
func (p *Policy) ID(rt Route) string { return p.layout.id(rt) }

// Client-visible errors (tus-style bodies: "CODE: message"). Messages
// never carry a token, a key or a storage detail.
var (
	errNoToken      = authError("ERR_UNAUTHORIZED", "a bearer token is required", `Bearer realm="tusvault"`)
	errBadToken     = authError("ERR_INVALID_TOKEN", "the bearer token is not valid", `Bearer realm="tusvault", error="invalid_token"`)
	errTokenExpired = authError("ERR_TOKEN_EXPIRED", "the bearer token has expired", `Bearer realm="tusvault", error="invalid_token", error_description="the token has expired"`)

	errNotFound            = handler.NewError("ERR_UPLOAD_NOT_FOUND", "upload not found", http.StatusNotFound)
	errGuestCannotDownload = handler.NewError("ERR_GUEST_CANNOT_DOWNLOAD", "a guest token cannot download uploads", http.StatusForbidden)
	errOwnerReadOnly       = handler.NewError("ERR_UPLOAD_READ_ONLY", "the owner of a share may only read its guests' uploads", http.StatusForbidden)
	errMethodNotAllowed    = withHeader(handler.NewError("ERR_METHOD_NOT_ALLOWED", "method not allowed", http.StatusMethodNotAllowed), "Allow", "GET, HEAD, PATCH, DELETE")

	errFileType       = handler.NewError("ERR_FILE_TYPE_NOT_ALLOWED", "the token does not allow this file type", http.StatusForbidden)
	errMaxFiles       = handler.NewError("ERR_MAX_FILES_REACHED", "the share holds the most files its token allows", http.StatusForbidden)
	errLengthRequired = handler.NewError("ERR_UPLOAD_LENGTH_REQUIRED", "a size limit applies: declare Upload-Length instead of deferring it", http.StatusBadRequest)
	errInternal       = handler.NewError("ERR_INTERNAL_SERVER_ERROR", "the request could not be processed; retry later", http.StatusInternalServerError)
	errHookFailed     = handler.NewError("ERR_INTERNAL_SERVER_ERROR", "the pre-create hook failed; retry later", http.StatusInternalServerError)
)

func errTooLarge(size, limit int64) error {
	return handler.NewError("ERR_UPLOAD_SIZE_EXCEEDED",
		fmt.Sprintf("an upload of %d bytes exceeds the limit of %d bytes", size, limit), http.StatusRequestEntityTooLarge)
}

func authError(code, msg, challenge string) handler.Error {
	return withHeader(handler.NewError(code, msg, http.StatusUnauthorized), "WWW-Authenticate", challenge)
}

func withHeader(e handler.Error, key, value string) handler.Error {
	e.HTTPResponse.Header[key] = value
	return e
}

// asClientError returns err as a handler.Error, replacing anything else by
// the generic errInternal (after logging it).
func (p *Policy) asClientError(ctx context.Context, op string, err error) handler.Error {
	var herr handler.Error
	if errors.As(err, &herr) {
		return herr
	}
	p.log.ErrorContext(ctx, "request failed", "op", op, "error", err)
	return errInternal
}

// claims verifies the bearer token of an Authorization header value. The
// claims it returns name an account (home) or a share (guest); Expired may
// be set. Its errors are 401 handler.Error values: ERR_UNAUTHORIZED (no
// bearer token), ERR_TOKEN_EXPIRED (past the resume grace) or
// ERR_INVALID_TOKEN.
func (p *Policy) claims(ctx context.Context, authorization string) (Claims, error) {
	raw, err := BearerToken(authorization)
	if err != nil {
		p.refuseFor("no token")
		if strings.Trim(authorization, " \t") != "" {
			// BearerToken's errors are fixed strings.
			p.log.WarnContext(ctx, "token refused", "reason", "no bearer token", "error", err)
		}
		return Claims{}, errNoToken
	}
	c, err := p.cfg.Auth.Verify(raw)
	if err != nil {
		// Verify's error names what is wrong, never the token.
		reason := refusalReason(err)
		p.refuseFor(reason)
		p.log.WarnContext(ctx, "token refused", "reason", reason, "error", err)
		if errors.Is(err, jwt.ErrTokenExpired) {
			// Past the resume grace: the client needs a fresh token.
			return Claims{}, errTokenExpired
		}
		return Claims{}, errBadToken
	}
	switch {
	case c.Kind == KindHome && c.Subject != "":
	case c.Kind == KindGuest && c.Owner != "" && c.Share != "":
	default:
		p.refuseFor("no account")
		p.log.WarnContext(ctx, "token refused", "reason", "no account", "kind", c.Kind)
		return Claims{}, errBadToken
	}
	return c, nil
}

// logExpired logs a token refused because it expired (within the resume
// grace, which only lets it resume its uploads).
func (p *Policy) logExpired(ctx context.Context, method string) {
	p.refuseFor("expired")
	p.log.WarnContext(ctx, "token refused", "reason", "expired", "method", method)
}

// refuse writes e as tusd would: status, Tus-Resumable (not in the IETF
// draft form), the "CODE: message" body (none for HEAD), and CORS headers
// when the origin is allowed.
func (p *Policy) refuse(w http.ResponseWriter, r *http.Request, method string, e handler.Error) {
	h := w.Header()
	p.corsHeaders(h, r)
	if p.draftVersion(r.Header) == "" {
		h.Set("Tus-Resumable", "1.0.0")
	}
	h.Set("X-Content-Type-Options", "nosniff")
	for k, v := range e.HTTPResponse.Header {
		h.Set(k, v)
	}
	body := e.HTTPResponse.Body
	if method == http.MethodHead {
		body = ""
	}
	if body != "" {
		h.Set("Content-Length", strconv.Itoa(len(body)))
	}
	w.WriteHeader(e.HTTPResponse.StatusCode)
	if body != "" {
		io.WriteString(w, body)
	}
}

// corsHeaders adds the headers tusd's middleware adds to an actual
// (non-preflight) request from an allowed origin.
func (p *Policy) corsHeaders(h http.Header, r *http.Request) {
	cors := p.cfg.Cors
	origin := r.Header.Get("Origin")
	if cors == nil || cors.Disable || origin == "" || cors.AllowOrigin == nil || !cors.AllowOrigin.MatchString(origin) {
		return
	}
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Vary", "Origin")
	if cors.AllowCredentials {
		h.Add("Access-Control-Allow-Credentials", "true")
	}
	h.Add("Access-Control-Expose-Headers", cors.ExposeHeaders)
}
