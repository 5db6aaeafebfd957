package hooks_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
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
)

const (
	testIssuer   = "tusvault-test"
	testAudience = "tusvault"
	mib          = 1 << 20
)

// options of a test stack; the zero value is auth mode with an HS256
// secret, no limits and no external hooks, over a fresh disk directory.
type options struct {
	open              bool
	grace             time.Duration
	homeMax, guestMax int64
	external          tushooks.HookHandler
	events            []tushooks.HookType
	progress          time.Duration
	cors              *handler.CorsConfig
	// dir is the disk backend's directory (default: a new temp dir).
	dir string
	// backend replaces the disk backend; storageType and bucket go to the
	// store config with it.
	backend             store.Backend
	storageType, bucket string
	// edPriv/edPub switch tokens to EdDSA.
	edPriv crypto.Signer
	edPub  crypto.PublicKey
	// logger is the policy's (default: discard).
	logger *slog.Logger
	// noLinks leaves the policy without a download-link key.
	noLinks bool
	// experimental turns on tusd's EnableExperimentalProtocol (the IETF
	// draft) in tusd and the policy; maxSize is tusd's MaxSize.
	experimental bool
	maxSize      int64
}

// env is the stack cmd builds, served on loopback:
// StripPrefix → Policy.Middleware → tusd (with hooks).
type env struct {
	URL     string // …/files/
	Dir     string // disk backend root ("" with another backend)
	Store   *store.Store
	Policy  *hooks.Policy
	Signer  *hooks.Signer
	Secret  []byte
	Keyring *crypt.Keyring
	// shift moves the clock of the verifier and the policy forward
	// (nanoseconds).
	shift *atomic.Int64
}

// now is the test stack's clock: the real one moved by shift.
func (e *env) now() time.Time { return time.Now().Add(time.Duration(e.shift.Load())) }

func newEnv(t *testing.T, o options) *env {
	t.Helper()
	e := &env{shift: new(atomic.Int64)}
	b := o.backend
	if b == nil {
		e.Dir = o.dir
		if e.Dir == "" {
			e.Dir = t.TempDir()
		}
		var err error
		if b, err = disk.New(e.Dir); err != nil {
			t.Fatal(err)
		}
	}
	kr, err := crypt.NewKeyring()
	if err != nil {
		t.Fatal(err)
	}
	e.Keyring = kr
	// As cmd does: uploads the store completes on its own go to the hook
	// handler, built after the store.
	var hooksOf atomic.Pointer[hooks.Hooks]
	st, err := store.New(store.Config{
		Backend: b, Keyring: kr, PartSize: 5 * mib, SpoolDir: t.TempDir(),
		StorageType: o.storageType, Bucket: o.bucket,
		OnComplete: func(ctx context.Context, fi handler.FileInfo) {
			if h := hooksOf.Load(); h != nil {
				h.Completed(ctx, fi)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	e.Store = st

	var v *hooks.Verifier
	if !o.open {
		ac := hooks.AuthConfig{
			Issuer: testIssuer, Audience: testAudience, ResumeGrace: o.grace,
			Now: e.now,
		}
		if o.edPriv != nil {
			ac.PublicKey = o.edPub
			e.Signer = mustSigner(t, nil, o.edPriv, testAudience)
		} else {
			e.Secret = randomBytes(t, 32)
			ac.Secret = e.Secret
			e.Signer = mustSigner(t, e.Secret, nil, testAudience)
		}
		if v, err = hooks.NewVerifier(ac); err != nil {
			t.Fatal(err)
		}
	}
	logger := o.logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	linkKey, err := st.LinkKey()
	if err != nil {
		t.Fatal(err)
	}
	if o.noLinks {
		linkKey = nil
	}
	p, err := hooks.New(hooks.Config{
		Auth: v, HomeMaxSize: o.homeMax, GuestMaxSize: o.guestMax, Uploads: st, Cors: o.cors,
		Logger: logger, LinkKey: linkKey, Now: e.now,
		EnableExperimentalProtocol: o.experimental, MaxSize: o.maxSize,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.Policy = p

	composer := handler.NewStoreComposer()
	st.UseIn(composer)
	hh, events := p.HookHandler(o.external, o.events, st)
	hooksOf.Store(hh)
	h, err := tushooks.NewHandlerWithHooks(&handler.Config{
		BasePath: "/files/", StoreComposer: composer, DisableConcatenation: true,
		UploadProgressInterval: o.progress, Cors: o.cors,
		EnableExperimentalProtocol: o.experimental, MaxSize: o.maxSize,
		Logger: xslog.New(xslog.NewTextHandler(io.Discard, nil)),
	}, hh, events)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/files/", http.StripPrefix("/files/", p.Middleware(h)))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	e.URL = srv.URL + "/files/"
	return e
}

func mustSigner(t *testing.T, secret []byte, key crypto.Signer, audience string) *hooks.Signer {
	t.Helper()
	s, err := hooks.NewSigner(secret, key, testIssuer, audience)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func mint(t *testing.T, s *hooks.Signer, c hooks.Claims, ttl time.Duration) string {
	t.Helper()
	tok, err := s.Mint(c, ttl)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// home and guest mint live tokens (valid for an hour).
func (e *env) home(t *testing.T, sub string) string {
	return mint(t, e.Signer, hooks.Claims{Kind: hooks.KindHome, Subject: sub}, time.Hour)
}

func (e *env) guest(t *testing.T, owner, share string) string {
	return mint(t, e.Signer, hooks.Claims{Kind: hooks.KindGuest, Owner: owner, Share: share}, time.Hour)
}

// handToken builds a JWT by hand: alg "HS256" with key, or "none".
func handToken(alg string, key []byte, claims map[string]any) string {
	enc := base64.RawURLEncoding
	header, _ := json.Marshal(map[string]string{"alg": alg, "typ": "JWT"})
	payload, _ := json.Marshal(claims)
	signing := enc.EncodeToString(header) + "." + enc.EncodeToString(payload)
	sig := ""
	if alg == "HS256" {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(signing))
		sig = enc.EncodeToString(m.Sum(nil))
	}
	return signing + "." + sig
}

// client returns a tus client sending the Authorization header value auth
// ("" for none).
func client(auth string) *tusclient.Client {
	c := &tusclient.Client{Header: http.Header{}}
	if auth != "" {
		c.Header.Set("Authorization", auth)
	}
	return c
}

func bearer(tok string) string { return "Bearer " + tok }

// create creates an upload and returns its URL; it fails the test unless
// the server answers 201.
func (e *env) create(t *testing.T, tok string, size int64, meta map[string]string) string {
	t.Helper()
	u, err := client(bearer(tok)).Create(context.Background(), e.URL, size, meta)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// upload creates an upload and sends all of data.
func (e *env) upload(t *testing.T, tok string, data []byte, meta map[string]string) string {
	t.Helper()
	u := e.create(t, tok, int64(len(data)), meta)
	if err := client(bearer(tok)).Upload(context.Background(), u, data, nil); err != nil {
		t.Fatal(err)
	}
	return u
}

// id is the upload id of an upload URL of e.
func (e *env) id(t *testing.T, u string) string {
	t.Helper()
	id, ok := strings.CutPrefix(u, e.URL)
	if !ok {
		t.Fatalf("upload URL %q is not under %q", u, e.URL)
	}
	return id
}

// response is what a raw request got.
type response struct {
	Status int
	Header http.Header
	Body   string
}

// do sends one request with the Authorization header value auth.
func do(t *testing.T, method, target, auth string, header http.Header, body []byte) response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, target, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Tus-Resumable", "1.0.0")
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
	return response{resp.StatusCode, resp.Header, string(b)}
}

// tusRequest sends the tus request of the given kind: POST creates a
// 10-byte upload at the endpoint; PATCH sends 10 bytes at offset.
func tusRequest(t *testing.T, e *env, method, u, auth string, offset int64) response {
	t.Helper()
	h := http.Header{}
	switch method {
	case http.MethodPost:
		h.Set("Upload-Length", "10")
		return do(t, method, e.URL, auth, h, nil)
	case http.MethodPatch:
		h.Set("Content-Type", tusclient.ContentTypeOffset)
		h.Set("Upload-Offset", strconv.FormatInt(offset, 10))
		return do(t, method, u, auth, h, bytes.Repeat([]byte("p"), 10))
	}
	return do(t, method, u, auth, h, nil)
}

// snapshot hashes every file under dir (the disk backend's root: objects,
// .info, tails, multipart parts, metadata sidecars).
func snapshot(t *testing.T, dir string) map[string][32]byte {
	t.Helper()
	snap := map[string][32]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		snap[filepath.ToSlash(rel)] = sha256.Sum256(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// diffSnapshots lists the files that differ between two snapshots.
func diffSnapshots(a, b map[string][32]byte) []string {
	var diff []string
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			diff = append(diff, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			diff = append(diff, k+" (new)")
		}
	}
	sort.Strings(diff)
	return diff
}

// infoFiles lists the .info files under dir/prefix, relative to dir.
func infoFiles(t *testing.T, dir, prefix string) []string {
	t.Helper()
	var out []string
	for k := range snapshot(t, dir) {
		if strings.HasPrefix(k, prefix) && strings.HasSuffix(k, ".info") && !strings.HasPrefix(k, ".tusvault/") {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// readInfo decodes an upload's .info from the disk backend.
type infoDoc struct {
	ID      string
	Size    int64
	Storage map[string]string
	Enc     struct{ Tag []byte }
}

func readInfo(t *testing.T, path string) infoDoc {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var d infoDoc
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

func testData(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*31 + i/7)
	}
	return b
}
