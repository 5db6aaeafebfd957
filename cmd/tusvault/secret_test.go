package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tusvault/tusvault/internal/tusclient"
)

// hostToken mints an HS256 home token for sub over key as a host
// application does, with golang-jwt directly (not hooks' signer).
func hostToken(t *testing.T, key []byte, sub string) string {
	t.Helper()
	now := time.Now()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": sub, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// fileText is the content of path with surrounding whitespace trimmed:
// open(path).read().strip() of a host application.
func fileText(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(strings.TrimSpace(string(b)))
}

func writeSecret(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "host.secret")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func random32(t *testing.T) []byte {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// checkCreate POSTs a creation with tok and checks the status: 201 (want
// true) or 401.
func checkCreate(t *testing.T, url, name, tok string, want bool) {
	t.Helper()
	c := tusclient.Client{Header: tokenHeader(tok)}
	_, err := c.Create(context.Background(), url, 10, nil)
	switch {
	case want && err != nil:
		t.Errorf("%s: %v, want 201", name, err)
	case !want && tusclient.Status(err) != http.StatusUnauthorized:
		t.Errorf("%s: %v, want 401", name, err)
	}
}

// A host-minted token over a hex secret file → 201: the secret made by
// `openssl rand -hex 32 > FILE` is its text as written, which the host
// application signs with; `tusvault token` reads the file the same way.
func TestServeHostTokenOverHexSecret(t *testing.T) {
	t.Parallel()
	secretFile := writeSecret(t, hex.EncodeToString(random32(t))+"\n")
	s := startServer(t, "-auth-secret-file", secretFile)
	out := s.stdout.String()
	if want := "Using bearer tokens (JWT, HS256) verified with the secret in " + secretFile + " (its text as written, 64 bytes)"; !strings.Contains(out, want) {
		t.Errorf("startup output lacks %q:\n%s", want, out)
	}
	text := fileText(t, secretFile)
	if strings.Contains(out, string(text)) {
		t.Error("startup output shows the secret")
	}

	checkCreate(t, s.url, "host token over the file's text", hostToken(t, text, "alice"), true)
	tok, _, err := runCmd(t, "token", "home", "bob", "-auth-secret-file", secretFile)
	if err != nil {
		t.Fatal(err)
	}
	checkCreate(t, s.url, "tusvault token", tok, true)

	// The old reading (the hex text base64-decoded) is refused, and the
	// log says why without showing the token.
	decoded, err := base64.StdEncoding.DecodeString(string(text))
	if err != nil {
		t.Fatal(err)
	}
	bad := hostToken(t, decoded, "alice")
	checkCreate(t, s.url, "token over the base64-decoded text", bad, false)
	out = s.stdout.String()
	if !strings.Contains(out, `event="token refused" reason="bad signature"`) {
		t.Errorf("no refusal with its reason in the log:\n%s", out)
	}
	for _, part := range append(strings.Split(bad, "."), bad) {
		if strings.Contains(out, part) {
			t.Errorf("the log shows the refused token (%q)", part)
		}
	}
}

// With -auth-secret-encoding=base64 the key is the decoded text, for the
// server and for `tusvault token` given the same flag.
func TestServeBase64SecretEncoding(t *testing.T) {
	t.Parallel()
	key := random32(t)
	secretFile := writeSecret(t, base64.StdEncoding.EncodeToString(key)+"\n") // openssl rand -base64 32
	s := startServer(t, "-auth-secret-file", secretFile, "-auth-secret-encoding", "base64")
	if want := "verified with the secret in " + secretFile + " (base64-decoded, 32 bytes)"; !strings.Contains(s.stdout.String(), want) {
		t.Errorf("startup output lacks %q:\n%s", want, s.stdout)
	}
	checkCreate(t, s.url, "host token over the decoded bytes", hostToken(t, key, "alice"), true)
	checkCreate(t, s.url, "host token over the text", hostToken(t, fileText(t, secretFile), "alice"), false)

	tok, _, err := runCmd(t, "token", "home", "bob", "-auth-secret-file", secretFile, "-auth-secret-encoding", "base64")
	if err != nil {
		t.Fatal(err)
	}
	checkCreate(t, s.url, "tusvault token -auth-secret-encoding base64", tok, true)
	raw, _, err := runCmd(t, "token", "home", "bob", "-auth-secret-file", secretFile)
	if err != nil {
		t.Fatal(err)
	}
	checkCreate(t, s.url, "tusvault token reading the text", raw, false)

	// URL-safe and unpadded works too.
	urlFile := writeSecret(t, base64.RawURLEncoding.EncodeToString(key))
	s2 := startServer(t, "-auth-secret-file", urlFile, "-auth-secret-encoding=base64")
	checkCreate(t, s2.url, "host token over the decoded base64url", hostToken(t, key, "alice"), true)
}

// The secret tusvault creates is 43 characters of base64url text, and
// that text is the key a host application signs with.
func TestServeAutoSecretIsItsText(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	path := filepath.Join(s.dir, "auth.secret")
	if want := "verified with the secret in " + path + " (its text as written, 43 bytes)"; !strings.Contains(s.stdout.String(), want) {
		t.Errorf("startup output lacks %q:\n%s", want, s.stdout)
	}
	text := fileText(t, path)
	if len(text) != 43 || strings.Trim(string(text), "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
		t.Errorf("auth.secret holds %d characters that are not all base64url", len(text))
	}
	checkCreate(t, s.url, "host token over the auto secret's text", hostToken(t, text, "alice"), true)
}

// A secret shorter than 32 bytes once read is refused at startup with an
// error naming the file and the command that makes a good one.
func TestServeSecretTooShort(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		content string
		args    []string
		want    string
	}{
		{"hunter2-is-my-password\n", nil, "make a good one with: openssl rand -hex 32 > "},
		// 44 characters, but 16 bytes once decoded.
		{base64.StdEncoding.EncodeToString([]byte("hunter2-is-my-password")), []string{"-auth-secret-encoding", "base64"},
			"make a good one with: openssl rand -base64 32 > "},
	} {
		secretFile := writeSecret(t, tc.content)
		args := append([]string{"tusvault", "-host", "127.0.0.1", "-port", "0", "-upload-dir", t.TempDir(), "-auth-secret-file", secretFile}, tc.args...)
		var stdout syncBuffer
		err := run(context.Background(), args, noEnv, &stdout, &syncBuffer{})
		if err == nil || !strings.Contains(err.Error(), "auth secret "+secretFile+": ") || !strings.Contains(err.Error(), tc.want+secretFile) {
			t.Errorf("%q: got %v, want an error naming %s with %q", tc.content, err, secretFile, tc.want+secretFile)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), strings.TrimSpace(tc.content)) || strings.Contains(stdout.String(), "hunter2") {
			t.Errorf("%q: the error or the output quotes the secret: %v", tc.content, err)
		}
		_, _, err = runCmd(t, append([]string{"token", "home", "a", "-auth-secret-file", secretFile}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want+secretFile) {
			t.Errorf("%q: token: got %v, want %q", tc.content, err, tc.want+secretFile)
		}
	}
}
