package hostile

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/tus/tusd/v2/pkg/handler"
	tushooks "github.com/tus/tusd/v2/pkg/hooks"
	xslog "golang.org/x/exp/slog"

	"github.com/tusvault/tusvault/hooks"
	"github.com/tusvault/tusvault/store"
	"github.com/tusvault/tusvault/store/crypt"
	"github.com/tusvault/tusvault/store/disk"
	"github.com/tusvault/tusvault/store/lock"
	"github.com/tusvault/tusvault/web/api"
)

const (
	basePath = "/files/"
	testHost = "tusvault.test"
	issuer   = "tusvault-hostile"
	audience = "tusvault"
	partSize = 5 << 20
	// clockShift moves the server's clock ahead of the signer's, so that
	// a token minted for a minute is expired, within the resume grace.
	clockShift = 10 * time.Minute
	// bodyLimit bounds the answer bodies kept.
	bodyLimit = 64 << 10
)

// The tokens a request picks from (request.Auth).
const (
	tokNone       = iota
	tokAlice      // live home token of alice
	tokBob        // live home token of bob
	tokGuest      // live guest token of the share alice/trip
	tokOtherShare // live guest token of the share alice/other
	tokAliceGrace // alice, expired less than the resume grace ago
	tokAlicePast  // alice, expired longer than the resume grace ago
	tokGuestGrace // alice/trip, expired less than the resume grace ago
	tokForged     // alice's claims signed with another secret
	tokGarbage    // "Bearer" and something that is no JWT
	tokBasic      // Basic credentials
	numTokens
)

// The fixture uploads, by the name requests use in placeholders ({A}).
const (
	upPartial  = "A"  // alice, 100 bytes, 40 stored (tail only)
	upFinished = "F"  // alice, 50 bytes, complete
	upPart     = "P"  // alice, 6 MiB, one part and a tail stored
	upDeferred = "D"  // alice, deferred length, 10 bytes stored
	upEmpty    = "E"  // alice, 0 bytes, complete at creation
	upGuest    = "G"  // alice/trip guest, 100 bytes, 30 stored
	upGuestFin = "GF" // alice/trip guest, 20 bytes, complete
	upBob      = "B"  // bob, 100 bytes, 10 stored
)

var fixtureNames = []string{upPartial, upFinished, upPart, upDeferred, upEmpty, upGuest, upGuestFin, upBob}

// stack is the handler chain of cmd/tusvault with its fixture uploads,
// and the stored files as they were once the fixture was made. It differs
// from the binary's default in serving the IETF draft form too (more to
// throw input at) and in its short waits (lock polls, tusd's graceful
// completion), so that nothing a request leaves behind takes long to end.
type stack struct {
	dir, spool string
	mux        *http.ServeMux
	policy     *hooks.Policy
	auth       [numTokens]string // Authorization values ("" for none)
	raw        [numTokens]string // the tokens themselves
	ids        map[string]string // fixture name → upload id
	links      map[string]string // fixture name → download link value
	unknown    string            // an id of alice's that does not exist
	repl       *strings.Replacer // placeholders → values
	// template holds every stored file (lock files aside) of the fixture;
	// known are the stats of the files on disk whose content is the
	// template's.
	template map[string]templateFile
	dirs     map[string]bool
	known    map[string]fileStat
	mpids    map[string]string // fixture name → multipart id (or "")
}

type templateFile struct {
	data []byte
	sum  [32]byte
}

// newStack builds the chain over a fresh temp dir and stores the
// fixture through it.
func newStack(tb testing.TB) *stack {
	tb.Helper()
	s := &stack{
		dir: tb.TempDir(), spool: tb.TempDir(), repl: strings.NewReplacer(),
		ids: map[string]string{}, links: map[string]string{}, mpids: map[string]string{},
	}
	b, err := disk.New(s.dir)
	if err != nil {
		tb.Fatal(err)
	}
	kr, err := crypt.NewKeyring()
	if err != nil {
		tb.Fatal(err)
	}
	locker, err := lock.NewFile(filepath.Join(s.dir, ".tusvault", "locks"), 50*time.Millisecond, 20*time.Millisecond)
	if err != nil {
		tb.Fatal(err)
	}
	// A short-lived tail cache: a PATCH's cached tail (an open spool
	// file) is gone within the wait of the open-files check.
	st, err := store.New(store.Config{Backend: b, Keyring: kr, PartSize: partSize, SpoolDir: s.spool, Locker: locker,
		TailCacheTTL: 100 * time.Millisecond})
	if err != nil {
		tb.Fatal(err)
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	now := func() time.Time { return time.Now().Add(clockShift) }
	v, err := hooks.NewVerifier(hooks.AuthConfig{Secret: secret, Issuer: issuer, Audience: audience, Now: now})
	if err != nil {
		tb.Fatal(err)
	}
	linkKey, err := st.LinkKey()
	if err != nil {
		tb.Fatal(err)
	}
	cors := handler.DefaultCorsConfig
	p, err := hooks.New(hooks.Config{
		Auth: v, Uploads: st, Cors: &cors, LinkKey: linkKey, Now: now,
		Logger: slog.New(slog.DiscardHandler), EnableExperimentalProtocol: true,
	})
	if err != nil {
		tb.Fatal(err)
	}
	s.policy = p
	composer := handler.NewStoreComposer()
	st.UseIn(composer)
	hh, events := p.HookHandler(nil, nil, st)
	tus, err := tushooks.NewHandlerWithHooks(&handler.Config{
		BasePath: basePath, StoreComposer: composer, DisableConcatenation: true,
		Cors: &cors, EnableExperimentalProtocol: true,
		// The delayed contexts of tusd end this long after their request:
		// short, so that the goroutine checks need not wait long.
		GracefulRequestCompletionTimeout: 5 * time.Millisecond,
		AcquireLockTimeout:               time.Second,
		NetworkTimeout:                   5 * time.Second,
		Logger:                           xslog.New(xslog.NewTextHandler(io.Discard, nil)),
	}, hh, events)
	if err != nil {
		tb.Fatal(err)
	}
	// As cmd's newMux and registerPage.
	h := p.Middleware(tus)
	s.mux = http.NewServeMux()
	s.mux.Handle(basePath, http.StripPrefix(basePath, h))
	s.mux.Handle(strings.TrimSuffix(basePath, "/"), http.StripPrefix(strings.TrimSuffix(basePath, "/"), h))
	a, err := api.New(api.Config{Policy: p, Uploads: st, BasePath: basePath})
	if err != nil {
		tb.Fatal(err)
	}
	a.Register(s.mux)

	s.mintTokens(tb, secret)
	s.makeFixture(tb)
	return s
}

func (s *stack) mintTokens(tb testing.TB, secret []byte) {
	tb.Helper()
	signer, err := hooks.NewSigner(secret, nil, issuer, audience)
	if err != nil {
		tb.Fatal(err)
	}
	mint := func(c hooks.Claims, ttl time.Duration) string {
		tok, err := signer.Mint(c, ttl)
		if err != nil {
			tb.Fatal(err)
		}
		return tok
	}
	alice := hooks.Claims{Kind: hooks.KindHome, Subject: "alice"}
	trip := hooks.Claims{Kind: hooks.KindGuest, Owner: "alice", Share: "trip"}
	s.raw[tokAlice] = mint(alice, 24*time.Hour)
	s.raw[tokBob] = mint(hooks.Claims{Kind: hooks.KindHome, Subject: "bob"}, 24*time.Hour)
	s.raw[tokGuest] = mint(trip, 24*time.Hour)
	s.raw[tokOtherShare] = mint(hooks.Claims{Kind: hooks.KindGuest, Owner: "alice", Share: "other"}, 24*time.Hour)
	s.raw[tokAliceGrace] = mint(alice, time.Minute)
	s.raw[tokGuestGrace] = mint(trip, time.Minute)
	past := time.Now().Add(-72 * time.Hour)
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": "alice", "iss": issuer, "aud": audience, "iat": past.Unix(), "exp": past.Add(time.Hour).Unix(),
	}).SignedString(secret)
	if err != nil {
		tb.Fatal(err)
	}
	s.raw[tokAlicePast] = tok
	other := make([]byte, 32)
	rand.Read(other)
	forger, err := hooks.NewSigner(other, nil, issuer, audience)
	if err != nil {
		tb.Fatal(err)
	}
	if s.raw[tokForged], err = forger.Mint(alice, 24*time.Hour); err != nil {
		tb.Fatal(err)
	}
	for i, tok := range s.raw {
		if tok != "" {
			s.auth[i] = "Bearer " + tok
		}
	}
	s.raw[tokGarbage], s.auth[tokGarbage] = "not.a.jwt", "Bearer not.a.jwt"
	s.auth[tokBasic] = "Basic YWxpY2U6c2VjcmV0"
}

// makeFixture stores the fixture uploads through the stack and records
// the stored files as the template.
func (s *stack) makeFixture(tb testing.TB) {
	tb.Helper()
	meta := "filename aGVsbG8udHh0,filetype dGV4dC9wbGFpbg=="
	create := func(name string, tok int, length string, sent int) {
		h := []string{"Upload-Metadata: " + meta}
		if length == "" {
			h = append(h, "Upload-Defer-Length: 1")
		} else {
			h = append(h, "Upload-Length: "+length)
		}
		r := s.serve(tb, request{Method: http.MethodPost, Target: basePath, Auth: tok, Header: h})
		if r.Status != http.StatusCreated {
			tb.Fatalf("fixture %s: POST answered %d %q", name, r.Status, r.Body)
		}
		id, ok := strings.CutPrefix(r.Header.Get("Location"), "http://"+testHost+basePath)
		if !ok {
			tb.Fatalf("fixture %s: Location %q", name, r.Header.Get("Location"))
		}
		s.ids[name] = id
		if sent > 0 {
			r = s.serve(tb, request{Method: http.MethodPatch, Target: basePath + id, Auth: tok, Header: []string{
				"Content-Type: application/offset+octet-stream", "Upload-Offset: 0",
			}, Body: bytes.Repeat([]byte{'x'}, sent)})
			if r.Status != http.StatusNoContent {
				tb.Fatalf("fixture %s: PATCH answered %d %q", name, r.Status, r.Body)
			}
		}
	}
	create(upPartial, tokAlice, "100", 40)
	create(upFinished, tokAlice, "50", 50)
	create(upPart, tokAlice, strconv.Itoa(6<<20), 5<<20+10)
	create(upDeferred, tokAlice, "", 10)
	create(upEmpty, tokAlice, "0", 0)
	create(upGuest, tokGuest, "100", 30)
	create(upGuestFin, tokGuest, "20", 20)
	create(upBob, tokBob, "100", 10)

	alice, err := s.policy.Authenticate(context.Background(), s.auth[tokAlice])
	if err != nil {
		tb.Fatal(err)
	}
	for _, name := range []string{upFinished, upGuestFin, upPartial} {
		v, _, err := s.policy.DownloadLink(alice, s.ids[name])
		if err != nil {
			tb.Fatal(err)
		}
		s.links[name] = v
	}
	var rnd [16]byte
	rand.Read(rnd[:])
	s.unknown = fmt.Sprintf("home/alice/%x", rnd)

	pairs := []string{"{unknown}", s.unknown, "{rand}", fmt.Sprintf("%x", rnd)}
	for _, name := range fixtureNames {
		pairs = append(pairs, "{"+name+"}", s.ids[name])
		if rt, ok := s.policy.ParseID(s.ids[name]); ok {
			pairs = append(pairs, "{"+name+".rand}", rt.Rand)
		}
	}
	for name, v := range s.links {
		pairs = append(pairs, "{link:"+name+"}", v)
	}
	for i, tok := range s.raw {
		pairs = append(pairs, fmt.Sprintf("{tok:%d}", i), tok)
	}
	s.repl = strings.NewReplacer(pairs...)

	s.template, s.dirs = map[string]templateFile{}, map[string]bool{}
	known, err := scan(s.dir)
	if err != nil {
		tb.Fatal(err)
	}
	for rel := range known {
		b, err := os.ReadFile(filepath.Join(s.dir, rel))
		if err != nil {
			tb.Fatal(err)
		}
		s.template[rel] = templateFile{data: b, sum: sha256.Sum256(b)}
		for d := filepath.Dir(rel); d != "."; d = filepath.Dir(d) {
			s.dirs[d] = true
		}
	}
	s.known = known
	for _, name := range fixtureNames {
		s.mpids[name] = s.multipartID(tb, s.ids[name])
	}
	if n := len(s.spoolFiles()); n != 0 {
		tb.Fatalf("%d files left in the spool after the fixture", n)
	}
}

// multipartID reads the MultipartID of an upload's .info.
func (s *stack) multipartID(tb testing.TB, id string) string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(s.dir, filepath.FromSlash(id)+".info"))
	if err != nil {
		tb.Fatal(err)
	}
	var info struct{ MultipartID string }
	if err := json.Unmarshal(b, &info); err != nil {
		tb.Fatal(err)
	}
	return info.MultipartID
}

// request is one hostile request: Target is the request-target as sent
// on the wire and may hold placeholders ({A}, {link:F}, {tok:1}, …; see
// makeFixture), as may header values. Auth picks the Authorization
// header. Tus-Resumable: 1.0.0 is added unless Header sets it, and
// Content-Length unless Header sets it or asks for chunked encoding
// (Transfer-Encoding: chunked).
type request struct {
	Method string
	Target string
	Auth   int
	Header []string // "Name: value" lines
	Body   []byte
}

// response is what the stack answered.
type response struct {
	Status int
	Header http.Header
	Body   string
	// Parsed is the request as the server read it (nil when it could
	// not: then Status is net/http's 400).
	Parsed *http.Request
}

// wire renders r as an HTTP/1.1 request, placeholders replaced.
func (s *stack) wire(r request) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", r.Method, s.repl.Replace(r.Target), testHost)
	if v := s.auth[r.Auth%numTokens]; v != "" {
		b.WriteString("Authorization: " + v + "\r\n")
	}
	hasTus, hasLength, chunked := false, false, false
	for _, line := range r.Header {
		name, value, _ := strings.Cut(line, ":")
		switch http.CanonicalHeaderKey(strings.TrimSpace(name)) {
		case "Tus-Resumable":
			hasTus = true
		case "Content-Length":
			hasLength = true
		case "Transfer-Encoding":
			chunked = chunked || strings.Contains(strings.ToLower(value), "chunked")
		}
		b.WriteString(name + ":" + s.repl.Replace(value) + "\r\n")
	}
	if !hasTus {
		b.WriteString("Tus-Resumable: 1.0.0\r\n")
	}
	switch {
	case chunked:
		b.WriteString("\r\n")
		if len(r.Body) > 0 {
			fmt.Fprintf(&b, "%x\r\n%s\r\n", len(r.Body), r.Body)
		}
		b.WriteString("0\r\n\r\n")
		return b.Bytes()
	case !hasLength && (len(r.Body) > 0 || r.Method == http.MethodPost || r.Method == http.MethodPatch):
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(r.Body))
	}
	b.WriteString("\r\n")
	b.Write(r.Body)
	return b.Bytes()
}

// serve parses r as net/http's server would and serves it through the
// mux; a request it cannot parse is answered 400, as the server does.
// A panic fails the test.
func (s *stack) serve(tb testing.TB, r request) response {
	tb.Helper()
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(s.wire(r))))
	if err == nil {
		err = serverChecks(req)
	}
	if err != nil {
		return response{Status: http.StatusBadRequest, Header: http.Header{}, Body: "net/http: " + err.Error()}
	}
	req.RemoteAddr = "127.0.0.1:40000"
	// As net/http does, the request's context ends once it is served
	// (tusd's per-request goroutines wait for that).
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req = req.WithContext(ctx)
	rec := &recorder{ResponseRecorder: httptest.NewRecorder()}
	func() {
		defer func() {
			if v := recover(); v != nil {
				tb.Fatalf("panic serving %s %s: %v\n%s", req.Method, req.RequestURI, v, debug.Stack())
			}
		}()
		s.mux.ServeHTTP(rec, req)
	}()
	body := rec.Body.Bytes()
	if len(body) > bodyLimit {
		body = body[:bodyLimit]
	}
	return response{Status: rec.Code, Header: rec.Result().Header, Body: string(body), Parsed: req}
}

// recorder is httptest.ResponseRecorder keeping the final answer: an
// informational one (the 104 tusd sends on a draft creation) goes by, as
// net/http sends it before the final answer, and a flush before the final
// answer sends nothing.
type recorder struct {
	*httptest.ResponseRecorder
	final bool
}

func (r *recorder) WriteHeader(code int) {
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		return
	}
	r.final = true
	r.ResponseRecorder.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.final = true
	return r.ResponseRecorder.Write(b)
}

func (r *recorder) Flush() {
	if r.final {
		r.ResponseRecorder.Flush()
	}
}

// serverChecks are the checks net/http's server makes of a request
// besides parsing it (server.go, readRequest), answered 400.
func serverChecks(r *http.Request) error {
	if hosts := r.Header.Values("Host"); len(hosts) > 1 {
		return errors.New("too many Host headers")
	}
	for k, vs := range r.Header {
		if !validFieldName(k) {
			return fmt.Errorf("invalid header name %q", k)
		}
		for _, v := range vs {
			for i := 0; i < len(v); i++ {
				if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
					return fmt.Errorf("invalid header value for %q", k)
				}
			}
		}
	}
	return nil
}

func validFieldName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}
