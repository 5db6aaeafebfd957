package hooks

// What the upload page's API (web/api) asks of the policy: who a token
// is, what it may upload, what it may list. The answers are the ones the
// middleware and PreCreate act on, so the page never promises what a
// request would then be refused.

import (
	"context"
	"net/http"
	"time"

	"github.com/tus/tusd/v2/pkg/handler"
)

var (
	errGuestCannotList = handler.NewError("ERR_GUEST_CANNOT_LIST", "a guest token cannot list uploads", http.StatusForbidden)
	errNoAccounts      = handler.NewError("ERR_NO_ACCOUNTS", "uploads are open (-auth=none): there are no accounts", http.StatusNotFound)
)

// Open reports whether the policy serves open uploads (-auth=none): no
// tokens, no accounts.
func (p *Policy) Open() bool { return p.open() }

// ResumeGrace is how long after its expiry a token may still resume its
// uploads (0 with open uploads or no grace).
func (p *Policy) ResumeGrace() time.Duration {
	if p.open() {
		return 0
	}
	return p.cfg.Auth.grace
}

// Authenticate verifies the bearer token of an Authorization header value
// as every upload request's is: a refusal is counted (Refusals) and logged
// with its reason, and is a 401 handler.Error, ERR_UNAUTHORIZED (no bearer
// token), ERR_TOKEN_EXPIRED (expired past the resume grace) or
// ERR_INVALID_TOKEN. A token within its resume grace is returned with
// Claims.Expired set: it may still resume its uploads, nothing else. With
// open uploads there is nobody to authenticate: 404 ERR_NO_ACCOUNTS.
func (p *Policy) Authenticate(ctx context.Context, authorization string) (Claims, error) {
	if p.open() {
		return Claims{}, errNoAccounts
	}
	return p.claims(ctx, authorization)
}

// Limits are what PreCreate holds a token's new uploads to.
type Limits struct {
	// MaxSize is the largest upload in bytes: the smaller of the route's
	// limit (Config.HomeMaxSize, GuestMaxSize) and the token's max_size
	// (0: none). While one applies, a deferred length is refused.
	MaxSize int64
	// Types are the MIME patterns the declared filetype must match (nil:
	// any). Guest tokens only.
	Types []string
	// MaxFiles bounds the uploads of a guest's share (0: none).
	MaxFiles int
}

// Limits returns the limits of c's new uploads.
func (p *Policy) Limits(c Claims) Limits {
	route := p.cfg.HomeMaxSize
	if c.Kind == KindGuest {
		route = p.cfg.GuestMaxSize
	}
	return Limits{MaxSize: smallestLimit(route, c.MaxSize), Types: c.Types, MaxFiles: c.MaxFiles}
}

// FilesLeft is how many more uploads the share of a guest token with
// max_files may take, counted as PreCreate counts them: the share's
// stored uploads plus the ones being created. ok is false when no
// max_files applies.
func (p *Policy) FilesLeft(ctx context.Context, c Claims) (left int, ok bool, err error) {
	if p.open() || c.Kind != KindGuest || c.MaxFiles <= 0 {
		return 0, false, nil
	}
	dir := p.layout.dir(Route{Kind: RouteGuest, Owner: Segment(c.Owner), Share: Segment(c.Share)})
	n, err := p.cfg.Reservations.Count(ctx, dir, p.lister(dir))
	if err != nil {
		return 0, false, err
	}
	return max(c.MaxFiles-n, 0), true, nil
}

// ListPrefixes returns the upload id prefixes a token may list: its
// account's home uploads and the uploads of all its shares, such as
// "home/alice/" and "guest/alice/". A guest token is refused (403
// ERR_GUEST_CANNOT_LIST), a home token within its resume grace too (401
// ERR_TOKEN_EXPIRED); both are counted and logged like the middleware's
// refusals.
func (p *Policy) ListPrefixes(ctx context.Context, c Claims) ([]string, error) {
	switch {
	case p.open():
		return nil, errNoAccounts
	case c.Kind != KindHome || c.Subject == "":
		p.refuseFor(accessReason(errGuestCannotList.ErrorCode))
		p.log.DebugContext(ctx, "request refused", "op", "list", "code", errGuestCannotList.ErrorCode)
		return nil, errGuestCannotList
	case c.Expired:
		p.logExpired(ctx, "list")
		return nil, errTokenExpired
	}
	owner := Segment(c.Subject)
	return []string{
		p.layout.dir(Route{Kind: RouteHome, Owner: owner}),
		p.layout.guest + "/" + owner + "/",
	}, nil
}
