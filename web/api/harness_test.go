package api_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tus/tusd/v2/pkg/handler"
	tushooks "github.com/tus/tusd/v2/pkg/hooks"
	xslog "golang.org/x/exp/slog"

	"github.com/tusvault/tusvault/hooks"
	"github.com/tusvault/tusvault/internal/tusclient"
	"github.com/tusvault/tusvault/store"
	"github.com/tusvault/tusvault/store/crypt"
	"github.com/tusvault/tusvault/store/disk"
	"github.com/tusvault/tusvault/web/api"
)

// options of a test stack; the zero value has tokens, no limits.
type options struct {
	open              bool
	grace             time.Duration
	homeMax, guestMax int64
	// edit changes the API's configuration.
	edit func(*api.Config)
}

// env is the stack cmd builds, on loopback: the API beside
// StripPrefix → Policy.Middleware → tusd, on one mux.
type env struct {
	URL    string // the server's root, without a trailing slash
	Store  *store.Store
	Policy *hooks.Policy
	Signer *hooks.Signer
	// shift moves the clock of the verifier and the policy (download
	// links) forward, in nanoseconds.
	shift *atomic.Int64
}

func (e *env) now() time.Time { return time.Now().Add(time.Duration(e.shift.Load())) }

func newEnv(t *testing.T, o options) *env {
	t.Helper()
	e := &env{shift: new(atomic.Int64)}
	b, err := disk.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	kr, err := crypt.NewKeyring()
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.New(store.Config{Backend: b, Keyring: kr, SpoolDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	e.Store = st
	var v *hooks.Verifier
	if !o.open {
		secret := make([]byte, 32)
		rand.Read(secret)
		if v, err = hooks.NewVerifier(hooks.AuthConfig{Secret: secret, ResumeGrace: o.grace, Now: e.now}); err != nil {
			t.Fatal(err)
		}
		if e.Signer, err = hooks.NewSigner(secret, nil, "", ""); err != nil {
			t.Fatal(err)
		}
	}
	key, err := st.LinkKey()
	if err != nil {
		t.Fatal(err)
	}
	p, err := hooks.New(hooks.Config{
		Auth: v, HomeMaxSize: o.homeMax, GuestMaxSize: o.guestMax, Uploads: st,
		LinkKey: key, Now: e.now,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.Policy = p
	composer := handler.NewStoreComposer()
	st.UseIn(composer)
	hh, events := p.HookHandler(nil, nil, st)
	tus, err := tusHandler(composer, hh, events)
	if err != nil {
		t.Fatal(err)
	}
	ac := api.Config{Policy: p, Uploads: st, BasePath: "/files/", Logger: slog.New(slog.DiscardHandler)}
	if o.edit != nil {
		o.edit(&ac)
	}
	a, err := api.New(ac)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/files/", http.StripPrefix("/files/", p.Middleware(tus)))
	a.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	e.URL = srv.URL
	return e
}

func tusHandler(composer *handler.StoreComposer, hh *hooks.Hooks, events []tushooks.HookType) (http.Handler, error) {
	return tushooks.NewHandlerWithHooks(&handler.Config{
		BasePath: "/files/", StoreComposer: composer, DisableConcatenation: true,
		Logger: xslog.New(xslog.NewTextHandler(io.Discard, nil)),
	}, hh, events)
}

func (e *env) mint(t *testing.T, c hooks.Claims, ttl time.Duration) string {
	t.Helper()
	tok, err := e.Signer.Mint(c, ttl)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func (e *env) home(t *testing.T, sub string) string {
	return e.mint(t, hooks.Claims{Kind: hooks.KindHome, Subject: sub}, time.Hour)
}

func (e *env) guest(t *testing.T, owner, share string) string {
	return e.mint(t, hooks.Claims{Kind: hooks.KindGuest, Owner: owner, Share: share}, time.Hour)
}

func client(tok string) *tusclient.Client {
	c := &tusclient.Client{Header: http.Header{}}
	if tok != "" {
		c.Header.Set("Authorization", "Bearer "+tok)
	}
	return c
}

// create creates an upload of size bytes (-1: deferred) and returns its
// URL.
func (e *env) create(t *testing.T, tok string, size int64, meta map[string]string) string {
	t.Helper()
	u, err := client(tok).Create(context.Background(), e.URL+"/files/", size, meta)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// upload creates an upload and sends all of data.
func (e *env) upload(t *testing.T, tok string, data []byte, meta map[string]string) string {
	t.Helper()
	u := e.create(t, tok, int64(len(data)), meta)
	if err := client(tok).Upload(context.Background(), u, data, nil); err != nil {
		t.Fatal(err)
	}
	return u
}

// idOf is the upload id of an upload URL.
func (e *env) idOf(u string) string { return strings.TrimPrefix(u, e.URL+"/files/") }

type response struct {
	Status int
	Header http.Header
	Body   string
}

// get sends method to path (or an absolute URL) with the bearer token
// tok ("" for none) and header.
func (e *env) get(t *testing.T, method, path, tok string, header http.Header) response {
	t.Helper()
	target := path
	if strings.HasPrefix(path, "/") {
		target = e.URL + path
	}
	req, err := http.NewRequest(method, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, string(b)}
}

// getJSON GETs path with tok, requires 200 and decodes the body into v.
func (e *env) getJSON(t *testing.T, path, tok string, v any) response {
	t.Helper()
	r := e.get(t, http.MethodGet, path, tok, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("GET %s: %d %q", path, r.Status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("GET %s: Content-Type %q", path, ct)
	}
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("GET %s: Cache-Control %q", path, cc)
	}
	dec := json.NewDecoder(strings.NewReader(r.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("GET %s: %v in %s", path, err, r.Body)
	}
	return r
}

// wantError requires a tus-style refusal: status and "CODE: " body.
func wantError(t *testing.T, what string, r response, status int, code string) {
	t.Helper()
	if r.Status != status || !strings.HasPrefix(r.Body, code+": ") {
		t.Errorf("%s: %d %q, want %d %s", what, r.Status, r.Body, status, code)
	}
	if status == http.StatusUnauthorized && !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("%s: 401 without a Bearer challenge: %v", what, r.Header)
	}
}
