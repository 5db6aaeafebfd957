package browser

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/sync/errgroup"

	"github.com/tusvault/tusvault/internal/tusclient"
)

const (
	MiB = 1 << 20
	// The home test: a 40 MiB file through the proxy at 4 MiB/s, cut for
	// 3 s once 12 MiB went through.
	homeSize = 40 * MiB
	homeRate = 4 * MiB
	cutAfter = 12 * MiB
	cutFor   = 3 * time.Second
	// The reload and close tests: 16 MiB at 4 MiB/s, interrupted at 30 %.
	resumeSize = 16 * MiB
	resumeRate = 4 * MiB
	uploadTime = 90 * time.Second // for one upload in the page
)

// TestPage runs every scenario on the embedded default and on S3.
func TestPage(t *testing.T) {
	tl := requireBrowser(t)
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s := b.start(t)
			art := artifactsDir(b.name)
			readme := ""
			if b.name == "disk" {
				readme = os.Getenv("TUSVAULT_SCREENSHOTS")
			}
			t.Logf("screenshots of %s: %s", b.name, art)
			sc := scenarios{t: t, tl: tl, s: s, artifacts: art, readme: readme}
			t.Run("home", sc.home)
			t.Run("reload", func(t *testing.T) { sc.resume(t, "reload", "ben") })
			t.Run("close", func(t *testing.T) { sc.resume(t, "close", "cai") })
			t.Run("guest", sc.guest)
			if b.name == "disk" {
				// What the page says of expired, invalid and missing links
				// comes from the token alone: once is enough.
				t.Run("expired", sc.expired)
			}
			t.Run("list", sc.list)
		})
	}
}

type scenarios struct {
	t         *testing.T
	tl        tools
	s         *server
	artifacts string
	readme    string
}

func (sc scenarios) config(p *proxy, extra map[string]any) map[string]any {
	cfg := map[string]any{"base": "http://" + p.Addr(), "artifacts": sc.artifacts, "readme": sc.readme,
		"uploadTimeoutMs": uploadTime.Milliseconds()}
	for k, v := range extra {
		cfg[k] = v
	}
	return cfg
}

// home: a 40 MiB file uploads through the proxy, which drops every
// connection once 12 MiB went through and refuses new ones for 3 s;
// the upload completes in PATCHes that never start from 0 again, and
// the page's download link gives the file's bytes.
func (sc scenarios) home(t *testing.T) {
	s := sc.s
	data := randomBytes(homeSize)
	file := writeFile(t, t.TempDir(), "holiday-video.mp4", data)
	p := startProxy(t, s.Addr, homeRate)
	cut := make(chan time.Time, 1)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		deadline := time.After(nodeTimeout)
		for {
			select {
			case <-stop:
				return
			case <-deadline:
				return
			case <-tick.C:
				if p.up.Load() >= cutAfter {
					p.Drop(cutFor)
					cut <- time.Now()
					return
				}
			}
		}
	}()
	events := runScenario(t, sc.tl, "home.mjs", sc.config(p, map[string]any{
		"token": s.home("ana"), "account": "ana", "file": file,
	}), nil)
	var cutAt time.Time
	select {
	case cutAt = <-cut:
	default:
		t.Fatal("the upload finished before the proxy was cut")
	}
	res := find(t, events, "result")
	id := idOf(t, res.URL)
	ps := s.checkPatches(t, id, homeSize, 2)
	if n := p.refused.Load(); n == 0 {
		t.Error("no connection was refused while the proxy was cut: the page did not retry during the outage")
	}
	t.Logf("cut at %s after %d MiB; %d connections refused meanwhile; PATCHes %+v", cutAt.Format("15:04:05.000"), cutAfter/MiB, p.refused.Load(), ps)

	status, body := s.get(t, res.Download, "")
	want := sha256.Sum256(data)
	if got := sha256.Sum256(body); status != http.StatusOK || got != want {
		t.Errorf("the page's download link %s: %d, %d bytes, sha256 %x; want 200, %d bytes, %x", res.Download, status, len(body), got, homeSize, want)
	}
}

// resume: a reload (mode "reload") or a closed tab reopened from the
// link ("close") mid-upload; the same upload goes on from where the
// server stopped.
func (sc scenarios) resume(t *testing.T, mode, account string) {
	s := sc.s
	data := randomBytes(resumeSize)
	file := writeFile(t, t.TempDir(), "scan-"+mode+".pdf", data)
	p := startProxy(t, s.Addr, resumeRate)
	tok := s.home(account)
	events := runScenario(t, sc.tl, "resume.mjs", sc.config(p, map[string]any{
		"token": tok, "file": file, "mode": mode, "fraction": 0.3,
	}), nil)
	res := find(t, events, "result")
	id := idOf(t, res.URL)
	ps := s.checkPatches(t, id, resumeSize, 2)
	t.Logf("%s: PATCHes %+v", mode, ps)
	if ups := s.uploads(t, tok); len(ups) != 1 || ups[0].ID != id || !ups[0].Finished {
		t.Errorf("uploads of %s: %+v; want the one upload %s, finished", account, ups, id)
	}
	status, body := s.get(t, "/files/"+id, tok)
	if status != http.StatusOK || !bytes.Equal(body, data) {
		t.Errorf("GET %s: %d, %d bytes; want 200 and the file's %d bytes", id, status, len(body), len(data))
	}
}

// guest: the share's limits, refusals in words, a valid upload, nothing
// to download.
func (sc scenarios) guest(t *testing.T) {
	s := sc.s
	dir := t.TempDir()
	ok := randomBytes(MiB)
	cfg := map[string]any{
		"token": s.mint(jwt.MapClaims{"kind": "guest", "owner": "cleo", "share": "trip", "exp": time.Now().Add(48 * time.Hour).Unix(),
			"max_size": 8 * MiB, "max_files": 3, "types": []string{"image/*", "application/pdf"}}),
		"owner":             "cleo",
		"limitTexts":        []string{"From cleo", "Share trip", "Largest file 8 MB", "Kinds of file Images and PDF files", "Files left 3 files"},
		"ok":                writeFile(t, dir, "photo.jpg", ok),
		"large":             writeFile(t, dir, "holiday.jpg", randomBytes(9*MiB)),
		"largeSentence":     "holiday.jpg is too large: this link accepts files up to 8 MB.",
		"wrongType":         writeFile(t, dir, "notes.txt", []byte("not an image\n")),
		"wrongTypeSentence": "notes.txt is not a kind of file this link accepts: it accepts images and PDF files.",
		"many":              []string{writeFile(t, dir, "a.jpg", randomBytes(10)), writeFile(t, dir, "b.jpg", randomBytes(11)), writeFile(t, dir, "c.jpg", randomBytes(12))},
		"manySentence":      "Too many files: this link accepts 2 more files.",
		"leftAfter":         "Files left 2 files",
	}
	p := startProxy(t, s.Addr, homeRate)
	events := runScenario(t, sc.tl, "guest.mjs", sc.config(p, cfg), nil)
	res := find(t, events, "result")
	id := idOf(t, res.URL)
	// The owner sees the upload in the share; the guest may not read it.
	owner := s.home("cleo")
	ups := s.uploads(t, owner)
	if len(ups) != 1 || ups[0].ID != id || ups[0].Route != "guest" || ups[0].Share != "trip" || ups[0].Name != "photo.jpg" || !ups[0].Finished {
		t.Errorf("the owner's uploads: %+v; want photo.jpg in the share trip, finished", ups)
	}
	if status, _ := s.get(t, "/files/"+id, cfg["token"].(string)); status != http.StatusForbidden {
		t.Errorf("GET of the guest's upload with the guest token: %d, want 403", status)
	}
	if status, body := s.get(t, "/files/"+id, owner); status != http.StatusOK || !bytes.Equal(body, ok) {
		t.Errorf("GET of the guest's upload by the owner: %d, %d bytes", status, len(body))
	}
}

// expired: links expired past the resume grace, within it, not valid,
// missing: each says so in words.
func (sc scenarios) expired(t *testing.T) {
	s := sc.s
	now := time.Now()
	states := []map[string]any{
		{"name": "expired", "readme": true, "dashboard": false,
			"token": s.mint(jwt.MapClaims{"kind": "guest", "owner": "cleo", "share": "trip", "iat": now.Add(-50 * time.Hour).Unix(), "exp": now.Add(-25 * time.Hour).Unix()}),
			"says":  []string{"This upload link has expired. Ask the person who sent it for a new one."}},
		{"name": "expired-in-grace", "dashboard": false,
			"token": s.mint(jwt.MapClaims{"sub": "dan", "iat": now.Add(-2 * time.Hour).Unix(), "exp": now.Add(-time.Hour).Unix()}),
			"says":  []string{"This upload link has expired.", "Uploads you had already started with it can still finish until"}},
		{"name": "invalid", "dashboard": false, "token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ4In0.bad",
			"says": []string{"This upload link is not valid"}},
		{"name": "missing", "dashboard": false, "says": []string{"This page needs an upload link."}},
	}
	p := startProxy(t, s.Addr, homeRate)
	runScenario(t, sc.tl, "expired.mjs", sc.config(p, map[string]any{"states": states}), nil)
}

// list: 23 finished uploads, a page of 20 and "Load more"; a name that
// looks like HTML is shown as text.
func (sc scenarios) list(t *testing.T) {
	s := sc.s
	tok := s.home("eve")
	c := tusclient.Client{Header: http.Header{"Authorization": {"Bearer " + tok}}}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	const total = 23
	hostile := `<img src=x onerror="document.title='pwned'">.txt`
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for i := range total {
		name := fmt.Sprintf("report-%02d.txt", i)
		if i == 7 {
			name = hostile
		}
		g.Go(func() error {
			data := []byte(fmt.Sprintf("upload %d\n", i))
			u, err := c.Create(gctx, s.Endpoint, int64(len(data)), map[string]string{"filename": name, "filetype": "text/plain"})
			if err == nil {
				err = c.Upload(gctx, u, data, nil)
			}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	p := startProxy(t, s.Addr, homeRate)
	runScenario(t, sc.tl, "list.mjs", sc.config(p, map[string]any{"token": tok, "total": total, "hostileName": hostile}), nil)
}

// TestTokenRefresh: with -web-token-refresh-url on another origin, the
// page refreshes a token that nears its expiry (POST, the current token
// as bearer, the host's cookie, CORS) and uploads with the fresh one.
// The fresh token names another account only so that the upload's id
// tells which token created it.
func TestTokenRefresh(t *testing.T) {
	tl := requireBrowser(t)
	var (
		mu    sync.Mutex
		calls []string
	)
	var fresh string // set before the page runs
	const cookie = "c00kie"
	host := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		w.Header().Set("Access-Control-Allow-Origin", origin)
		w.Header().Set("Access-Control-Allow-Credentials", "true")
		w.Header().Set("Vary", "Origin")
		if r.Method == http.MethodOptions {
			w.Header().Set("Access-Control-Allow-Methods", "POST")
			w.Header().Set("Access-Control-Allow-Headers", "Authorization")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		c, _ := r.Cookie("host_session")
		mu.Lock()
		calls = append(calls, fmt.Sprintf("%s %s cookie=%v", r.Method, r.Header.Get("Authorization"), c != nil && c.Value == cookie))
		mu.Unlock()
		if r.Method != http.MethodPost || r.URL.Path != "/refresh" {
			http.Error(w, "no", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"token": %q}`, fresh)
	}))
	defer host.Close()

	dir := filepath.Join(t.TempDir(), "data")
	s := startServer(t, filepath.Join(dir, "auth.secret"), nil, "-upload-dir", dir, "-web-token-refresh-url", host.URL+"/refresh")
	old := s.mint(jwt.MapClaims{"sub": "fay", "exp": time.Now().Add(35 * time.Second).Unix()})
	p := startProxy(t, s.Addr, homeRate)
	sc := scenarios{t: t, tl: tl, s: s, artifacts: artifactsDir("refresh")}
	file := writeFile(t, t.TempDir(), "minutes.pdf", randomBytes(MiB))
	fresh = s.home("fay-refreshed")
	events := runScenario(t, tl, "refresh.mjs", sc.config(p, map[string]any{
		"token": old, "fresh": fresh, "file": file, "refreshOrigin": host.URL, "cookie": cookie,
	}), nil)
	res := find(t, events, "result")
	if id := idOf(t, res.URL); !strings.HasPrefix(id, "home/fay-refreshed/") {
		t.Errorf("the upload %s was not created with the fresh token", id)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(calls) == 0 || calls[0] != "POST Bearer "+old+" cookie=true" {
		t.Errorf("refresh calls %q; want a POST with the current token and the host's cookie", calls)
	}
}
