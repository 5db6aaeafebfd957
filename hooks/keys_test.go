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
	"runtime"
	"strings"
	"testing"
)

func mustB64(s string) []byte {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestDecodeSecret(t *testing.T) {
	raw32 := bytes.Repeat([]byte{0xa5}, 32)
	b64of32 := base64.StdEncoding.EncodeToString(raw32)
	for _, tc := range []struct {
		name, in string
		want     []byte // nil: an error
	}{
		{"base64 of 32 bytes", b64of32, raw32},
		{"base64 with a newline and spaces", "  " + b64of32 + "\n", raw32},
		// Valid base64 is always decoded, so a short one is an error
		// rather than 44 characters taken raw.
		{"base64 of 31 bytes", base64.StdEncoding.EncodeToString(raw32[:31]), nil},
		{"invalid base64 of 45 characters is raw", base64.StdEncoding.EncodeToString(raw32[:31]) + "=",
			[]byte(base64.StdEncoding.EncodeToString(raw32[:31]) + "=")},
		{"raw 32 bytes", strings.Repeat("k", 31) + "!", []byte(strings.Repeat("k", 31) + "!")},
		// 32 base64 characters decode to 24 bytes: refused, not taken raw.
		{"32 characters of the base64 alphabet", strings.Repeat("k", 32), nil},
		// `openssl rand -hex 32` is valid base64: it is decoded (48 bytes).
		{"64 hex digits", strings.Repeat("0f", 32), mustB64(strings.Repeat("0f", 32))},
		{"40 characters that are base64 of 30 bytes", strings.Repeat("abcd", 10), nil},
		{"raw with a character outside base64", strings.Repeat("abcd", 10) + "!", []byte(strings.Repeat("abcd", 10) + "!")},
		{"raw binary", "\x00\x01" + strings.Repeat("\xff", 30), []byte("\x00\x01" + strings.Repeat("\xff", 30))},
		{"raw trimmed to 31 bytes", " " + strings.Repeat("k", 31) + "\n", nil},
		{"unpadded base64 of 32 bytes is raw", strings.TrimRight(b64of32, "="), []byte(strings.TrimRight(b64of32, "="))},
		{"empty", "", nil},
		{"whitespace", " \n\t ", nil},
		{"short base64", base64.StdEncoding.EncodeToString(raw32[:16]), nil},
	} {
		got, err := decodeSecret([]byte(tc.in))
		switch {
		case tc.want == nil && err == nil:
			t.Errorf("%s: decodeSecret = %x, want an error", tc.name, got)
		case tc.want == nil && strings.Contains(err.Error(), strings.TrimSpace(tc.in)) && strings.TrimSpace(tc.in) != "":
			t.Errorf("%s: error %q holds the secret", tc.name, err)
		case tc.want != nil && (err != nil || !bytes.Equal(got, tc.want)):
			t.Errorf("%s: decodeSecret = %x, %v; want %x", tc.name, got, err, tc.want)
		}
	}
}

func TestLoadSecretFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "secret")
	want := bytes.Repeat([]byte{7}, 48)
	if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(want)+"\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := LoadSecretFile(path); err != nil || !bytes.Equal(got, want) {
		t.Errorf("LoadSecretFile = %x, %v; want %x", got, err, want)
	}
	if _, err := LoadSecretFile(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want fs.ErrNotExist", err)
	}
	if _, err := LoadSecretFile(dir); err == nil {
		t.Error("a directory loaded as a secret")
	}
	short := filepath.Join(dir, "short")
	if err := os.WriteFile(short, []byte("hunter2-is-my-password"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadSecretFile(short); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("short secret: %v", err)
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, bytes.Repeat([]byte("a"), maxKeyFileBytes+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadSecretFile(big); err == nil {
		t.Error("oversized secret file accepted")
	}
}

func TestCreateSecretFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "uploads")
	path := filepath.Join(dir, "auth.secret")
	secret, err := CreateSecretFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(secret) != MinSecretBytes || bytes.Equal(secret, make([]byte, MinSecretBytes)) {
		t.Fatalf("secret %d bytes, all zero: %v", len(secret), bytes.Equal(secret, make([]byte, MinSecretBytes)))
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %#o, want 0600", fi.Mode().Perm())
	}
	loaded, err := LoadSecretFile(path)
	if err != nil || !bytes.Equal(loaded, secret) {
		t.Errorf("LoadSecretFile after CreateSecretFile = %x, %v; want %x", loaded, err, secret)
	}
	content, _ := os.ReadFile(path)
	if want := base64.StdEncoding.EncodeToString(secret) + "\n"; string(content) != want {
		t.Errorf("file holds %q, want one base64 line", content)
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
		t.Errorf("second secret %x, %v", other, err)
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
