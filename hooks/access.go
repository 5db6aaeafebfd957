package hooks

import (
	"context"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/tus/tusd/v2/pkg/handler"
)

// Middleware authorizes every request before tusd sees it. Mount it after
// http.StripPrefix(basePath), so that r.URL.Path is "" for the creation
// endpoint and the upload id otherwise, and before the tusd handler:
//
//	http.StripPrefix(base, policy.Middleware(tusHandler))
//
// A request carrying one of SingleHeaders twice is 400
// ERR_DUPLICATE_HEADER, and one whose Upload-Length or Upload-Offset
// tusd would read is not a plain decimal number (ParseDigits: no sign,
// no space, no other base) is 400 with tusd's own code: tusd reads only
// the first line of a header, and takes "+10" and "-0" for numbers, where
// a proxy in front may read them otherwise.
//
// The method is tusd's: X-HTTP-Method-Override on a POST replaces it.
// OPTIONS passes. On the creation endpoint a POST needs a live token
// (unless uploads are open); other methods pass (tusd answers 405). On an
// upload, the id alone says whose it is (see Route): no storage is read.
// An id this policy cannot have handed out is 404; with open uploads only
// public ids are served, to anyone; otherwise public ids are 404, a missing
// or invalid token is 401, and then:
//
//	home upload   its account (home token, Segment(sub) = owner):
//	              HEAD, PATCH, GET, DELETE
//	guest upload  a guest token of the same owner and share:
//	              HEAD, PATCH, DELETE (GET: 403)
//	              the share's owner (home token, Segment(sub) = owner):
//	              HEAD, GET (PATCH, DELETE: 403)
//	anyone else   404, as if the upload did not exist
//
// A token expired less than the resume grace ago (Claims.Expired) may
// only HEAD or PATCH an unfinished upload of its own account or share (the
// uploader's role above): a resumed upload may outlive its token. DELETE,
// and any request on a finished upload, needs a live token (401
// otherwise); whether the upload is finished is read with Uploads.Peek.
//
// A GET carrying a download link (LinkParam, see DownloadLink) is decided
// by the link alone, whatever Authorization says: a valid, unexpired link
// for this id serves the upload like the share owner's GET (only once
// complete, 423 while a request holds it, 400 while bytes are missing); a
// forged or foreign link is 403 ERR_INVALID_LINK, an expired one 401
// ERR_LINK_EXPIRED, and any other method with a link 403.
//
// A refused request never reaches tusd, so it never takes the upload's lock
// or asks its holder to release it: a stranger cannot interrupt a running
// PATCH. Neither can the owner of a share, reading a guest's upload: tusd
// asks the holder of the lock to let go on every request, so the owner's
// requests are answered without it. The owner's HEAD is answered from the
// stored state (Uploads.Peek), which may trail a PATCH in progress by the
// bytes not yet committed; the owner's GET goes to tusd only once the
// upload is complete (Uploads.Settle completes one whose bytes are all
// stored, if nobody holds it), and is 423 while a request holds it, 400
// while bytes are missing. The uploader's own requests keep tusd's
// behaviour: that is how a client that lost its connection resumes at once.
//
// For an allowed GET the Content-Disposition tusd sets is replaced by
// ContentDisposition of the upload's filename.
func (p *Policy) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := duplicateHeader(r.Header); err != nil {
			p.refuse(w, r, r.Method, *err)
			return
		}
		method := r.Method
		if o := r.Header.Get("X-HTTP-Method-Override"); method == http.MethodPost && o != "" {
			method = o
		}
		if method == http.MethodOptions {
			next.ServeHTTP(w, r)
			return
		}
		if err := checkNumbers(r.Header, method); err != nil {
			p.refuse(w, r, method, *err)
			return
		}
		// tusd reads the id exactly so (extractIDFromPath).
		id := strings.Trim(r.URL.Path, "/")
		if id == "" {
			p.serveCreation(w, r, method, next)
			return
		}
		rt, ok := p.layout.parse(id)
		if !ok {
			p.refuse(w, r, method, errNotFound)
			return
		}
		switch method {
		case http.MethodHead, http.MethodPatch, http.MethodGet, http.MethodDelete:
		default:
			p.refuse(w, r, method, errMethodNotAllowed)
			return
		}
		g, err := p.authorize(r, id, rt, method)
		if err != nil {
			if reason := accessReason(err.ErrorCode); reason != "" {
				p.refuseFor(reason)
			}
		} else {
			err = p.check(r.Context(), id, g, method)
		}
		if err != nil {
			if err.ErrorCode == errTokenExpired.ErrorCode {
				p.logExpired(r.Context(), method)
			}
			p.log.DebugContext(r.Context(), "request refused", "method", method, "id", id, "code", err.ErrorCode)
			p.refuse(w, r, method, *err)
			return
		}
		if g.role == roleShareOwner && method == http.MethodHead {
			p.serveStoredHead(w, r, id)
			return
		}
		if g.role == roleLink {
			// No bearer token marks the answer private: say it, so that
			// no shared cache keeps the file under its link.
			w.Header().Set("Cache-Control", "private, no-store")
			w.Header().Set("Referrer-Policy", "no-referrer")
		}
		if method == http.MethodGet {
			w = &dispositionWriter{ResponseWriter: w}
		}
		next.ServeHTTP(w, r)
	})
}

// serveCreation checks the token of a creation request and releases the
// max_files reservation PreCreate made for it once tusd is done: by then
// the upload's .info exists (and listings show it) or the creation failed.
func (p *Policy) serveCreation(w http.ResponseWriter, r *http.Request, method string, next http.Handler) {
	if method != http.MethodPost {
		next.ServeHTTP(w, r)
		return
	}
	if !p.open() {
		c, err := p.claims(r.Context(), r.Header.Get("Authorization"))
		if err == nil && c.Expired {
			p.logExpired(r.Context(), method)
			err = errTokenExpired
		}
		if err != nil {
			herr := p.asClientError(r.Context(), "authorize", err)
			p.log.DebugContext(r.Context(), "request refused", "method", method, "code", herr.ErrorCode)
			p.refuse(w, r, method, herr)
			return
		}
	}
	if err := p.checkCreation(r); err != nil {
		p.refuse(w, r, method, *err)
		return
	}
	h := &creation{}
	defer func() {
		if dir, id := h.get(); id != "" {
			p.unreserve(dir, id)
		}
	}()
	next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), creationKey{}, h)))
}

// checkCreation refuses, before tusd, a creation tusd would answer
// wrongly:
//   - in tus 1.0, one whose body (creation with upload) is declared
//     longer than its Upload-Length, with tusd's 413
//     ERR_UPLOAD_SIZE_EXCEEDED. tusd refuses it too, but only after
//     creating the upload, and its error answer has no Location: the
//     client would be left with an upload it cannot reach (counted by
//     max_files). A chunked body is only known to be too long once read;
//     tusd keeps the bytes up to the length as it does for a PATCH
//     (README, "What a 204 means").
//   - in the IETF draft form, one whose Content-Type or
//     Content-Disposition mime.ParseMediaType cannot read, with 400:
//     tusd answers 500 with the parser's error text. And one that is not
//     complete (whose body is the upload's first bytes) with a
//     Content-Length beyond its Upload-Length, with 413 as in tus 1.0:
//     tusd creates the upload, then refuses. (A complete one whose
//     lengths differ tusd refuses with 400 before creating anything.)
func (p *Policy) checkCreation(r *http.Request) *handler.Error {
	v := p.draftVersion(r.Header)
	if v != "" {
		for _, name := range []string{"Content-Type", "Content-Disposition"} {
			if h := r.Header.Get(name); h != "" {
				if _, _, err := mime.ParseMediaType(h); err != nil {
					e := errInvalidMediaHeader(name)
					return &e
				}
			}
		}
		if draftComplete(r.Header, v) {
			return nil
		}
	} else if r.Header.Get("Content-Type") != "application/offset+octet-stream" || r.Header.Get("Upload-Defer-Length") != "" {
		return nil
	}
	if r.ContentLength <= 0 {
		return nil
	}
	if n, ok := ParseDigits(r.Header.Get("Upload-Length")); ok && r.ContentLength > n {
		return &handler.ErrSizeExceeded
	}
	return nil
}

// errInvalidMediaHeader answers a draft creation whose Content-Type or
// Content-Disposition does not parse.
func errInvalidMediaHeader(name string) handler.Error {
	return handler.NewError("ERR_INVALID_"+strings.ToUpper(strings.ReplaceAll(name, "-", "_")),
		"the "+name+" header does not parse", http.StatusBadRequest)
}

// grant is what authorize allowed: the token's role on the upload, and
// whether the token is within its resume grace.
type grant struct {
	role    role
	expired bool
}

// authorize decides a request on an existing upload from its id and token
// (or download link) alone; a nil error allows it, subject to check.
func (p *Policy) authorize(r *http.Request, id string, rt Route, method string) (grant, *handler.Error) {
	if p.open() {
		if rt.Kind == RoutePublic {
			return grant{role: roleUploader}, nil
		}
		return grant{}, &errNotFound
	}
	if rt.Kind == RoutePublic {
		return grant{}, &errNotFound
	}
	if link, ok := linkValue(r); ok {
		return p.authorizeLink(r.Context(), id, link, method)
	}
	c, err := p.claims(r.Context(), r.Header.Get("Authorization"))
	if err != nil {
		herr := p.asClientError(r.Context(), "authorize", err)
		return grant{}, &herr
	}
	g := grant{role: roleOf(rt, c), expired: c.Expired}
	return g, access(rt, c, method)
}

// check decides what the id and token alone cannot, from the stored
// upload: a token in its resume grace acts only on an unfinished upload,
// and the share owner's GET, like a download link's, waits for a complete
// one (see Middleware).
func (p *Policy) check(ctx context.Context, id string, g grant, method string) *handler.Error {
	switch {
	case g.expired:
		fi, err := p.cfg.Uploads.Peek(ctx, id)
		if err != nil {
			herr := p.asClientError(ctx, "peek", err)
			return &herr
		}
		if !fi.SizeIsDeferred && fi.Offset == fi.Size {
			return &errTokenExpired
		}
	case (g.role == roleShareOwner || g.role == roleLink) && method == http.MethodGet:
		if err := p.cfg.Uploads.Settle(ctx, id); err != nil {
			herr := p.asClientError(ctx, "settle", err)
			return &herr
		}
	}
	return nil
}

// role of a token on an upload.
type role int

const (
	roleNone       role = iota
	roleUploader        // the upload's account (home) or share (guest)
	roleShareOwner      // the owner of a guest upload's share
	roleLink            // a download link (GET only; minted for the uploader or the share owner)
)

func roleOf(rt Route, c Claims) role {
	switch {
	case rt.Kind == RouteHome && c.Kind == KindHome && Segment(c.Subject) == rt.Owner:
		return roleUploader
	case rt.Kind == RouteGuest && c.Kind == KindGuest && Segment(c.Owner) == rt.Owner && Segment(c.Share) == rt.Share:
		return roleUploader
	case rt.Kind == RouteGuest && c.Kind == KindHome && Segment(c.Subject) == rt.Owner:
		return roleShareOwner
	}
	return roleNone
}

// access is the rule table of Middleware for verified claims c. A token
// in its resume grace passes here only as the uploader, for HEAD and PATCH;
// check then requires the upload to be unfinished.
func access(rt Route, c Claims, method string) *handler.Error {
	r := roleOf(rt, c)
	if c.Expired {
		if r == roleUploader && (method == http.MethodHead || method == http.MethodPatch) {
			return nil
		}
		return &errTokenExpired
	}
	switch r {
	case roleUploader:
		if rt.Kind == RouteGuest && method == http.MethodGet {
			return &errGuestCannotDownload
		}
		return nil
	case roleShareOwner:
		if method == http.MethodHead || method == http.MethodGet {
			return nil
		}
		return &errOwnerReadOnly
	}
	return &errNotFound
}

// dispositionWriter replaces the Content-Disposition tusd set on a GET by
// a sanitized one, just before the header is sent.
type dispositionWriter struct {
	http.ResponseWriter
	fixed bool
}

func (d *dispositionWriter) fix() {
	if d.fixed {
		return
	}
	d.fixed = true
	h := d.Header()
	if cd := h.Get("Content-Disposition"); cd != "" {
		h.Set("Content-Disposition", rewriteDisposition(cd))
	}
}

// WriteHeader fixes the header before the final answer. An informational
// (1xx) answer, such as the 104 tusd sends on an IETF draft creation, goes
// out with the header as it is and leaves the final one to fix.
func (d *dispositionWriter) WriteHeader(code int) {
	if code < 100 || code > 199 || code == http.StatusSwitchingProtocols {
		d.fix()
	}
	d.ResponseWriter.WriteHeader(code)
}

func (d *dispositionWriter) Write(b []byte) (int, error) {
	d.fix()
	return d.ResponseWriter.Write(b)
}

// FlushError lets http.ResponseController flush without skipping fix.
func (d *dispositionWriter) FlushError() error {
	d.fix()
	return http.NewResponseController(d.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the connection (tusd sets
// read and write deadlines through it).
func (d *dispositionWriter) Unwrap() http.ResponseWriter { return d.ResponseWriter }

// rewriteDisposition turns the header tusd writes, `<kind>;filename=` and
// the Go-quoted (strconv.Quote) file name, into ContentDisposition's.
func rewriteDisposition(cd string) string {
	kind, rest, _ := strings.Cut(cd, ";")
	name := ""
	if q, ok := strings.CutPrefix(strings.TrimSpace(rest), "filename="); ok {
		var err error
		if name, err = strconv.Unquote(q); err != nil {
			name = fallbackFilename
		}
	}
	return ContentDisposition(strings.TrimSpace(kind), name)
}

// serveStoredHead answers the share owner's HEAD from the stored state,
// with the headers tusd's HEAD sends, without taking the upload's lock: in
// the IETF draft form (draftVersion) a 204 with Upload-Complete, as tusd
// answers it, else tus 1.0's 200.
func (p *Policy) serveStoredHead(w http.ResponseWriter, r *http.Request, id string) {
	fi, err := p.cfg.Uploads.Peek(r.Context(), id)
	if err != nil {
		p.refuse(w, r, http.MethodHead, p.asClientError(r.Context(), "peek", err))
		return
	}
	h := w.Header()
	p.corsHeaders(h, r)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	h.Set("Upload-Offset", strconv.FormatInt(fi.Offset, 10))
	if v := p.draftVersion(r.Header); v != "" {
		p.draftHeadHeaders(h, v, fi)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	h.Set("Tus-Resumable", "1.0.0")
	if len(fi.MetaData) != 0 {
		h.Set("Upload-Metadata", handler.SerializeMetadataHeader(fi.MetaData))
	}
	if fi.SizeIsDeferred {
		h.Set("Upload-Defer-Length", "1")
	} else {
		size := strconv.FormatInt(fi.Size, 10)
		h.Set("Upload-Length", size)
		h.Set("Content-Length", size)
	}
	w.WriteHeader(http.StatusOK)
}
