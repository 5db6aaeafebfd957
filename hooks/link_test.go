package hooks_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tus/tusd/v2/pkg/handler"

	"github.com/tusvault/tusvault/hooks"
)

// claimsOf authenticates tok as the API does.
func (e *env) claimsOf(t *testing.T, tok string) hooks.Claims {
	t.Helper()
	c, err := e.Policy.Authenticate(context.Background(), bearer(tok))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// link mints a download link to the upload at u for the claims of tok.
func (e *env) link(t *testing.T, tok, u string) string {
	t.Helper()
	v, exp, err := e.Policy.DownloadLink(e.claimsOf(t, tok), e.id(t, u))
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(exp); d < 4*time.Minute || d > 5*time.Minute+time.Second {
		t.Errorf("link expires in %s, want 5m", d)
	}
	return u + "?" + hooks.LinkParam + "=" + url.QueryEscape(v)
}

// TestDownloadLink: a link serves the exact bytes without a bearer token,
// with the sanitized Content-Disposition, to the one upload it names, until
// it expires; every refusal is counted.
func TestDownloadLink(t *testing.T) {
	e := newEnv(t, options{})
	alice := e.home(t, "alice")
	data := testData(70_000)
	u := e.upload(t, alice, data, map[string]string{"filename": "../re\"port.pdf", "filetype": "application/pdf"})
	other := e.upload(t, alice, []byte("the other one"), nil)
	link := e.link(t, alice, u)

	r := do(t, http.MethodGet, link, "", nil, nil)
	if r.Status != http.StatusOK || r.Body != string(data) {
		t.Fatalf("GET by link: %d, %d bytes", r.Status, len(r.Body))
	}
	if cc := r.Header.Get("Cache-Control"); cc != "private, no-store" {
		t.Errorf("Cache-Control %q", cc)
	}
	if cd := r.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment") || strings.ContainsAny(cd, "/\\") || strings.Contains(cd, `re"port`) {
		t.Errorf("Content-Disposition %q", cd)
	}
	// Several times within its lifetime, with or without a token.
	if r := do(t, http.MethodGet, link, bearer(e.home(t, "bob")), nil, nil); r.Status != http.StatusOK || r.Body != string(data) {
		t.Fatalf("GET by link, with a stranger's token: %d", r.Status)
	}

	before := e.Policy.Refusals()
	sig := link[strings.Index(link, "=")+1:]
	exp, mac, _ := strings.Cut(sig, ".")
	expN, _ := strconv.ParseInt(exp, 10, 64)
	flip := func(s string) string {
		if s[0] == 'A' {
			return "B" + s[1:]
		}
		return "A" + s[1:]
	}
	bad := map[string]string{
		"another upload":  other + "?download=" + sig,
		"altered mac":     u + "?download=" + exp + "." + flip(mac),
		"later expiry":    u + "?download=" + strconv.FormatInt(expN+60, 10) + "." + mac,
		"no mac":          u + "?download=" + exp,
		"empty":           u + "?download=",
		"leading zero":    u + "?download=0" + sig,
		"negative":        u + "?download=-" + sig,
		"padded mac":      u + "?download=" + sig + "=",
		"another owner's": e.URL + "home/bob/" + e.id(t, u)[len("home/alice/"):] + "?download=" + sig,
		"share of the id": e.URL + "guest/alice/trip/" + e.id(t, u)[len("home/alice/"):] + "?download=" + sig,
		// A cache or proxy might read another one than the policy.
		"twice":             link + "&download=" + sig,
		"then a forged one": link + "&download=1.x",
		// url.ParseQuery drops such a pair: the request went on as one
		// without a link, authorized by its token.
		"badly escaped":          u + "?download=%",
		"badly escaped, then ok": u + "?download=%zz&download=" + sig,
		"with a semicolon":       u + "?download=" + sig + ";x=1",
	}
	for name, target := range bad {
		r := do(t, http.MethodGet, target, bearer(alice), nil, nil)
		if r.Status != http.StatusForbidden || !strings.HasPrefix(r.Body, "ERR_INVALID_LINK: ") {
			t.Errorf("%s: %d %q, want 403 ERR_INVALID_LINK", name, r.Status, r.Body)
		}
	}
	// A link is good for GET only: it deletes, patches and heads nothing.
	for _, m := range []string{http.MethodHead, http.MethodDelete, http.MethodPatch} {
		if r := do(t, m, link, "", nil, nil); r.Status != http.StatusForbidden {
			t.Errorf("%s by link: %d, want 403", m, r.Status)
		}
	}
	if r := do(t, http.MethodHead, u, bearer(alice), nil, nil); r.Status != http.StatusOK {
		t.Fatalf("the upload is gone after a DELETE by link: %d", r.Status)
	}
	after := e.Policy.Refusals()
	if got := after["bad_link"] - before["bad_link"]; got != int64(len(bad)+3) {
		t.Errorf("bad_link counted %d refusals, want %d", got, len(bad)+3)
	}

	// Expired: 401 with a challenge, counted.
	e.shift.Store(int64(5*time.Minute + time.Second))
	r = do(t, http.MethodGet, link, "", nil, nil)
	if r.Status != http.StatusUnauthorized || !strings.HasPrefix(r.Body, "ERR_LINK_EXPIRED: ") || r.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("expired link: %d %q %v", r.Status, r.Body, r.Header)
	}
	if got := e.Policy.Refusals()["link_expired"] - after["link_expired"]; got != 1 {
		t.Errorf("link_expired counted %d, want 1", got)
	}
	// A clock stepped back far: the link now lies too far ahead.
	e.shift.Store(int64(-10 * time.Minute))
	if r := do(t, http.MethodGet, link, "", nil, nil); r.Status != http.StatusForbidden {
		t.Errorf("link from the future: %d, want 403", r.Status)
	}
}

// TestDownloadLinkMinting: links are minted only for a live token allowed
// to GET the upload: the account's own uploads and its shares' uploads;
// never for guests, strangers or a token in its resume grace.
func TestDownloadLinkMinting(t *testing.T) {
	e := newEnv(t, options{grace: time.Hour})
	alice, bob := e.home(t, "alice"), e.home(t, "bob")
	trip := e.guest(t, "alice", "trip")
	home := e.upload(t, alice, []byte("home"), nil)
	guest := e.upload(t, trip, []byte("guest"), nil)

	if r := do(t, http.MethodGet, e.link(t, alice, guest), "", nil, nil); r.Status != http.StatusOK || r.Body != "guest" {
		t.Fatalf("the owner's link to a guest upload: %d %q", r.Status, r.Body)
	}
	expiredAlice := mint(t, e.Signer, hooks.Claims{Kind: hooks.KindHome, Subject: "alice"}, time.Second)
	e.shift.Store(int64(time.Minute))
	for _, tc := range []struct {
		name, tok, u, code string
	}{
		{"guest, own upload", trip, guest, "ERR_GUEST_CANNOT_DOWNLOAD"},
		{"guest, the owner's upload", trip, home, "ERR_UPLOAD_NOT_FOUND"},
		{"stranger", bob, home, "ERR_UPLOAD_NOT_FOUND"},
		{"stranger, guest upload", bob, guest, "ERR_UPLOAD_NOT_FOUND"},
		{"owner in the resume grace", expiredAlice, home, "ERR_TOKEN_EXPIRED"},
	} {
		_, _, err := e.Policy.DownloadLink(e.claimsOf(t, tc.tok), e.id(t, tc.u))
		var herr handler.Error
		if !errors.As(err, &herr) || herr.ErrorCode != tc.code {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.code)
		}
	}
	if _, _, err := e.Policy.DownloadLink(e.claimsOf(t, bob), "public/"+strings.Repeat("a", 32)); err == nil {
		t.Error("a link to a public id was minted")
	}

	// Without a link key, none is minted and none is accepted.
	n := newEnv(t, options{noLinks: true})
	nu := n.upload(t, n.home(t, "alice"), []byte("x"), nil)
	if _, _, err := n.Policy.DownloadLink(n.claimsOf(t, n.home(t, "alice")), n.id(t, nu)); err == nil {
		t.Error("a link was minted without a key")
	}
	if r := do(t, http.MethodGet, nu+"?download=1."+strings.Repeat("A", 43), "", nil, nil); r.Status != http.StatusForbidden {
		t.Errorf("GET with a link and no key: %d", r.Status)
	}
}

// TestDownloadLinkUnfinished: a link reaches an upload only once it is
// complete, as the share owner's GET does: 400 while bytes are missing,
// 423 while a PATCH holds it, which it does not interrupt.
func TestDownloadLinkUnfinished(t *testing.T) {
	e := newEnv(t, options{})
	alice := e.home(t, "alice")
	for _, uploader := range []string{alice, e.guest(t, "alice", "trip")} {
		partial := e.create(t, uploader, 20, nil)
		if _, err := client(bearer(uploader)).Patch(context.Background(), partial, 0, strings.NewReader("0123456789"), 10); err != nil {
			t.Fatal(err)
		}
		if r := do(t, http.MethodGet, e.link(t, alice, partial), "", nil, nil); r.Status != http.StatusBadRequest || !strings.HasPrefix(r.Body, "ERR_INCOMPLETE_UPLOAD") {
			t.Errorf("link to an unfinished upload: %d %q, want 400", r.Status, r.Body)
		}
		const size = 256 << 10
		status, off := runPatch(t, e, uploader, testData(size), func(u string) {
			if r := do(t, http.MethodGet, e.link(t, alice, u), "", nil, nil); r.Status != http.StatusLocked {
				t.Errorf("link during a PATCH: %d %q, want 423", r.Status, r.Body)
			}
		})
		if status != http.StatusNoContent || off != strconv.Itoa(size) {
			t.Errorf("PATCH ended with %d at %q: the link's GET interrupted it", status, off)
		}
	}
}
