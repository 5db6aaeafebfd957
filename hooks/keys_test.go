package hooks

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

func TestParseSecret(t *testing.T) {
	raw32 := bytes.Repeat([]byte{0xfb, 0xff, 0xbf}, 11)[:32] // "+/" in base64, "-_" in base64url
	std := base64.StdEncoding.EncodeToString(raw32)
	url := base64.URLEncoding.EncodeToString(raw32)
	hex64 := strings.Repeat("0f", 32) // as `openssl rand -hex 32` writes it
	wrapped := base64.StdEncoding.EncodeToString(bytes.Repeat(raw32, 2))
	wrapped = wrapped[:64] + "\n" + wrapped[64:] + "\n" // `openssl rand -base64 64`
	for _, tc := range []struct {
		name string
		enc  SecretEncoding
		in   string
		want []byte // nil: an error
	}{
		// raw: the text as written, trimmed; nothing is ever decoded.
		{"64 hex digits are the key as written", SecretRaw, hex64 + "\n", []byte(hex64)},
		{"surrounding whitespace is trimmed", SecretRaw, " \t" + hex64 + "\r\n", []byte(hex64)},
		{"padded base64 is not decoded", SecretRaw, std + "\n", []byte(std)},
		{"unpadded base64url is not decoded", SecretRaw, strings.TrimRight(url, "="), []byte(strings.TrimRight(url, "="))},
		{"32 characters", SecretRaw, strings.Repeat("k", 32), []byte(strings.Repeat("k", 32))},
		{"inner spaces are kept", SecretRaw, "correct horse battery staple 1234\n", []byte("correct horse battery staple 1234")},
		{"binary", SecretRaw, "\x00\x01" + strings.Repeat("\xff", 30), []byte("\x00\x01" + strings.Repeat("\xff", 30))},
		{"31 characters", SecretRaw, strings.Repeat("k", 31), nil},
		{"31 characters once trimmed", SecretRaw, " " + strings.Repeat("k", 31) + "\n", nil},
		{"empty", SecretRaw, "", nil},
		{"whitespace", SecretRaw, " \n\t ", nil},

		// base64: standard or URL-safe alphabet, padded or not.
		{"standard, padded", SecretBase64, std + "\n", raw32},
		{"standard, unpadded", SecretBase64, strings.TrimRight(std, "="), raw32},
		{"url-safe, padded", SecretBase64, url, raw32},
		{"url-safe, unpadded", SecretBase64, "  " + strings.TrimRight(url, "=") + "\n", raw32},
		{"wrapped lines", SecretBase64, wrapped, bytes.Repeat(raw32, 2)},
		{"hex is base64 too", SecretBase64, hex64, mustDecode(base64.StdEncoding.DecodeString(hex64))},
		{"31 bytes", SecretBase64, base64.StdEncoding.EncodeToString(raw32[:31]), nil},
		{"not base64", SecretBase64, strings.Repeat("k!", 30), nil},
		{"mixed alphabets", SecretBase64, strings.Replace(std, "/", "_", 1), nil},
		{"bad padding", SecretBase64, strings.TrimRight(std, "=") + "==", nil},
		{"empty base64", SecretBase64, "", nil},

		{"unknown encoding", SecretEncoding(7), hex64, nil},
	} {
		got, err := parseSecret([]byte(tc.in), tc.enc)
		switch {
		case tc.want == nil && err == nil:
			t.Errorf("%s: parseSecret = %x, want an error", tc.name, got)
		case tc.want == nil && strings.TrimSpace(tc.in) != "" && strings.Contains(err.Error(), strings.TrimSpace(tc.in)):
			t.Errorf("%s: error %q holds the secret", tc.name, err)
		case tc.want != nil && (err != nil || !bytes.Equal(got, tc.want)):
			t.Errorf("%s: parseSecret = %x, %v; want %x", tc.name, got, err, tc.want)
		}
	}
}

func mustDecode(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func TestSecretEncodingText(t *testing.T) {
	for _, e := range []SecretEncoding{SecretRaw, SecretBase64} {
		text, err := e.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back SecretEncoding = 7
		if err := back.UnmarshalText(text); err != nil || back != e || e.String() != string(text) {
			t.Errorf("%v: text %q, back %v, %v", e, text, back, err)
		}
	}
	var e SecretEncoding
	if e != SecretRaw {
		t.Error("the zero SecretEncoding is not SecretRaw")
	}
	for _, bad := range []string{"", "hex", "RAW", "base64url"} {
		if err := e.UnmarshalText([]byte(bad)); err == nil {
			t.Errorf("UnmarshalText(%q) accepted", bad)
		}
	}
	if _, err := SecretEncoding(7).MarshalText(); err == nil {
		t.Error("MarshalText of an unknown encoding")
	}
}

func TestLoadSecretFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "secret")
	text := strings.Repeat("9c", 32) // `openssl rand -hex 32`
	if err := os.WriteFile(path, []byte(text+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := LoadSecretFile(path, SecretRaw); err != nil || string(got) != text {
		t.Errorf("LoadSecretFile(raw) = %q, %v; want the text %q", got, err, text)
	}
	want := bytes.Repeat([]byte{7}, 48)
	b64 := filepath.Join(dir, "b64")
	if err := os.WriteFile(b64, []byte(base64.StdEncoding.EncodeToString(want)+"\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := LoadSecretFile(b64, SecretBase64); err != nil || !bytes.Equal(got, want) {
		t.Errorf("LoadSecretFile(base64) = %x, %v; want %x", got, err, want)
	}
	if _, err := LoadSecretFile(filepath.Join(dir, "missing"), SecretRaw); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want fs.ErrNotExist", err)
	}
	if _, err := LoadSecretFile(dir, SecretRaw); err == nil {
		t.Error("a directory loaded as a secret")
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, bytes.Repeat([]byte("a"), maxKeyFileBytes+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadSecretFile(big, SecretRaw); err == nil {
		t.Error("oversized secret file accepted")
	}
}

// A short secret is refused with an error that names the file and the
// command that makes a good one, and never quotes the file.
func TestLoadSecretFileTooShort(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		enc           SecretEncoding
		content, want string
	}{
		{SecretRaw, "hunter2-is-my-password\n", "22 bytes after trimming whitespace, want at least 32; make a good one with: openssl rand -hex 32 > "},
		{SecretRaw, "\n", "0 bytes after trimming whitespace, want at least 32; make a good one with: openssl rand -hex 32 > "},
		{SecretBase64, base64.StdEncoding.EncodeToString([]byte("hunter2-is-my-password")), "22 bytes base64-decoded, want at least 32; make a good one with: openssl rand -base64 32 > "},
	} {
		path := filepath.Join(dir, "short.secret")
		if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := LoadSecretFile(path, tc.enc)
		if err == nil {
			t.Fatalf("%v %q: accepted", tc.enc, tc.content)
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "auth secret "+path+": ") || !strings.HasSuffix(msg, tc.want+path) {
			t.Errorf("%v %q: error %q, want it to name %s and end with %q", tc.enc, tc.content, msg, path, tc.want+path)
		}
		if strings.Contains(msg, "hunter2") || strings.Contains(msg, strings.TrimSpace(tc.content)) && strings.TrimSpace(tc.content) != "" {
			t.Errorf("%v: error %q quotes the file", tc.enc, msg)
		}
	}
}

func TestCreateSecretFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "uploads")
	path := filepath.Join(dir, "auth.secret")
	secret, err := CreateSecretFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %#o, want 0600", fi.Mode().Perm())
	}
	// One line of 43 base64url characters (32 random bytes, unpadded),
	// and that text is the key, as written.
	content, _ := os.ReadFile(path)
	if !regexp.MustCompile(`^[A-Za-z0-9_-]{43}\n$`).Match(content) {
		t.Fatalf("file holds %q, want 43 base64url characters and a newline", content)
	}
	if string(secret) != strings.TrimSpace(string(content)) {
		t.Errorf("CreateSecretFile returned %q, want the file's text %q", secret, content)
	}
	random, err := base64.RawURLEncoding.Strict().DecodeString(string(secret))
	if err != nil || len(random) != MinSecretBytes || bytes.Equal(random, make([]byte, MinSecretBytes)) {
		t.Errorf("the text decodes to %x, %v; want %d random bytes", random, err, MinSecretBytes)
	}
	if loaded, err := LoadSecretFile(path, SecretRaw); err != nil || !bytes.Equal(loaded, secret) {
		t.Errorf("LoadSecretFile(raw) after CreateSecretFile = %q, %v; want %q", loaded, err, secret)
	}
	if loaded, err := LoadSecretFile(path, SecretBase64); err != nil || !bytes.Equal(loaded, random) {
		t.Errorf("LoadSecretFile(base64) after CreateSecretFile = %x, %v; want %x", loaded, err, random)
	}

	// A second call refuses to replace the file, and leaves no litter.
	if _, err := CreateSecretFile(path); !errors.Is(err, fs.ErrExist) {
		t.Errorf("second CreateSecretFile: %v, want fs.ErrExist", err)
	}
	if again, _ := os.ReadFile(path); !bytes.Equal(again, content) {
		t.Error("second CreateSecretFile changed the file")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only auth.secret", len(entries))
	}

	// Two secrets differ.
	other, err := CreateSecretFile(filepath.Join(dir, "other.secret"))
	if err != nil || bytes.Equal(other, secret) {
		t.Errorf("second secret %q, %v", other, err)
	}
}

func pemFile(t *testing.T, blocks ...*pem.Block) string {
	t.Helper()
	var buf bytes.Buffer
	for _, b := range blocks {
		if err := pem.Encode(&buf, b); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func mustDER(t *testing.T, der []byte, err error) []byte {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestLoadKeyFiles(t *testing.T) {
	k := testKeys()
	small, p384 := weakKeys(t)
	x25519, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pkix := func(pub any) *pem.Block {
		der, err := x509.MarshalPKIXPublicKey(pub)
		return &pem.Block{Type: "PUBLIC KEY", Bytes: mustDER(t, der, err)}
	}
	pkcs8 := func(key any) *pem.Block {
		der, err := x509.MarshalPKCS8PrivateKey(key)
		return &pem.Block{Type: "PRIVATE KEY", Bytes: mustDER(t, der, err)}
	}
	ecParams := &pem.Block{Type: "EC PARAMETERS", Bytes: []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}}
	sec1, err := x509.MarshalECPrivateKey(k.ec)
	if err != nil {
		t.Fatal(err)
	}

	// Public keys.
	for name, tc := range map[string]struct {
		blocks []*pem.Block
		alg    string // "": an error
	}{
		"Ed25519 PKIX":        {[]*pem.Block{pkix(k.ed.Public())}, "EdDSA"},
		"RSA PKIX":            {[]*pem.Block{pkix(&k.rsa.PublicKey)}, "RS256"},
		"RSA PKCS1":           {[]*pem.Block{{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&k.rsa.PublicKey)}}, "RS256"},
		"P-256 PKIX":          {[]*pem.Block{pkix(&k.ec.PublicKey)}, "ES256"},
		"after a certificate": {[]*pem.Block{{Type: "CERTIFICATE", Bytes: []byte{1}}, pkix(k.ed.Public())}, "EdDSA"},
		"RSA 1024":            {[]*pem.Block{pkix(&small.PublicKey)}, ""},
		"P-384":               {[]*pem.Block{pkix(&p384.PublicKey)}, ""},
		"X25519":              {[]*pem.Block{pkix(x25519.PublicKey())}, ""},
		"a private key":       {[]*pem.Block{pkcs8(k.ed)}, ""},
		"garbage DER":         {[]*pem.Block{{Type: "PUBLIC KEY", Bytes: []byte("nope")}}, ""},
		"no PEM":              {nil, ""},
	} {
		pub, err := LoadPublicKeyFile(pemFile(t, tc.blocks...))
		if tc.alg == "" {
			if err == nil {
				t.Errorf("public %s: loaded %T", name, pub)
			}
			continue
		}
		if err != nil {
			t.Errorf("public %s: %v", name, err)
			continue
		}
		if v, err := NewVerifier(AuthConfig{PublicKey: pub}); err != nil || v.Algorithm() != tc.alg {
			t.Errorf("public %s: verifier %v, %v; want %s", name, v, err, tc.alg)
		}
	}

	// Private keys.
	for name, tc := range map[string]struct {
		blocks []*pem.Block
		alg    string
	}{
		"Ed25519 PKCS8":              {[]*pem.Block{pkcs8(k.ed)}, "EdDSA"},
		"RSA PKCS8":                  {[]*pem.Block{pkcs8(k.rsa)}, "RS256"},
		"RSA PKCS1":                  {[]*pem.Block{{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k.rsa)}}, "RS256"},
		"P-256 PKCS8":                {[]*pem.Block{pkcs8(k.ec)}, "ES256"},
		"P-256 SEC1 after params":    {[]*pem.Block{ecParams, {Type: "EC PRIVATE KEY", Bytes: sec1}}, "ES256"},
		"RSA 1024":                   {[]*pem.Block{pkcs8(small)}, ""},
		"P-384":                      {[]*pem.Block{pkcs8(p384)}, ""},
		"X25519":                     {[]*pem.Block{pkcs8(x25519)}, ""},
		"a public key":               {[]*pem.Block{pkix(k.ed.Public())}, ""},
		"encrypted PKCS8":            {[]*pem.Block{{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1}}}, ""},
		"legacy encrypted PEM":       {[]*pem.Block{{Type: "RSA PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED"}, Bytes: []byte{1}}}, ""},
		"garbage DER":                {[]*pem.Block{{Type: "PRIVATE KEY", Bytes: []byte("nope")}}, ""},
		"no PEM":                     {nil, ""},
		"EC PARAMETERS and no key":   {[]*pem.Block{ecParams}, ""},
		"SEC1 under the PKCS8 label": {[]*pem.Block{{Type: "PRIVATE KEY", Bytes: sec1}}, ""},
	} {
		path := pemFile(t, tc.blocks...)
		key, err := LoadPrivateKeyFile(path)
		if tc.alg == "" {
			if err == nil {
				t.Errorf("private %s: loaded %T", name, key)
			} else if content, _ := os.ReadFile(path); len(content) > 0 {
				body := strings.Join(strings.Split(string(content), "\n")[1:2], "")
				if body != "" && strings.Contains(err.Error(), body) {
					t.Errorf("private %s: error %q holds the key file", name, err)
				}
			}
			continue
		}
		if err != nil {
			t.Errorf("private %s: %v", name, err)
			continue
		}
		s, err := NewSigner(nil, key, "", "")
		if err != nil || s.Algorithm() != tc.alg {
			t.Errorf("private %s: signer %v, %v; want %s", name, s, err, tc.alg)
		}
	}
	if _, err := LoadPrivateKeyFile(filepath.Join(t.TempDir(), "missing.pem")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing private key: %v, want fs.ErrNotExist", err)
	}
	if _, err := LoadPublicKeyFile(filepath.Join(t.TempDir(), "missing.pem")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing public key: %v, want fs.ErrNotExist", err)
	}
}

// Guard the key-type switch against a typed nil.
func TestSignerMethodNil(t *testing.T) {
	if _, err := signerMethod((*rsa.PrivateKey)(nil)); err == nil {
		t.Error("nil *rsa.PrivateKey accepted")
	}
	if _, err := signerMethod((*ecdsa.PrivateKey)(nil)); err == nil {
		t.Error("nil *ecdsa.PrivateKey accepted")
	}
	if _, err := signerMethod(ed25519.PrivateKey(nil)); err == nil {
		t.Error("empty ed25519.PrivateKey accepted")
	}
}
