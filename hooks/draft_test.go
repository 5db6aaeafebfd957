package hooks_test

import (
	"bytes"
	"context"
	"io"
	"maps"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	tushooks "github.com/tus/tusd/v2/pkg/hooks"
	tushttp "github.com/tus/tusd/v2/pkg/hooks/http"

	"github.com/tusvault/tusvault/hooks"
	"github.com/tusvault/tusvault/internal/tusclient"
)

// The IETF resumable upload draft (tusd's EnableExperimentalProtocol):
// the same policy in the draft form. Requests carry
// Upload-Draft-Interop-Version and no Tus-Resumable, as tus-js-client's
// ietf-draft-05 protocol sends them.

// draftVersions are the interop versions tusd v2.9.1 serves.
var draftVersions = []string{"3", "4", "5", "6"}

// draftResponse is a response and the informational (1xx) answers that
// came before it.
type draftResponse struct {
	response
	Early []earlyResponse
}

type earlyResponse struct {
	Status int
	Header textproto.MIMEHeader
}

// doDraft sends one request in the draft form of interop version v: no
// Tus-Resumable, the Authorization header value auth ("" for none).
func doDraft(t *testing.T, method, target, auth, v string, header http.Header, body []byte) draftResponse {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	var (
		mu    sync.Mutex
		early []earlyResponse
	)
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		mu.Lock()
		early = append(early, earlyResponse{code, h})
		mu.Unlock()
		return nil
	}}
	ctx, cancel := context.WithTimeout(httptrace.WithClientTrace(context.Background(), trace), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Upload-Draft-Interop-Version", v)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, target, err)
	}
	mu.Lock()
	defer mu.Unlock()
	return draftResponse{response{resp.StatusCode, resp.Header, string(b)}, early}
}

// completeHeader is the header that says whether a request completes the
// upload: Upload-Incomplete (inverted) in interop version 3,
// Upload-Complete later.
func completeHeader(h http.Header, v string, complete bool) http.Header {
	if v == "3" {
		h.Set("Upload-Incomplete", sfBool(!complete))
	} else {
		h.Set("Upload-Complete", sfBool(complete))
	}
	return h
}

func sfBool(b bool) string {
	if b {
		return "?1"
	}
	return "?0"
}

// draftPatchHeader is the header of a draft PATCH of an upload at offset.
func draftPatchHeader(v string, offset int64, complete bool) http.Header {
	h := http.Header{"Upload-Offset": {strconv.FormatInt(offset, 10)}}
	if v == "6" { // -04 and later: the partial upload media type
		h.Set("Content-Type", "application/partial-upload")
	}
	return completeHeader(h, v, complete)
}

// draftCreate creates an upload of size bytes in the draft form, sending
// body with it, and returns its URL; it fails the test unless the answer
// is 201 after one 104 with the same Location.
func draftCreate(t *testing.T, e *env, tok, v string, size int64, body []byte, header http.Header) string {
	t.Helper()
	h := completeHeader(http.Header{"Upload-Length": {strconv.FormatInt(size, 10)}}, v, int64(len(body)) == size)
	maps.Copy(h, header)
	r := doDraft(t, http.MethodPost, e.URL, bearer(tok), v, h, body)
	if r.Status != http.StatusCreated {
		t.Fatalf("draft %s creation: %d %q", v, r.Status, r.Body)
	}
	u := r.Header.Get("Location")
	checkEarly(t, r, u)
	return u
}

// checkEarly checks that a draft creation answer came after exactly one
// 104 that announced its Location.
func checkEarly(t *testing.T, r draftResponse, location string) {
	t.Helper()
	if len(r.Early) != 1 || r.Early[0].Status != 104 || r.Early[0].Header.Get("Location") != location || location == "" {
		t.Errorf("informational answers %v before a %d with Location %q; want one 104 with that Location", r.Early, r.Status, location)
	}
}

// draftRequest sends the draft request of the given kind: POST creates a
// 10-byte upload at the endpoint (no body); PATCH sends 10 bytes at
// offset and says the upload is then complete.
func draftRequest(t *testing.T, e *env, method, u, auth, v string, offset int64) draftResponse {
	t.Helper()
	switch method {
	case http.MethodPost:
		h := completeHeader(http.Header{"Upload-Length": {"10"}}, v, false)
		return doDraft(t, method, e.URL, auth, v, h, nil)
	case http.MethodPatch:
		return doDraft(t, method, u, auth, v, draftPatchHeader(v, offset, true), bytes.Repeat([]byte("p"), 10))
	}
	return doDraft(t, method, u, auth, v, nil, nil)
}

// checkDraftRefusal checks that a refusal of a draft request looks like
// tusd's in that form: no Tus-Resumable, no informational answer, a
// Bearer challenge on 401, a tus-style body.
func checkDraftRefusal(t *testing.T, method string, r draftResponse) {
	t.Helper()
	if got := r.Header.Values("Tus-Resumable"); len(got) != 0 {
		t.Errorf("refusal of a draft request carries Tus-Resumable %q", got)
	}
	if len(r.Early) != 0 {
		t.Errorf("refusal came after informational answers %v", r.Early)
	}
	if r.Status == http.StatusUnauthorized && !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("401 without a Bearer challenge: %q", r.Header.Get("WWW-Authenticate"))
	}
	if method != http.MethodHead && (!strings.HasPrefix(r.Body, "ERR_") || !strings.HasSuffix(r.Body, "\n")) {
		t.Errorf("body %q is not a tus-style error", r.Body)
	}
}

// checkDraftHead checks a HEAD answer in the draft form of v.
func checkDraftHead(t *testing.T, r draftResponse, v string, offset, size int64) {
	t.Helper()
	complete, want := "Upload-Complete", sfBool(offset == size)
	if v == "3" {
		complete, want = "Upload-Incomplete", sfBool(offset != size)
	}
	if r.Status != http.StatusNoContent || r.Header.Get("Upload-Offset") != strconv.FormatInt(offset, 10) ||
		r.Header.Get(complete) != want || r.Header.Get("Upload-Draft-Interop-Version") != v ||
		r.Header.Get("Upload-Length") != strconv.FormatInt(size, 10) || r.Header.Get("Cache-Control") != "no-store" ||
		r.Header.Get("Upload-Limit") != "min-size=0,max-size="+strconv.FormatInt(size, 10) ||
		len(r.Header.Values("Tus-Resumable")) != 0 || r.Header.Get("Upload-Metadata") != "" {
		t.Errorf("draft %s HEAD: %d, headers %v; want 204, Upload-Offset %d, %s %s, Upload-Length %d, no Tus-Resumable",
			v, r.Status, r.Header, offset, complete, want, size)
	}
}

// TestDraftAccessMatrix is TestAccessMatrix in the draft form: the same
// statuses (a HEAD is 204 in this form, from tusd for the uploader and
// from the policy for the share owner), refused requests change no file
// and creations are routed by the token. Every row for interop version 6
// (tus-js-client's ietf-draft-05), the rows of each role for the others.
func TestDraftAccessMatrix(t *testing.T) {
	for _, v := range draftVersions {
		t.Run("v"+v, func(t *testing.T) { draftAccessMatrix(t, v, v == "6") })
	}
}

func draftAccessMatrix(t *testing.T, v string, allRows bool) {
	e := newEnv(t, options{experimental: true})
	now := time.Now()
	alice := e.home(t, "alice")
	carolTrip := e.guest(t, "carol", "trip")
	creds := map[string]string{
		"no token": "",
		"garbage":  "Bearer garbage",
		"expired beyond grace": bearer(handToken("HS256", e.Secret, map[string]any{
			"sub": "alice", "iss": testIssuer, "aud": testAudience,
			"iat": now.Add(-50 * time.Hour).Unix(), "exp": now.Add(-25 * time.Hour).Unix(),
		})),
		"wrong signature":        bearer(mint(t, mustSigner(t, randomBytes(t, 32), nil, testAudience), hooks.Claims{Subject: "alice"}, time.Hour)),
		"home owner":             bearer(alice),
		"other home user":        bearer(e.home(t, "bob")),
		"guest of the share":     bearer(carolTrip),
		"guest of another share": bearer(e.guest(t, "carol", "party")),
		"owner of the share":     bearer(e.home(t, "carol")),
	}
	// Where each credential's creations go.
	routes := map[string]string{
		"home owner": "home/alice/", "other home user": "home/bob/", "guest of the share": "guest/carol/trip/",
		"guest of another share": "guest/carol/party/", "owner of the share": "home/carol/",
	}
	type row struct {
		who  string
		want [5]int // POST, HEAD, PATCH, GET, DELETE
	}
	deny := [5]int{401, 401, 401, 401, 401}
	unauthenticated := []row{{"no token", deny}, {"garbage", deny}, {"expired beyond grace", deny}, {"wrong signature", deny}}
	tables := []struct {
		name    string
		creator string
		rows    []row
	}{
		{"home upload", alice, append(unauthenticated[:len(unauthenticated):len(unauthenticated)],
			row{"home owner", [5]int{201, 204, 204, 200, 204}},
			row{"other home user", [5]int{201, 404, 404, 404, 404}},
			row{"guest of the share", [5]int{201, 404, 404, 404, 404}},
			row{"owner of the share", [5]int{201, 404, 404, 404, 404}},
		)},
		{"guest upload", carolTrip, append(unauthenticated[:len(unauthenticated):len(unauthenticated)],
			row{"home owner", [5]int{201, 404, 404, 404, 404}},
			row{"guest of the share", [5]int{201, 204, 204, 403, 204}},
			row{"guest of another share", [5]int{201, 404, 404, 404, 404}},
			row{"owner of the share", [5]int{201, 204, 403, 200, 403}},
		)},
	}
	roles := map[string]bool{"no token": true, "home owner": true, "guest of the share": true, "owner of the share": true}
	for _, table := range tables {
		for _, r := range table.rows {
			if !allRows && !roles[r.who] {
				continue
			}
			for i, m := range methods {
				t.Run(table.name+"/"+r.who+"/"+m, func(t *testing.T) {
					auth := creds[r.who]
					data := testData(20)
					var u string
					if m == http.MethodGet {
						u = draftCreate(t, e, table.creator, v, 20, data, http.Header{"Upload-Metadata": {tusclient.EncodeMetadata(map[string]string{"filename": "f.bin"})}})
					} else {
						u = draftCreate(t, e, table.creator, v, 20, data[:10], nil)
					}
					before := snapshot(t, e.Dir)
					resp := draftRequest(t, e, m, u, auth, v, 10)
					if resp.Status != r.want[i] {
						t.Fatalf("draft %s %s by %s: status %d, want %d (body %q)", v, m, r.who, resp.Status, r.want[i], resp.Body)
					}
					if resp.Status >= 400 {
						if diff := diffSnapshots(before, snapshot(t, e.Dir)); len(diff) > 0 {
							t.Fatalf("refused %s by %s changed files: %v", m, r.who, diff)
						}
						checkDraftRefusal(t, m, resp)
						return
					}
					switch m {
					case http.MethodPost:
						loc := resp.Header.Get("Location")
						if !strings.HasPrefix(loc, e.URL+routes[r.who]) {
							t.Errorf("created at %q, want under %s", loc, routes[r.who])
						}
						checkEarly(t, resp, loc)
					case http.MethodHead:
						checkDraftHead(t, resp, v, 10, 20)
					case http.MethodGet:
						if resp.Body != string(data) {
							t.Errorf("GET returned %q", resp.Body)
						}
						if cd := resp.Header.Get("Content-Disposition"); !strings.Contains(cd, `filename="f.bin"`) {
							t.Errorf("GET Content-Disposition %q: the draft creation's Upload-Metadata was not stored", cd)
						}
					}
				})
			}
		}
	}
}

// TestDraftOff: without the experimental protocol a draft request is a
// tus 1.0 one to tusd, and so to the policy: refusals carry Tus-Resumable
// and the owner's HEAD is tus 1.0's 200.
func TestDraftOff(t *testing.T) {
	e := newEnv(t, options{})
	carol, carolTrip := e.home(t, "carol"), e.guest(t, "carol", "trip")
	u := e.upload(t, carolTrip, []byte("hello"), nil)
	r := doDraft(t, http.MethodHead, u, "", "6", nil, nil)
	if r.Status != http.StatusUnauthorized || r.Header.Get("Tus-Resumable") != "1.0.0" {
		t.Errorf("HEAD without a token: %d, headers %v", r.Status, r.Header)
	}
	r = doDraft(t, http.MethodHead, u, bearer(carol), "6", nil, nil)
	if r.Status != http.StatusOK || r.Header.Get("Tus-Resumable") != "1.0.0" || r.Header.Get("Upload-Complete") != "" {
		t.Errorf("share owner's HEAD: %d, headers %v", r.Status, r.Header)
	}
	// tusd wants Tus-Resumable on a tus 1.0 POST: 412 once the token passed.
	h := completeHeader(http.Header{"Upload-Length": {"10"}}, "6", false)
	if r := doDraft(t, http.MethodPost, e.URL, bearer(carol), "6", h, nil); r.Status != http.StatusPreconditionFailed || len(r.Early) != 0 {
		t.Errorf("draft POST with the protocol off: %d %q, early %v", r.Status, r.Body, r.Early)
	}
}

// TestDraftCreation: a draft creation, with its body or without, is
// routed and limited as a tus 1.0 one: route by token, size limits from
// Upload-Length or, for a creation that completes the upload, from
// Content-Length; a deferred length under a limit is refused; max_files
// holds. Refusals come before the 104 and store nothing.
func TestDraftCreation(t *testing.T) {
	e := newEnv(t, options{experimental: true, homeMax: 1000})
	ctx := context.Background()
	alice := e.home(t, "alice")
	data := testData(1000)

	u := draftCreate(t, e, alice, "6", 1000, data, nil)
	id := e.id(t, u)
	if !strings.HasPrefix(id, "home/alice/") {
		t.Fatalf("created %q", id)
	}
	if r := do(t, http.MethodGet, u, bearer(alice), nil, nil); r.Status != 200 || r.Body != string(data) {
		t.Fatalf("GET after a draft creation with its body: %d, %d bytes", r.Status, len(r.Body))
	}
	if fi, err := e.Store.Peek(ctx, id); err != nil || fi.Storage["Route"] != "home" || fi.Storage["Owner"] != "alice" {
		t.Fatalf("stored Storage %v (%v)", fi.Storage, err)
	}
	u = draftCreate(t, e, e.guest(t, "carol", "trip"), "6", 10, nil, nil)
	if id := e.id(t, u); !strings.HasPrefix(id, "guest/carol/trip/") {
		t.Fatalf("guest creation at %q", id)
	}

	small := mint(t, e.Signer, hooks.Claims{Subject: "alice", MaxSize: 300}, time.Hour)
	for _, tc := range []struct {
		name   string
		tok    string
		header http.Header
		body   []byte
		want   int
		code   string
	}{
		{"Upload-Length over the flag", alice, http.Header{"Upload-Length": {"1001"}, "Upload-Complete": {"?0"}}, nil, 413, "ERR_UPLOAD_SIZE_EXCEEDED"},
		{"Upload-Length over the token", small, http.Header{"Upload-Length": {"301"}, "Upload-Complete": {"?0"}}, nil, 413, "ERR_UPLOAD_SIZE_EXCEEDED"},
		{"whole body over the flag", alice, http.Header{"Upload-Complete": {"?1"}}, testData(1001), 413, "ERR_UPLOAD_SIZE_EXCEEDED"},
		{"whole body over the token", small, http.Header{"Upload-Complete": {"?1"}}, testData(301), 413, "ERR_UPLOAD_SIZE_EXCEEDED"},
		{"deferred length under a limit", alice, http.Header{"Upload-Complete": {"?0"}}, testData(10), 400, "ERR_UPLOAD_LENGTH_REQUIRED"},
		{"no token", "", http.Header{"Upload-Length": {"10"}, "Upload-Complete": {"?0"}}, nil, 401, "ERR_UNAUTHORIZED"},
		{"malformed Upload-Metadata", alice, http.Header{"Upload-Length": {"10"}, "Upload-Complete": {"?0"}, "Upload-Metadata": {"filename !!!"}}, nil, 400, "ERR_INVALID_METADATA"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t, e.Dir)
			auth := ""
			if tc.tok != "" {
				auth = bearer(tc.tok)
			}
			r := doDraft(t, http.MethodPost, e.URL, auth, "6", tc.header, tc.body)
			if r.Status != tc.want || !strings.HasPrefix(r.Body, tc.code+": ") {
				t.Fatalf("%d %q, want %d %s", r.Status, r.Body, tc.want, tc.code)
			}
			checkDraftRefusal(t, http.MethodPost, r)
			if diff := diffSnapshots(before, snapshot(t, e.Dir)); len(diff) > 0 {
				t.Errorf("refused creation wrote %v", diff)
			}
		})
	}
	// At the limits.
	draftCreate(t, e, small, "6", 300, testData(300), nil)
	draftCreate(t, e, alice, "5", 1000, nil, nil)

	two := mint(t, e.Signer, hooks.Claims{Kind: hooks.KindGuest, Owner: "dave", Share: "two", MaxFiles: 2}, time.Hour)
	draftCreate(t, e, two, "6", 5, []byte("one.."), nil)
	draftCreate(t, e, two, "4", 5, nil, nil)
	h := completeHeader(http.Header{"Upload-Length": {"5"}}, "6", false)
	if r := doDraft(t, http.MethodPost, e.URL, bearer(two), "6", h, nil); r.Status != 403 || !strings.HasPrefix(r.Body, "ERR_MAX_FILES_REACHED") {
		t.Fatalf("third creation with max_files 2: %d %q", r.Status, r.Body)
	}
}

// TestDraftGuestTypes: a guest token's types are checked against the
// filetype the upload is stored with. In the draft form tusd takes it from
// Content-Type and ignores Upload-Metadata; the client's Upload-Metadata,
// when sent (tus-js-client sends it in both protocols), is stored instead,
// as in tus 1.0.
func TestDraftGuestTypes(t *testing.T) {
	e := newEnv(t, options{experimental: true})
	ctx := context.Background()
	tok := mint(t, e.Signer, hooks.Claims{Kind: hooks.KindGuest, Owner: "carol", Share: "pics", Types: []string{"image/*"}}, time.Hour)
	meta := func(m map[string]string) string { return tusclient.EncodeMetadata(m) }
	for _, tc := range []struct {
		name     string
		header   http.Header
		want     int
		stored   map[string]string // for a 201
		fromBody bool
	}{
		{"Content-Type only", http.Header{"Content-Type": {"image/png"}, "Content-Disposition": {`attachment; filename="a.png"`}}, 201,
			map[string]string{"filetype": "image/png", "filename": "a.png"}, true},
		{"Content-Type not allowed", http.Header{"Content-Type": {"text/html"}}, 403, nil, true},
		{"neither", http.Header{}, 403, nil, false},
		{"Upload-Metadata", http.Header{"Upload-Metadata": {meta(map[string]string{"filetype": "image/jpeg", "filename": "b.jpg"})}}, 201,
			map[string]string{"filetype": "image/jpeg", "filename": "b.jpg"}, false},
		// Upload-Metadata is what is stored, and so what is checked.
		{"Upload-Metadata over a Content-Type", http.Header{"Content-Type": {"text/html"},
			"Upload-Metadata": {meta(map[string]string{"filetype": "image/png", "filename": "c.png"})}}, 201,
			map[string]string{"filetype": "image/png", "filename": "c.png"}, true},
		{"Upload-Metadata not allowed", http.Header{"Content-Type": {"image/png"},
			"Upload-Metadata": {meta(map[string]string{"filetype": "text/html"})}}, 403, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body []byte
			h := tc.header.Clone()
			if tc.fromBody {
				body = []byte("0123456789")
				completeHeader(h, "6", true)
			} else {
				h.Set("Upload-Length", "10")
				completeHeader(h, "6", false)
			}
			r := doDraft(t, http.MethodPost, e.URL, bearer(tok), "6", h, body)
			if r.Status != tc.want {
				t.Fatalf("%d %q, want %d", r.Status, r.Body, tc.want)
			}
			if tc.want != 201 {
				if !strings.HasPrefix(r.Body, "ERR_FILE_TYPE_NOT_ALLOWED: ") {
					t.Errorf("body %q", r.Body)
				}
				checkDraftRefusal(t, http.MethodPost, r)
				return
			}
			fi, err := e.Store.Peek(ctx, e.id(t, r.Header.Get("Location")))
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(fi.MetaData, tc.stored) {
				t.Errorf("stored metadata %v, want %v", fi.MetaData, tc.stored)
			}
		})
	}
	if n := len(infoFiles(t, e.Dir, "guest/carol/pics/")); n != 3 {
		t.Errorf("%d uploads stored, want the 3 allowed", n)
	}
}

// TestDraftResumeGrace is TestResumeGrace in the draft form: within the
// grace an expired token may HEAD and PATCH its unfinished uploads, and
// nothing else.
func TestDraftResumeGrace(t *testing.T) {
	e := newEnv(t, options{experimental: true, grace: 3 * time.Hour})
	data := testData(3000)
	for _, tc := range []struct{ name, tok, strangerTok, ownerTok string }{
		{"home", mint(t, e.Signer, hooks.Claims{Subject: "alice"}, time.Hour), mint(t, e.Signer, hooks.Claims{Subject: "bob"}, time.Hour), ""},
		{"guest", mint(t, e.Signer, hooks.Claims{Kind: hooks.KindGuest, Owner: "carol", Share: "trip"}, time.Hour),
			mint(t, e.Signer, hooks.Claims{Kind: hooks.KindGuest, Owner: "carol", Share: "party"}, time.Hour),
			mint(t, e.Signer, hooks.Claims{Subject: "carol"}, time.Hour)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.shift.Store(0)
			auth := bearer(tc.tok)
			u := draftCreate(t, e, tc.tok, "6", int64(len(data)), data[:1000], nil)
			other := draftCreate(t, e, tc.tok, "6", 10, nil, nil)           // unfinished, for DELETE
			done := draftCreate(t, e, tc.tok, "6", 5, []byte("12345"), nil) // finished before the token expired
			expired := func(what, m, target string, off int64) {
				t.Helper()
				r := draftRequest(t, e, m, target, auth, "6", off)
				if r.Status != http.StatusUnauthorized || (m != http.MethodHead && !strings.HasPrefix(r.Body, "ERR_TOKEN_EXPIRED")) {
					t.Fatalf("draft %s %s within grace: %d %q, want 401 ERR_TOKEN_EXPIRED", m, what, r.Status, r.Body)
				}
				checkDraftRefusal(t, m, r)
			}

			e.shift.Store(int64(2 * time.Hour)) // expired an hour ago: within grace
			checkDraftHead(t, doDraft(t, http.MethodHead, u, auth, "6", nil, nil), "6", 1000, int64(len(data)))
			if r := doDraft(t, http.MethodPatch, u, auth, "6", draftPatchHeader("6", 1000, true), data[1000:]); r.Status != http.StatusNoContent ||
				r.Header.Get("Upload-Offset") != strconv.Itoa(len(data)) {
				t.Fatalf("draft PATCH within grace: %d %q, headers %v", r.Status, r.Body, r.Header)
			}
			for _, m := range []string{http.MethodHead, http.MethodPatch, http.MethodGet, http.MethodDelete} {
				expired("the upload it finished", m, u, int64(len(data)))
				expired("an upload finished before", m, done, 5)
			}
			expired("an unfinished upload", http.MethodDelete, other, 0)
			expired("a creation", http.MethodPost, "", 0)
			if r := doDraft(t, http.MethodHead, other, bearer(tc.strangerTok), "6", nil, nil); r.Status != http.StatusUnauthorized {
				t.Fatalf("draft HEAD by a stranger's expired token: %d, want 401", r.Status)
			}
			if tc.ownerTok != "" {
				// The share owner reads, never resumes: no grace.
				if r := doDraft(t, http.MethodHead, other, bearer(tc.ownerTok), "6", nil, nil); r.Status != http.StatusUnauthorized {
					t.Fatalf("draft HEAD by the share owner's expired token: %d, want 401", r.Status)
				}
			}

			e.shift.Store(int64(5 * time.Hour)) // past the 3 h grace
			for _, m := range []string{http.MethodHead, http.MethodPatch, http.MethodDelete} {
				if r := draftRequest(t, e, m, other, auth, "6", 0); r.Status != http.StatusUnauthorized {
					t.Fatalf("draft %s past the grace: %d, want 401", m, r.Status)
				}
			}
			e.shift.Store(0)
			if tc.ownerTok == "" { // a guest may not download
				if r := doDraft(t, http.MethodGet, u, auth, "6", nil, nil); r.Status != 200 || r.Body != string(data) {
					t.Fatalf("GET with a live token: %d, %d bytes", r.Status, len(r.Body))
				}
			}
			if r := doDraft(t, http.MethodDelete, other, auth, "6", nil, nil); r.Status != http.StatusNoContent {
				t.Fatalf("draft DELETE with a live token: %d %q", r.Status, r.Body)
			}
		})
	}
}

// TestDraftCreationNotInterrupted: while a guest's draft creation streams
// its body (tusd holds the upload's lock from the 104 on), strangers are
// refused before tusd and the share owner is answered without the lock:
// HEAD in the draft form from the stored state, GET 423. The creation
// completes.
func TestDraftCreationNotInterrupted(t *testing.T) {
	e := newEnv(t, options{experimental: true})
	alice, guest := e.home(t, "alice"), e.guest(t, "alice", "trip")
	const size = 256 << 10
	data := testData(size)

	pr, pw := io.Pipe()
	located := make(chan string, 1)
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		if code == 104 {
			located <- h.Get("Location")
		}
		return nil
	}}
	ctx, cancel := context.WithTimeout(httptrace.WithClientTrace(context.Background(), trace), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL, pr)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = size
	req.Header.Set("Authorization", bearer(guest))
	req.Header.Set("Upload-Draft-Interop-Version", "6")
	req.Header.Set("Upload-Complete", "?1")
	type result struct {
		resp *http.Response
		err  error
	}
	res := make(chan result, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		res <- result{resp, err}
	}()
	if _, err := pw.Write(data[:size/4]); err != nil {
		t.Fatal(err)
	}
	var u string
	select {
	case u = <-located:
	case <-time.After(10 * time.Second):
		t.Fatal("no 104 within 10s of the creation's first bytes")
	}
	time.Sleep(200 * time.Millisecond) // tusd reads the body under the lock by now
	for _, auth := range []string{bearer(e.home(t, "bob")), "", bearer(e.guest(t, "alice", "other"))} {
		for _, m := range []string{http.MethodHead, http.MethodGet, http.MethodDelete} {
			if r := doDraft(t, m, u, auth, "6", nil, nil); r.Status != 404 && r.Status != 401 {
				t.Errorf("draft %s by a stranger during the creation: %d", m, r.Status)
			}
		}
	}
	r := doDraft(t, http.MethodHead, u, bearer(alice), "6", nil, nil)
	if r.Status != http.StatusNoContent || r.Header.Get("Upload-Complete") != "?0" || r.Header.Get("Upload-Length") != strconv.Itoa(size) {
		t.Errorf("owner's draft HEAD during the creation: %d, headers %v", r.Status, r.Header)
	}
	if r := doDraft(t, http.MethodGet, u, bearer(alice), "6", nil, nil); r.Status != http.StatusLocked {
		t.Errorf("owner's GET during the creation: %d %q, want 423", r.Status, r.Body)
	}
	time.Sleep(100 * time.Millisecond)
	if _, err := pw.Write(data[size/4:]); err != nil {
		t.Fatalf("the creation was interrupted: %v", err)
	}
	pw.Close()
	got := <-res
	if got.err != nil {
		t.Fatal(got.err)
	}
	io.Copy(io.Discard, got.resp.Body)
	got.resp.Body.Close()
	if got.resp.StatusCode != http.StatusCreated || got.resp.Header.Get("Upload-Offset") != strconv.Itoa(size) {
		t.Fatalf("creation ended with %d, offset %q; want 201 at %d", got.resp.StatusCode, got.resp.Header.Get("Upload-Offset"), size)
	}
	checkDraftHead(t, doDraft(t, http.MethodHead, u, bearer(alice), "6", nil, nil), "6", size, size)
	if r := doDraft(t, http.MethodGet, u, bearer(alice), "6", nil, nil); r.Status != 200 || r.Body != string(data) {
		t.Errorf("owner's GET after the creation: %d, %d bytes", r.Status, len(r.Body))
	}
}

// TestDraftExternalPreCreate: the external pre-create hook of a draft
// creation sees the metadata that is stored (the client's
// Upload-Metadata), as for tus 1.0, and its decision stands.
func TestDraftExternalPreCreate(t *testing.T) {
	hs := newHookServer(t)
	ext := &tushttp.HttpHook{Endpoint: hs.srv.URL, MaxRetries: 1, Backoff: 10 * time.Millisecond, Timeout: 10 * time.Second, SizeLimit: 64 << 10}
	e := newEnv(t, options{experimental: true, external: ext, events: []tushooks.HookType{tushooks.HookPreCreate}})
	alice := e.home(t, "alice")
	h := completeHeader(http.Header{"Upload-Length": {"5"}}, "6", false)
	h.Set("Upload-Metadata", tusclient.EncodeMetadata(map[string]string{"filename": "x.txt", "hook": "reject"}))
	before := snapshot(t, e.Dir)
	r := doDraft(t, http.MethodPost, e.URL, bearer(alice), "6", h, nil)
	if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "ERR_UPLOAD_REJECTED") {
		t.Fatalf("draft creation the hook rejects: %d %q", r.Status, r.Body)
	}
	if diff := diffSnapshots(before, snapshot(t, e.Dir)); len(diff) > 0 {
		t.Errorf("rejected creation wrote %v", diff)
	}
	h.Set("Upload-Metadata", tusclient.EncodeMetadata(map[string]string{"filename": "orig.txt", "hook": "change"}))
	r = doDraft(t, http.MethodPost, e.URL, bearer(alice), "6", h, nil)
	if r.Status != http.StatusCreated {
		t.Fatalf("draft creation the hook changes: %d %q", r.Status, r.Body)
	}
	id := e.id(t, r.Header.Get("Location"))
	fi, err := e.Store.Peek(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(id, "home/alice/") || fi.MetaData["filename"] != "renamed.txt" {
		t.Errorf("id %q, stored metadata %v; want home/alice/ and the hook's file name", id, fi.MetaData)
	}
	pre := hs.find("pre-create", id)
	if len(pre) != 1 || pre[0].Event.Upload.MetaData["filename"] != "orig.txt" {
		t.Errorf("pre-create calls %+v", pre)
	}
}

// TestDraftBrokenCreations: tusd answers a draft creation whose
// Content-Type or Content-Disposition mime.ParseMediaType cannot read
// with 500 and the parser's error text, and creates an incomplete upload
// whose first bytes are longer than its Upload-Length before it refuses
// it; the policy refuses both first (400, 413), creating nothing.
func TestDraftBrokenCreations(t *testing.T) {
	e := newEnv(t, options{experimental: true})
	alice := e.home(t, "alice")
	for _, tc := range []struct {
		v, name, value string
		complete       bool
		status         int
		code           string
	}{
		{"6", "Content-Disposition", `"`, true, 400, "ERR_INVALID_CONTENT_DISPOSITION"},
		{"6", "Content-Disposition", "attachment; filename", true, 400, "ERR_INVALID_CONTENT_DISPOSITION"},
		{"6", "Content-Type", "/", true, 400, "ERR_INVALID_CONTENT_TYPE"},
		{"6", "Content-Type", "text/plain; =x", true, 400, "ERR_INVALID_CONTENT_TYPE"},
		{"6", "Upload-Length", "5", false, 413, "ERR_UPLOAD_SIZE_EXCEEDED"},
		{"3", "Upload-Length", "0", false, 413, "ERR_UPLOAD_SIZE_EXCEEDED"},
		// tusd's own answer, before it creates anything.
		{"6", "Upload-Length", "5", true, 400, "ERR_INVALID_UPLOAD_LENGTH"},
	} {
		t.Run(tc.v+" "+tc.name+" "+tc.value, func(t *testing.T) {
			before := snapshot(t, e.Dir)
			h := completeHeader(http.Header{tc.name: {tc.value}}, tc.v, tc.complete)
			r := doDraft(t, http.MethodPost, e.URL, bearer(alice), tc.v, h, []byte("0123456789"))
			if r.Status != tc.status || !strings.HasPrefix(r.Body, tc.code+": ") {
				t.Errorf("%d %q, want %d %s", r.Status, r.Body, tc.status, tc.code)
			}
			checkDraftRefusal(t, http.MethodPost, r)
			if d := diffSnapshots(before, snapshot(t, e.Dir)); len(d) > 0 {
				t.Errorf("stored files changed: %v", d)
			}
		})
	}
}
