package api_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/tusvault/tusvault/hooks"
	"github.com/tusvault/tusvault/web/api"
)

// sessionDoc is the session answer as a client decodes it; pointers tell
// null from zero.
type sessionDoc struct {
	Kind    string  `json:"kind"`
	Account string  `json:"account"`
	Owner   string  `json:"owner"`
	Share   string  `json:"share"`
	Expires *string `json:"expires"`
	Expired bool    `json:"expired"`
	Limits  struct {
		MaxSize  int64    `json:"max_size"`
		Types    []string `json:"types"`
		MaxFiles int      `json:"max_files"`
	} `json:"limits"`
	FilesLeft       *int    `json:"files_left"`
	Endpoint        string  `json:"endpoint"`
	ChunkSize       int64   `json:"chunk_size"`
	RetryDelaysMs   []int64 `json:"retry_delays_ms"`
	TokenRefreshURL *string `json:"token_refresh_url"`
	ResumeGraceS    int64   `json:"resume_grace_s"`
}

func TestSessionHome(t *testing.T) {
	e := newEnv(t, options{grace: 3 * time.Hour, homeMax: 5000, edit: func(c *api.Config) {
		c.MaxSize, c.ChunkSize = 4000, 50<<20
		c.RetryDelays = []time.Duration{0, 1500 * time.Millisecond, time.Minute}
		c.TokenRefreshURL = "/app/token"
	}})
	tok := e.mint(t, hooks.Claims{Kind: hooks.KindHome, Subject: "alice@example.com", MaxSize: 4500}, time.Hour)
	var s sessionDoc
	r := e.getJSON(t, api.SessionPath, tok, &s)
	exp, err := time.Parse(time.RFC3339, deref(s.Expires))
	if err != nil || time.Until(exp) < 59*time.Minute || time.Until(exp) > time.Hour {
		t.Errorf("expires %v (%v)", deref(s.Expires), err)
	}
	if s.Kind != "home" || s.Account != "alice@example.com" || s.Owner != "" || s.Share != "" || s.Expired {
		t.Errorf("who: %+v", s)
	}
	// The smallest of -max-size, -home-max-size and the token's max_size.
	if s.Limits.MaxSize != 4000 || s.Limits.Types == nil || len(s.Limits.Types) != 0 || s.Limits.MaxFiles != 0 || s.FilesLeft != nil {
		t.Errorf("limits %+v, files left %v in %s", s.Limits, s.FilesLeft, r.Body)
	}
	if s.Endpoint != "/files/" || s.ChunkSize != 50<<20 || !slices.Equal(s.RetryDelaysMs, []int64{0, 1500, 60000}) ||
		deref(s.TokenRefreshURL) != "/app/token" || s.ResumeGraceS != 3*3600 {
		t.Errorf("settings %+v", s)
	}
	for k, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"} {
		if got := r.Header.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}

	// No exp: expires is null. Defaults: retry delays, no chunking.
	e2 := newEnv(t, options{})
	s = sessionDoc{}
	e2.getJSON(t, api.SessionPath, e2.mint(t, hooks.Claims{Kind: hooks.KindHome, Subject: "bob"}, 0), &s)
	if s.Expires != nil || s.Limits.MaxSize != 0 || s.ChunkSize != 0 || len(s.RetryDelaysMs) != len(api.DefaultRetryDelays) ||
		s.TokenRefreshURL == nil || *s.TokenRefreshURL != "" || s.ResumeGraceS != int64(hooks.DefaultResumeGrace/time.Second) {
		t.Errorf("defaults: %+v", s)
	}
}

// A guest with limits: files_left falls as uploads are created, counted as
// the creation check counts them.
func TestSessionGuest(t *testing.T) {
	e := newEnv(t, options{guestMax: 1 << 20})
	tok := e.mint(t, hooks.Claims{Kind: hooks.KindGuest, Owner: "alice", Share: "trip 2026", MaxFiles: 3, MaxSize: 2 << 20, Types: []string{"image/*", "application/pdf"}}, time.Hour)
	for want := 3; want >= 0; want-- {
		var s sessionDoc
		e.getJSON(t, api.SessionPath, tok, &s)
		if s.Kind != "guest" || s.Owner != "alice" || s.Share != "trip 2026" || s.Account != "" || s.Expires == nil {
			t.Fatalf("who: %+v", s)
		}
		if s.Limits.MaxSize != 1<<20 || !slices.Equal(s.Limits.Types, []string{"image/*", "application/pdf"}) || s.Limits.MaxFiles != 3 {
			t.Fatalf("limits %+v", s.Limits)
		}
		if s.FilesLeft == nil || *s.FilesLeft != want {
			t.Fatalf("files_left %v, want %d", s.FilesLeft, want)
		}
		if want > 0 {
			e.create(t, tok, 10, map[string]string{"filetype": "image/png"})
		}
	}
	// The creation check agrees: no fourth upload.
	if _, err := client(tok).Create(t.Context(), e.URL+"/files/", 10, map[string]string{"filetype": "image/png"}); err == nil {
		t.Fatal("a fourth upload was accepted")
	}
}

// Expired within the grace: 200 with expired; past it, a bad signature or
// no token: 401 with the code the page maps to a sentence.
func TestSessionRefusals(t *testing.T) {
	e := newEnv(t, options{grace: time.Hour})
	tok := e.mint(t, hooks.Claims{Kind: hooks.KindHome, Subject: "alice"}, time.Minute)
	e.shift.Store(int64(10 * time.Minute))
	var s sessionDoc
	e.getJSON(t, api.SessionPath, tok, &s)
	if !s.Expired || s.Account != "alice" || s.Expires == nil {
		t.Errorf("within the grace: %+v", s)
	}
	before := e.Policy.Refusals()
	e.shift.Store(int64(2 * time.Hour))
	wantError(t, "past the grace", e.get(t, http.MethodGet, api.SessionPath, tok, nil), 401, "ERR_TOKEN_EXPIRED")
	other := newEnv(t, options{})
	wantError(t, "bad signature", e.get(t, http.MethodGet, api.SessionPath, other.home(t, "alice"), nil), 401, "ERR_INVALID_TOKEN")
	wantError(t, "no token", e.get(t, http.MethodGet, api.SessionPath, "", nil), 401, "ERR_UNAUTHORIZED")
	wantError(t, "basic", e.get(t, http.MethodGet, api.SessionPath, "", http.Header{"Authorization": {"Basic YTpi"}}), 401, "ERR_UNAUTHORIZED")
	// Two tokens: a proxy in front may read the other one.
	live := "Bearer " + e.home(t, "bob")
	for _, path := range []string{api.SessionPath, api.UploadsPath} {
		wantError(t, "two tokens", e.get(t, http.MethodGet, path, "", http.Header{"Authorization": {live, live}}), 400, "ERR_DUPLICATE_HEADER")
	}
	after := e.Policy.Refusals()
	for reason, n := range map[string]int64{"expired": 1, "bad_signature": 1, "no_token": 2} {
		if after[reason]-before[reason] != n {
			t.Errorf("%s counted %d, want %d", reason, after[reason]-before[reason], n)
		}
	}
}

// Same-origin: OPTIONS is answered without CORS headers; other methods
// are 405 tus-style.
func TestSessionMethods(t *testing.T) {
	e := newEnv(t, options{})
	for _, path := range []string{api.SessionPath, api.UploadsPath} {
		r := e.get(t, http.MethodOptions, path, "", http.Header{"Origin": {"https://elsewhere.example"}, "Access-Control-Request-Method": {"GET"}})
		if r.Status != http.StatusNoContent || r.Header.Get("Allow") != "GET, HEAD, OPTIONS" || r.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("OPTIONS %s: %d %v", path, r.Status, r.Header)
		}
		for _, m := range []string{http.MethodPost, http.MethodDelete, http.MethodPatch} {
			r := e.get(t, m, path, e.home(t, "alice"), nil)
			wantError(t, m+" "+path, r, http.StatusMethodNotAllowed, "ERR_METHOD_NOT_ALLOWED")
			if r.Header.Get("Allow") == "" {
				t.Errorf("%s %s: no Allow", m, path)
			}
		}
	}
	if r := e.get(t, http.MethodHead, api.SessionPath, e.home(t, "alice"), nil); r.Status != http.StatusOK || r.Body != "" {
		t.Errorf("HEAD: %d %q", r.Status, r.Body)
	}
}

// With open uploads (-auth=none) the page uploads to the public route:
// the session says so; nobody has uploads to list.
func TestSessionOpen(t *testing.T) {
	e := newEnv(t, options{open: true, edit: func(c *api.Config) { c.MaxSize = 99 }})
	var s sessionDoc
	e.getJSON(t, api.SessionPath, "", &s)
	if s.Kind != "public" || s.Expires != nil || s.Limits.MaxSize != 99 || s.FilesLeft != nil || s.ResumeGraceS != 0 {
		t.Errorf("open session %+v", s)
	}
	wantError(t, "open listing", e.get(t, http.MethodGet, api.UploadsPath, "", nil), http.StatusNotFound, "ERR_NO_ACCOUNTS")
}

func deref(s *string) string {
	if s == nil {
		return "<null>"
	}
	return *s
}
