package hooks_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/tus/tusd/v2/pkg/handler"

	"github.com/tusvault/tusvault/hooks"
)

func errorCode(err error) string {
	var herr handler.Error
	if errors.As(err, &herr) {
		return herr.ErrorCode
	}
	return ""
}

// TestAuthenticate: the codes a page maps to sentences, each refusal
// counted under its reason.
func TestAuthenticate(t *testing.T) {
	e := newEnv(t, options{grace: time.Hour})
	ctx := context.Background()
	soon := mint(t, e.Signer, hooks.Claims{Kind: hooks.KindHome, Subject: "alice"}, time.Minute)
	for _, tc := range []struct {
		name, auth, code, reason string
	}{
		{"none", "", "ERR_UNAUTHORIZED", "no_token"},
		{"basic", "Basic YTpi", "ERR_UNAUTHORIZED", "no_token"},
		{"bad signature", bearer(handToken("HS256", randomBytes(t, 32), map[string]any{"sub": "a"})), "ERR_INVALID_TOKEN", "bad_signature"},
	} {
		before := e.Policy.Refusals()[tc.reason]
		_, err := e.Policy.Authenticate(ctx, tc.auth)
		if errorCode(err) != tc.code {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.code)
		}
		if got := e.Policy.Refusals()[tc.reason] - before; got != 1 {
			t.Errorf("%s: %s counted %d", tc.name, tc.reason, got)
		}
	}
	e.shift.Store(int64(30 * time.Minute)) // within the grace
	c, err := e.Policy.Authenticate(ctx, bearer(soon))
	if err != nil || !c.Expired || c.Subject != "alice" {
		t.Fatalf("within the grace: %+v, %v", c, err)
	}
	e.shift.Store(int64(2 * time.Hour)) // past it
	before := e.Policy.Refusals()["expired"]
	if _, err := e.Policy.Authenticate(ctx, bearer(soon)); errorCode(err) != "ERR_TOKEN_EXPIRED" {
		t.Fatalf("past the grace: %v, want ERR_TOKEN_EXPIRED", err)
	}
	if e.Policy.Refusals()["expired"] != before+1 {
		t.Error("past the grace: not counted as expired")
	}
}

// TestLimitsAndFilesLeft: the limits PreCreate applies, and the files a
// share may still take, falling as uploads are created until PreCreate
// refuses.
func TestLimitsAndFilesLeft(t *testing.T) {
	e := newEnv(t, options{homeMax: 100, guestMax: 50})
	ctx := context.Background()
	tok := mint(t, e.Signer, hooks.Claims{Kind: hooks.KindGuest, Owner: "alice", Share: "trip", MaxFiles: 3, MaxSize: 80, Types: []string{"image/*"}}, time.Hour)
	c := e.claimsOf(t, tok)
	if l := e.Policy.Limits(c); l.MaxSize != 50 || l.MaxFiles != 3 || !slices.Equal(l.Types, []string{"image/*"}) {
		t.Errorf("guest limits %+v", l)
	}
	home := e.claimsOf(t, mint(t, e.Signer, hooks.Claims{Kind: hooks.KindHome, Subject: "alice", MaxSize: 70}, time.Hour))
	if l := e.Policy.Limits(home); l.MaxSize != 70 || l.MaxFiles != 0 || l.Types != nil {
		t.Errorf("home limits %+v", l)
	}
	if _, ok, err := e.Policy.FilesLeft(ctx, home); ok || err != nil {
		t.Errorf("FilesLeft of a home token: ok %v, %v", ok, err)
	}
	for want := 3; want >= 0; want-- {
		left, ok, err := e.Policy.FilesLeft(ctx, c)
		if err != nil || !ok || left != want {
			t.Fatalf("FilesLeft = %d, %v, %v; want %d", left, ok, err, want)
		}
		_, err = client(bearer(tok)).Create(ctx, e.URL, 10, map[string]string{"filetype": "image/png"})
		if (err == nil) != (want > 0) {
			t.Fatalf("creation with %d left: %v", want, err)
		}
	}
}

// TestListPrefixes: a live home token lists its home and all its shares;
// guests and tokens in their grace may not list.
func TestListPrefixes(t *testing.T) {
	e := newEnv(t, options{grace: time.Hour})
	ctx := context.Background()
	got, err := e.Policy.ListPrefixes(ctx, e.claimsOf(t, e.home(t, "alice@example.com")))
	want := []string{"home/" + hooks.Segment("alice@example.com") + "/", "guest/" + hooks.Segment("alice@example.com") + "/"}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("home: %q, %v; want %q", got, err, want)
	}
	before := e.Policy.Refusals()
	if _, err := e.Policy.ListPrefixes(ctx, e.claimsOf(t, e.guest(t, "alice", "trip"))); errorCode(err) != "ERR_GUEST_CANNOT_LIST" {
		t.Errorf("guest: %v", err)
	}
	soon := mint(t, e.Signer, hooks.Claims{Kind: hooks.KindHome, Subject: "alice"}, time.Minute)
	e.shift.Store(int64(10 * time.Minute))
	if _, err := e.Policy.ListPrefixes(ctx, e.claimsOf(t, soon)); errorCode(err) != "ERR_TOKEN_EXPIRED" {
		t.Errorf("in the grace: %v", err)
	}
	after := e.Policy.Refusals()
	if after["forbidden"] != before["forbidden"]+1 || after["expired"] != before["expired"]+1 {
		t.Errorf("refusals not counted: before %v, after %v", before, after)
	}
}
