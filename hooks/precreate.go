package hooks

import (
	"context"
	"mime"
	"strings"
	"sync"
	"time"

	"github.com/tus/tusd/v2/pkg/handler"
)

// PreCreate is tusd's pre-create callback: it checks the Upload-Metadata
// header strictly, verifies the creator's token, applies the route's
// limits and hands out the upload id that carries the route. The route,
// the owner and the share (real names, not segments) go to Storage, which
// the store records in .info. Errors are handler.Error values. A creation
// in the IETF draft form is routed and limited alike; its metadata is
// creationMetadata's.
//
// Limits: the smallest non-zero of the route's flag (HomeMaxSize,
// GuestMaxSize) and the token's max_size bounds Upload-Length (413), and a
// deferred length is refused while a limit applies (400): it could not be
// checked. A token's types must match the declared "filetype" (403), and
// its max_files bounds the uploads of its share (or account) (403),
// counted from the object store plus the ids handed out and not yet
// stored.
func (p *Policy) PreCreate(ev handler.HookEvent) (handler.HTTPResponse, handler.FileInfoChanges, error) {
	var none handler.HTTPResponse
	meta, replace, err := p.creationMetadata(ev)
	if err != nil {
		return none, handler.FileInfoChanges{}, err
	}
	ctx := ev.Context
	if ctx == nil {
		ctx = context.Background()
	}
	if p.open() {
		changes := p.changes(Route{Kind: RoutePublic, Rand: newRand()}, "", "")
		if replace {
			changes.MetaData = meta
		}
		return none, changes, nil
	}
	c, err := p.claims(ctx, ev.HTTPRequest.Header.Get("Authorization"))
	if err != nil {
		return none, handler.FileInfoChanges{}, err
	}
	if c.Expired {
		return none, handler.FileInfoChanges{}, errTokenExpired
	}
	var (
		rt           Route
		owner, share string
	)
	if c.Kind == KindGuest {
		rt = Route{Kind: RouteGuest, Owner: Segment(c.Owner), Share: Segment(c.Share), Rand: newRand()}
		owner, share = c.Owner, c.Share
	} else {
		rt = Route{Kind: RouteHome, Owner: Segment(c.Subject), Rand: newRand()}
		owner = c.Subject
	}
	if limit := p.Limits(c).MaxSize; limit > 0 {
		if ev.Upload.SizeIsDeferred {
			return none, handler.FileInfoChanges{}, errLengthRequired
		}
		if ev.Upload.Size > limit {
			return none, handler.FileInfoChanges{}, errTooLarge(ev.Upload.Size, limit)
		}
	}
	if len(c.Types) > 0 && !typeAllowed(c.Types, meta["filetype"]) {
		return none, handler.FileInfoChanges{}, errFileType
	}
	changes := p.changes(rt, owner, share)
	if replace {
		changes.MetaData = meta
	}
	if c.MaxFiles > 0 {
		if err := p.reserve(ctx, p.layout.dir(rt), changes.ID, c.MaxFiles); err != nil {
			return none, handler.FileInfoChanges{}, p.asClientError(ctx, "count uploads", err)
		}
	}
	p.log.DebugContext(ctx, "upload routed", "id", changes.ID, "route", rt.Kind)
	return none, changes, nil
}

// changes is what PreCreate hands tusd for rt.
func (p *Policy) changes(rt Route, owner, share string) handler.FileInfoChanges {
	id := p.layout.id(rt)
	storage := map[string]string{"Route": rt.Kind, "Key": id}
	if owner != "" {
		storage["Owner"] = owner
	}
	if share != "" {
		storage["Share"] = share
	}
	return handler.FileInfoChanges{ID: id, Storage: storage}
}

// smallestLimit is the smallest non-zero limit (0: none).
func smallestLimit(a, b int64) int64 {
	switch {
	case a <= 0:
		return max(b, 0)
	case b <= 0:
		return a
	}
	return min(a, b)
}

// typeAllowed reports whether the declared filetype matches one of the
// patterns: "type/subtype", "type/*" or "*/*", case-insensitively,
// parameters ignored. A missing or malformed filetype matches nothing.
func typeAllowed(patterns []string, filetype string) bool {
	mt, _, err := mime.ParseMediaType(filetype)
	if err != nil {
		return false
	}
	major, minor, ok := strings.Cut(mt, "/")
	if !ok || major == "" || minor == "" || major == "*" || minor == "*" {
		return false
	}
	for _, pat := range patterns {
		pat = strings.ToLower(strings.TrimSpace(pat))
		pmajor, pminor, ok := strings.Cut(pat, "/")
		switch {
		case !ok:
		case pmajor == "*" && pminor == "*":
			return true
		case pmajor == major && (pminor == "*" || pminor == minor):
			return true
		}
	}
	return false
}

// reserve counts the uploads under dir and, below maxFiles, reserves id
// (Config.Reservations), linking the reservation to the creation request
// so that Middleware ends it.
func (p *Policy) reserve(ctx context.Context, dir, id string, maxFiles int) error {
	ok, err := p.cfg.Reservations.Reserve(ctx, dir, id, maxFiles, p.lister(dir))
	if err != nil {
		return err
	}
	if !ok {
		return errMaxFiles
	}
	if h := creationFrom(ctx); h != nil {
		h.set(dir, id)
	}
	return nil
}

// lister lists dir's stored uploads for the reservations.
func (p *Policy) lister(dir string) func(context.Context) ([]string, error) {
	return func(ctx context.Context) ([]string, error) { return p.cfg.Uploads.UploadIDs(ctx, dir) }
}

// releaseTimeout bounds ending a reservation, after its request.
const releaseTimeout = 10 * time.Second

// unreserve ends id's reservation in dir; a failure is logged (the
// reservation then expires on its own).
func (p *Policy) unreserve(dir, id string) {
	ctx, cancel := context.WithTimeout(context.Background(), releaseTimeout)
	defer cancel()
	if err := p.cfg.Reservations.Release(ctx, dir, id); err != nil {
		p.log.WarnContext(ctx, "could not end a max_files reservation; it expires on its own", "id", id, "error", err)
	}
}

// unreserveID ends the reservation of an id PreCreate handed out, if any.
func (p *Policy) unreserveID(id string) {
	if rt, ok := p.layout.parse(id); ok {
		p.unreserve(p.layout.dir(rt), id)
	}
}

// creation links a creation request (Middleware) to the reservation
// PreCreate made for it.
type creation struct {
	mu      sync.Mutex
	dir, id string
}

type creationKey struct{}

func (c *creation) set(dir, id string) {
	c.mu.Lock()
	c.dir, c.id = dir, id
	c.mu.Unlock()
}

func (c *creation) get() (dir, id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dir, c.id
}

func creationFrom(ctx context.Context) *creation {
	c, _ := ctx.Value(creationKey{}).(*creation)
	return c
}
