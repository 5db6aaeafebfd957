package hooks_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// logBuffer is an io.Writer safe for the server's goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// take returns what was written since the last call.
func (b *logBuffer) take() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	b.buf.Reset()
	return s
}

// A refused token is logged at the level tusvault shows by default (Info
// and above), as a warning whose reason says what is wrong, and the line
// holds neither the token nor any of its segments.
func TestRefusedTokenLogged(t *testing.T) {
	logs := &logBuffer{}
	e := newEnv(t, options{grace: time.Hour, logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	now := time.Now()
	claims := func(mod func(map[string]any)) map[string]any {
		c := map[string]any{"sub": "alice", "iss": testIssuer, "aud": testAudience, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
		mod(c)
		return c
	}
	same := func(map[string]any) {}
	alice := e.home(t, "alice")
	u := e.create(t, alice, 10, nil)
	logs.take()

	for _, tc := range []struct {
		name, auth, reason string
		onUpload           bool // HEAD the upload instead of creating one
	}{
		{"bad signature", bearer(handToken("HS256", randomBytes(t, 32), claims(same))), "bad signature", false},
		{"bad signature on an upload", bearer(handToken("HS256", randomBytes(t, 32), claims(same))), "bad signature", true},
		{"tampered", bearer(alice[:len(alice)-4] + "AAAA"), "bad signature", false},
		{"malformed", "Bearer not.a.jwt-at-all", "malformed", false},
		{"not a bearer token", "Basic YWxpY2U6cGFzc3dvcmQ=", "no bearer token", false},
		{"expired", bearer(handToken("HS256", e.Secret, claims(func(c map[string]any) {
			c["iat"], c["exp"] = now.Add(-5*time.Hour).Unix(), now.Add(-3*time.Hour).Unix()
		}))), "expired", false},
		{"expired within the grace", bearer(handToken("HS256", e.Secret, claims(func(c map[string]any) {
			c["iat"], c["exp"] = now.Add(-2*time.Hour).Unix(), now.Add(-10*time.Minute).Unix()
		}))), "expired", false},
		{"wrong audience", bearer(handToken("HS256", e.Secret, claims(func(c map[string]any) { c["aud"] = "someone-else" }))), "wrong audience", false},
		{"wrong issuer", bearer(handToken("HS256", e.Secret, claims(func(c map[string]any) { c["iss"] = "evil.example" }))), "wrong issuer", false},
		{"no audience", bearer(handToken("HS256", e.Secret, claims(func(c map[string]any) { delete(c, "aud") }))), "missing iss or aud", false},
		{"not yet valid", bearer(handToken("HS256", e.Secret, claims(func(c map[string]any) { c["nbf"] = now.Add(time.Hour).Unix() }))), "not yet valid", false},
		{"alg none", bearer(handToken("none", nil, claims(same))), "wrong algorithm", false},
		{"no account", bearer(handToken("HS256", e.Secret, claims(func(c map[string]any) { delete(c, "sub") }))), "no account", false},
		{"bad claim", bearer(handToken("HS256", e.Secret, claims(func(c map[string]any) { c["max_size"] = -1 }))), "bad claim", false},
	} {
		label := strings.ReplaceAll(strings.TrimPrefix(tc.reason, "no bearer "), " ", "_")
		if label == "token" {
			label = "no_token"
		}
		before := e.Policy.Refusals()[label]
		var r response
		if tc.onUpload {
			r = do(t, http.MethodHead, u, tc.auth, nil, nil)
		} else {
			r = tusRequest(t, e, http.MethodPost, "", tc.auth, 0)
		}
		if r.Status != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", tc.name, r.Status)
		}
		if n := e.Policy.Refusals()[label] - before; n != 1 {
			t.Errorf("%s: %d refusals counted as %q, want 1", tc.name, n, label)
		}
		got := logs.take()
		reason := tc.reason
		if strings.Contains(reason, " ") {
			reason = strconv.Quote(reason)
		}
		if want := `level=WARN msg="token refused" reason=` + reason + " "; strings.Count(got, want) != 1 || strings.Count(got, "\n") != 1 {
			t.Errorf("%s: log %q, want one line with %q", tc.name, got, want)
		}
		tok := strings.TrimPrefix(strings.TrimPrefix(tc.auth, "Bearer "), "Basic ")
		for _, part := range append(strings.Split(tok, "."), tok) {
			if len(part) >= 8 && strings.Contains(got, part) {
				t.Errorf("%s: log %q holds the token (%q)", tc.name, got, part)
			}
		}
	}

	// A valid token on an upload that is not its own is refused as
	// not found; a guest's GET as forbidden.
	before := e.Policy.Refusals()
	if r := do(t, http.MethodHead, u, bearer(e.home(t, "bob")), nil, nil); r.Status != http.StatusNotFound {
		t.Errorf("stranger HEAD: %d", r.Status)
	}
	gu := e.create(t, e.guest(t, "alice", "x"), 10, nil)
	if r := do(t, http.MethodGet, gu, bearer(e.guest(t, "alice", "x")), nil, nil); r.Status != http.StatusForbidden {
		t.Errorf("guest GET: %d", r.Status)
	}
	after := e.Policy.Refusals()
	if after["not_found"] != before["not_found"]+1 || after["forbidden"] != before["forbidden"]+1 {
		t.Errorf("refusals before %v, after %v", before, after)
	}
	logs.take()

	// Accepted tokens and requests without one log nothing at Info.
	e.create(t, alice, 10, nil)
	if r := tusRequest(t, e, http.MethodPost, "", "", 0); r.Status != http.StatusUnauthorized {
		t.Errorf("no token: status %d, want 401", r.Status)
	}
	if got := logs.take(); got != "" {
		t.Errorf("logged %q", got)
	}
}
