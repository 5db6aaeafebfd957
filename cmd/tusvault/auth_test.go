package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tusvault/tusvault/hooks"
	"github.com/tusvault/tusvault/internal/tusclient"
)

// bearer returns the Authorization header of a token carrying c, signed
// with secret and valid for an hour.
func bearer(t *testing.T, secret []byte, c hooks.Claims) http.Header {
	t.Helper()
	s, err := hooks.NewSigner(secret, nil, "", "")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.Mint(c, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return http.Header{"Authorization": {"Bearer " + tok}}
}

func tokenHeader(tok string) http.Header {
	return http.Header{"Authorization": {"Bearer " + strings.TrimSpace(tok)}}
}

func TestAuthFlags(t *testing.T) {
	c, err := parseConfig(nil, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if c.Auth != "jwt" || !c.autoSecret() || c.secretPath("d") != filepath.Join("d", "auth.secret") || c.AuthResumeGrace != 24*time.Hour {
		t.Errorf("defaults: %+v", c.authFlags)
	}
	for _, tt := range []struct {
		args  []string
		check func(c Config) bool
	}{
		{[]string{"-auth=none"}, func(c Config) bool { return c.open() && !c.autoSecret() }},
		{[]string{"-auth-secret-file", "/etc/s"}, func(c Config) bool {
			return !c.autoSecret() && c.secretPath("d") == "/etc/s" && c.AuthSecretEncoding == hooks.SecretRaw
		}},
		{[]string{"-auth-secret-file", "/etc/s", "-auth-secret-encoding", "base64"}, func(c Config) bool { return c.AuthSecretEncoding == hooks.SecretBase64 }},
		{[]string{"-auth-secret-encoding=raw"}, func(c Config) bool { return c.autoSecret() && c.AuthSecretEncoding == hooks.SecretRaw }},
		{[]string{"-auth-secret-encoding=base64"}, func(c Config) bool { return c.autoSecret() && c.AuthSecretEncoding == hooks.SecretBase64 }},
		{[]string{"-auth-public-key-file", "k.pem", "-auth-issuer", "https://app", "-auth-audience", "tusvault"}, func(c Config) bool {
			return !c.autoSecret() && c.AuthIssuer == "https://app" && c.AuthAudience == "tusvault"
		}},
		{[]string{"-auth-resume-grace", "0s"}, func(c Config) bool { return c.resumeGrace() < 0 }},
		{[]string{"-auth-resume-grace", "2h"}, func(c Config) bool { return c.resumeGrace() == 2*time.Hour }},
		{[]string{"-home-max-size", "2GiB", "-guest-max-size", "100MB"}, func(c Config) bool {
			return c.HomeMaxSize == 2<<30 && c.GuestMaxSize == 100e6
		}},
		{[]string{"-home-max-size", "1048576"}, func(c Config) bool { return c.HomeMaxSize == 1<<20 }},
		{[]string{"-home-prefix", "users", "-guest-prefix", "inbox", "-public-prefix", "open_1"}, func(c Config) bool {
			return c.HomePrefix == "users" && c.GuestPrefix == "inbox" && c.PublicPrefix == "open_1"
		}},
		{[]string{"-s3-bucket", "b", "-auth-secret-file", "s"}, func(c Config) bool { return c.secretPath("d") == "s" }},
		{[]string{"-s3-bucket", "b", "-auth-public-key-file", "k.pem"}, func(c Config) bool { return true }},
		{[]string{"-s3-bucket", "b", "-auth=none"}, func(c Config) bool { return c.open() }},
	} {
		c, err := parseConfig(tt.args, noEnv)
		if err != nil {
			t.Errorf("%q: %v", tt.args, err)
			continue
		}
		if !tt.check(c) {
			t.Errorf("%q: unexpected %+v", tt.args, c.authFlags)
		}
	}
}

func TestAuthFlagsRejected(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-auth=foo"}, "-auth"},
		{[]string{"-auth="}, "-auth"},
		{[]string{"-auth-secret-file", "s", "-auth-public-key-file", "k"}, "exclude each other"},
		{[]string{"-s3-bucket", "b"}, "with -s3-bucket, give -auth-secret-file or -auth-public-key-file"},
		{[]string{"-s3-bucket", "b", "-auth-issuer", "x"}, "with -s3-bucket"},
		{[]string{"-auth=none", "-auth-secret-file", "s"}, "-auth-secret-file needs -auth=jwt"},
		{[]string{"-auth=none", "-auth-secret-encoding", "base64"}, "-auth-secret-encoding needs -auth=jwt"},
		{[]string{"-auth-secret-encoding", "hex"}, "-auth-secret-encoding"},
		{[]string{"-auth-secret-encoding", ""}, "-auth-secret-encoding"},
		{[]string{"-auth-public-key-file", "k", "-auth-secret-encoding", "base64"}, "-auth-secret-encoding applies to the secret file"},
		{[]string{"-auth=none", "-guest-max-size", "1"}, "-guest-max-size needs -auth=jwt"},
		{[]string{"-auth-resume-grace", "-1h"}, "-auth-resume-grace"},
		{[]string{"-home-max-size", "-1"}, "-home-max-size"},
		{[]string{"-home-max-size", "2 lots"}, "-home-max-size"},
		{[]string{"-guest-max-size", "99999999TiB"}, "-guest-max-size"},
		{[]string{"-home-prefix", "Home"}, "-home-prefix"},
		{[]string{"-guest-prefix", "a/b"}, "-guest-prefix"},
		{[]string{"-public-prefix", ""}, "-public-prefix"},
		{[]string{"-guest-prefix", "home"}, "all different"},
	} {
		_, err := parseConfig(tt.args, noEnv)
		if err == nil {
			t.Errorf("%q: accepted", tt.args)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, tt.want) || strings.Contains(msg, "\n") {
			t.Errorf("%q: error %q, want one line naming %q", tt.args, msg, tt.want)
		}
	}
}

func TestParseByteSize(t *testing.T) {
	for in, want := range map[string]int64{
		"0": 0, "1": 1, "1024": 1024, "1KiB": 1 << 10, "2GiB": 2 << 30, "2gib": 2 << 30, "1 MiB": 1 << 20,
		"1.5KiB": 1536, "1KB": 1000, "3MB": 3e6, "2GB": 2e9, "1TiB": 1 << 40, "1TB": 1e12, "100B": 100, "0.5MB": 5e5,
	} {
		got, err := parseByteSize(in)
		if err != nil || got != want {
			t.Errorf("parseByteSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "-1KiB", "KiB", "1XB", "1e3x", "NaNGB", "InfGB", "9223372036854775807KiB", "1e30GB", "0x10"} {
		if got, err := parseByteSize(in); err == nil {
			t.Errorf("parseByteSize(%q) = %d, want an error", in, got)
		}
	}
}

func TestLinkHost(t *testing.T) {
	for _, tt := range []struct {
		flag, addr, want string
	}{
		{"127.0.0.1", "127.0.0.1:8080", "127.0.0.1:8080"},
		{"0.0.0.0", "[::]:8080", "127.0.0.1:8080"},
		{"0.0.0.0", "0.0.0.0:8080", "127.0.0.1:8080"},
		{"::", "[::]:8080", "localhost:8080"},
		{"", "[::]:8080", "localhost:8080"},
		{"::1", "[::1]:8080", "[::1]:8080"},
	} {
		addr, err := net.ResolveTCPAddr("tcp", tt.addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := linkHost(tt.flag, addr); got != tt.want {
			t.Errorf("linkHost(%q, %s) = %q, want %q", tt.flag, tt.addr, got, tt.want)
		}
	}
}

var (
	homeLink  = regexp.MustCompile(`Home upload link \(user "dev", valid 24h\): (http://\S+/)#token=(\S+)`)
	guestLink = regexp.MustCompile(`Guest upload link \(share "dev/demo", valid 24h\): (http://\S+/)#token=(\S+)`)
)

// The embedded default creates its secret, prints a home and a guest link
// before the upload line, and routes each token's uploads.
func TestServeDefaultAuth(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	out := s.stdout.String()
	home, guest := homeLink.FindStringSubmatch(out), guestLink.FindStringSubmatch(out)
	if home == nil || guest == nil {
		t.Fatalf("no startup links in:\n%s", out)
	}
	root := strings.TrimSuffix(s.url, "files/")
	if home[1] != root || guest[1] != root {
		t.Errorf("links to %q and %q, want %q", home[1], guest[1], root)
	}
	if !strings.Contains(out, "'Authorization: Bearer <token>'") {
		t.Errorf("no Authorization hint in:\n%s", out)
	}
	if i, j := strings.Index(out, "Guest upload link"), strings.Index(out, "You can now upload files to:"); i > j {
		t.Error("links after the upload line")
	}
	fi, err := os.Stat(filepath.Join(s.dir, "auth.secret"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("auth.secret: %v, %v", fi, err)
	}

	ctx := context.Background()
	for _, tt := range []struct {
		token, prefix string
	}{
		{home[2], s.url + "home/dev/"},
		{guest[2], s.url + "guest/dev/demo/"},
	} {
		c := tusclient.Client{Header: tokenHeader(tt.token)}
		u, err := c.Create(ctx, s.url, int64(len(testData)), map[string]string{"filename": "a.txt"})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(u, tt.prefix) {
			t.Errorf("upload at %s, want under %s", u, tt.prefix)
		}
		if err := c.Upload(ctx, u, testData, nil); err != nil {
			t.Fatal(err)
		}
		// Lock files live flat in .tusvault/locks, never beside the objects.
		if _, err := os.Stat(filepath.Join(s.dir, strings.TrimPrefix(u, s.url)+".lock")); !os.IsNotExist(err) {
			t.Errorf("lock file beside the upload: %v", err)
		}
	}
	var anon tusclient.Client
	if _, err := anon.Create(ctx, s.url, 10, nil); tusclient.Status(err) != http.StatusUnauthorized {
		t.Errorf("no token: %v, want 401", err)
	}

	// `tusvault token` signs with the same secret.
	tok, _, err := runCmd(t, "token", "home", "alice", "-upload-dir", s.dir)
	if err != nil {
		t.Fatal(err)
	}
	c := tusclient.Client{Header: tokenHeader(tok)}
	if u, err := c.Create(ctx, s.url, 10, nil); err != nil || !strings.HasPrefix(u, s.url+"home/alice/") {
		t.Errorf("alice's token: %s, %v", u, err)
	}
	if err := s.stop(t); err != nil {
		t.Fatal(err)
	}

	// A second start keeps the secret: the same token still works.
	s2 := startServer(t, "-upload-dir", s.dir)
	if u, err := c.Create(ctx, s2.url, 10, nil); err != nil {
		t.Errorf("after restart: %s, %v", u, err)
	}
	if strings.Contains(s2.stdout.String(), "Created a new auth secret") {
		t.Error("created a second secret")
	}
}

// With a key file given there are no startup links; -auth=none warns and
// serves public/<id> to anyone.
func TestServeAuthModes(t *testing.T) {
	t.Parallel()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pubFile, privFile := filepath.Join(dir, "pub.pem"), filepath.Join(dir, "priv.pem")
	writePEM(t, pubFile, "PUBLIC KEY", must(x509.MarshalPKIXPublicKey(pub)))
	writePEM(t, privFile, "PRIVATE KEY", must(x509.MarshalPKCS8PrivateKey(priv)))

	s := startServer(t, "-auth-public-key-file", pubFile, "-auth-audience", "tv", "-home-max-size", "1KiB")
	out := s.stdout.String()
	if homeLink.MatchString(out) || !strings.Contains(out, "JWT, EdDSA") {
		t.Errorf("startup output:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(s.dir, "auth.secret")); !os.IsNotExist(err) {
		t.Errorf("auth.secret created with a public key: %v", err)
	}
	ctx := context.Background()
	tok, _, err := runCmd(t, "token", "home", "bob", "-auth-private-key-file", privFile, "-auth-audience", "tv")
	if err != nil {
		t.Fatal(err)
	}
	c := tusclient.Client{Header: tokenHeader(tok)}
	if u, err := c.Create(ctx, s.url, 1024, nil); err != nil || !strings.HasPrefix(u, s.url+"home/bob/") {
		t.Errorf("create: %s, %v", u, err)
	}
	if _, err := c.Create(ctx, s.url, 1025, nil); tusclient.Status(err) != http.StatusRequestEntityTooLarge {
		t.Errorf("over -home-max-size: %v, want 413", err)
	}
	noAud, _, _ := runCmd(t, "token", "home", "bob", "-auth-private-key-file", privFile)
	c.Header = tokenHeader(noAud)
	if _, err := c.Create(ctx, s.url, 10, nil); tusclient.Status(err) != http.StatusUnauthorized {
		t.Errorf("wrong audience: %v, want 401", err)
	}

	open := startServer(t, "-auth=none")
	if !strings.Contains(open.stdout.String(), "WARNING: -auth=none: uploads are OPEN") || homeLink.MatchString(open.stdout.String()) {
		t.Errorf("startup output:\n%s", open.stdout)
	}
	var anon tusclient.Client
	if u, err := anon.Create(ctx, open.url, 10, nil); err != nil || !strings.HasPrefix(u, open.url+"public/") {
		t.Errorf("open upload: %s, %v", u, err)
	}
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func TestServeSecretFileMissing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	missing := filepath.Join(dir, "none.secret")
	err := run(context.Background(), []string{"tusvault", "-host", "127.0.0.1", "-port", "0", "-upload-dir", dir,
		"-auth-secret-file", missing}, noEnv, &syncBuffer{}, &syncBuffer{})
	if err == nil || !strings.Contains(err.Error(), missing) {
		t.Fatalf("got %v, want an error naming %s", err, missing)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Error("an explicit -auth-secret-file was created")
	}
}

func TestTokenCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	secret, err := hooks.CreateSecretFile(filepath.Join(dir, "auth.secret"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := hooks.NewVerifier(hooks.AuthConfig{Secret: secret, Issuer: "app", Audience: "tv"})
	if err != nil {
		t.Fatal(err)
	}
	verify := func(args ...string) hooks.Claims {
		t.Helper()
		out, _, err := runCmd(t, append([]string{"token"}, args...)...)
		if err != nil {
			t.Fatalf("%q: %v", args, err)
		}
		if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
			t.Errorf("%q: output is not one line: %q", args, out)
		}
		c, err := v.Verify(strings.TrimSpace(out))
		if err != nil {
			t.Fatalf("%q: %v", args, err)
		}
		return c
	}
	c := verify("home", "alice", "-upload-dir", dir, "-auth-issuer", "app", "-auth-audience", "tv", "-max-size", "2GiB")
	if c.Kind != hooks.KindHome || c.Subject != "alice" || c.MaxSize != 2<<30 || time.Until(c.Expires) > 24*time.Hour || time.Until(c.Expires) < 23*time.Hour {
		t.Errorf("home: %+v", c)
	}
	c = verify("guest", "-owner", "alice", "-share", "trip", "-ttl", "2h", "-max-size", "1MB", "-max-files", "3",
		"-types", "Image/*, application/pdf", "-auth-secret-file", filepath.Join(dir, "auth.secret"), "-auth-issuer", "app", "-auth-audience", "tv")
	if c.Kind != hooks.KindGuest || c.Owner != "alice" || c.Share != "trip" || c.MaxSize != 1e6 || c.MaxFiles != 3 ||
		!slices.Equal(c.Types, []string{"image/*", "application/pdf"}) || time.Until(c.Expires) > 2*time.Hour {
		t.Errorf("guest: %+v", c)
	}
	c = verify("home", "-ttl", "0", "carol", "-upload-dir", dir, "-auth-issuer", "app", "-auth-audience", "tv")
	if !c.Expires.IsZero() {
		t.Errorf("-ttl 0: expires %v", c.Expires)
	}

	for _, args := range [][]string{
		{"token"},
		{"token", "admin", "x"},
		{"token", "home"},
		{"token", "home", "a", "b"},
		{"token", "home", "a", "-ttl", "-1h"},
		{"token", "home", "a", "-owner", "x"},
		{"token", "home", "a", "-max-size", "big"},
		{"token", "guest", "-owner", "alice"},
		{"token", "guest", "-owner", "alice", "-share", "s", "-ttl", "0"},
		{"token", "guest", "-owner", "alice", "-share", "s", "-max-files", "-1"},
		{"token", "guest", "-owner", "alice", "-share", "s", "-types", "images"},
		{"token", "guest", "extra", "-owner", "alice", "-share", "s"},
		{"token", "home", "a", "-auth-secret-file", "s", "-auth-private-key-file", "k"},
		{"token", "home", "a", "-auth-private-key-file", "k", "-auth-secret-encoding", "base64"},
		{"token", "home", "a", "-auth-secret-encoding", "hex"},
	} {
		_, _, err := runCmd(t, append(args, "-upload-dir", dir)...)
		var ue usageError
		if !errors.As(err, &ue) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: got %v, want a one-line usage error", args, err)
		}
	}
	missing := t.TempDir()
	_, _, err = runCmd(t, "token", "home", "a", "-upload-dir", missing)
	if err == nil || !strings.Contains(err.Error(), "no auth secret at "+filepath.Join(missing, "auth.secret")) {
		t.Errorf("missing secret: %v", err)
	}
	if _, err := os.Stat(filepath.Join(missing, "auth.secret")); err == nil {
		t.Error("token created a secret")
	}
}
