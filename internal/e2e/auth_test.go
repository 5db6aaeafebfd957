package e2e

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tusvault/tusvault/internal/tusclient"
)

var (
	homeLinkLine  = regexp.MustCompile(`Home upload link \(user "dev", valid 24h\): (http://\S+/)#token=(\S+)`)
	guestLinkLine = regexp.MustCompile(`Guest upload link \(share "dev/demo", valid 24h\): (http://\S+/)#token=(\S+)`)
)

// withToken is a client sending tok as its bearer token.
func withToken(tok string) *tusclient.Client {
	c := newClient()
	c.Header = http.Header{"Authorization": {"Bearer " + strings.TrimSpace(tok)}}
	return c
}

// The binary on its embedded default (no auth flags) creates its secret,
// prints a home and a guest link whose tokens create uploads in their
// routes, refuses uploads without a token, and accepts what `tusvault
// token` mints from the same upload dir.
func TestDefaultAuthLinksAndTokens(t *testing.T) {
	ctx := testCtx(t, 60*time.Second)
	dir := t.TempDir()
	s := startServerAuth(t, dir)
	out := s.out.String()
	home, guest := homeLinkLine.FindStringSubmatch(out), guestLinkLine.FindStringSubmatch(out)
	if home == nil || guest == nil {
		t.Fatalf("no startup links in:\n%s", out)
	}
	if want := "http://" + s.Addr + "/"; home[1] != want || guest[1] != want {
		t.Errorf("links to %q and %q, want %q", home[1], guest[1], want)
	}
	fi, err := os.Stat(filepath.Join(dir, "auth.secret"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("auth.secret mode %#o, want 0600", fi.Mode().Perm())
	}

	data := randomBytes(9001, 100000)
	dev := withToken(home[2])
	u, err := dev.Create(ctx, s.Endpoint, int64(len(data)), map[string]string{"filename": "mine.bin"})
	if err != nil {
		t.Fatalf("POST with the home link's token: %v", err)
	}
	if !strings.HasPrefix(u, s.Endpoint+"home/dev/") {
		t.Errorf("home upload at %s, want under %shome/dev/", u, s.Endpoint)
	}
	if err := dev.Upload(ctx, u, data, []int{40000}); err != nil {
		t.Fatal(err)
	}
	checkGetFull(t, dev, ctx, u, data)
	checkDecrypt(t, s, uploadID(t, u), data)

	g := withToken(guest[2])
	ug, err := g.Create(ctx, s.Endpoint, int64(len(data)), map[string]string{"filename": "for-dev.bin"})
	if err != nil {
		t.Fatalf("POST with the guest link's token: %v", err)
	}
	if !strings.HasPrefix(ug, s.Endpoint+"guest/dev/demo/") {
		t.Errorf("guest upload at %s, want under %sguest/dev/demo/", ug, s.Endpoint)
	}
	if err := g.Upload(ctx, ug, data, nil); err != nil {
		t.Fatal(err)
	}
	if status, _, _, err := g.Get(ctx, ug, ""); err != nil || status != http.StatusForbidden {
		t.Errorf("guest GET: %d, %v; want 403", status, err)
	}
	checkGetFull(t, dev, ctx, ug, data) // the share's owner reads it

	if _, err := newClient().Create(ctx, s.Endpoint, 10, nil); tusclient.Status(err) != http.StatusUnauthorized {
		t.Errorf("POST without a token: %v, want 401", err)
	}
	if _, _, err := newClient().Head(ctx, u); tusclient.Status(err) != http.StatusUnauthorized {
		t.Errorf("HEAD without a token: %v, want 401", err)
	}

	cmd := exec.CommandContext(ctx, binPath, "token", "home", "alice", "-upload-dir", dir)
	tok, err := cmd.Output()
	if err != nil {
		t.Fatalf("tusvault token home alice: %v", err)
	}
	alice := withToken(string(tok))
	ua, err := alice.Create(ctx, s.Endpoint, 10, nil)
	if err != nil || !strings.HasPrefix(ua, s.Endpoint+"home/alice/") {
		t.Fatalf("POST with alice's token: %s, %v", ua, err)
	}
	if _, _, err := alice.Head(ctx, u); tusclient.Status(err) != http.StatusNotFound {
		t.Errorf("alice HEAD of dev's upload: %v, want 404", err)
	}
}

// The uploads routed by tokens survive a restart on the same secret.
func TestAuthSecretKeptAcrossRestarts(t *testing.T) {
	ctx := testCtx(t, 60*time.Second)
	dir := t.TempDir()
	s := startServerAuth(t, dir)
	home := homeLinkLine.FindStringSubmatch(s.out.String())
	if home == nil {
		t.Fatal("no home link")
	}
	s.stop()
	s2 := startServerAuth(t, dir)
	c := withToken(home[2])
	if _, err := c.Create(ctx, s2.Endpoint, 10, nil); err != nil {
		t.Errorf("the first start's token after a restart: %v", err)
	}
}
