package hooks

// Key files of token auth (-auth-secret-file, -auth-public-key-file, the
// private key of `tusvault token`) and the one algorithm each key type
// selects. Errors name the file and what is wrong, never key bytes.

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/golang-jwt/jwt/v5"
)

const (
	// MinSecretBytes is the shortest HS256 secret accepted.
	MinSecretBytes = 32
	// MinRSABits is the smallest RSA modulus accepted.
	MinRSABits = 2048
	// maxKeyFileBytes bounds what a key file loader reads.
	maxKeyFileBytes = 64 << 10
)

// publicKeyMethod returns the one signing method pub verifies.
func publicKeyMethod(pub crypto.PublicKey) (jwt.SigningMethod, error) {
	switch k := pub.(type) {
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("ed25519 public key is %d bytes, want %d", len(k), ed25519.PublicKeySize)
		}
		return jwt.SigningMethodEdDSA, nil
	case *rsa.PublicKey:
		if k == nil || k.N == nil || k.N.BitLen() < MinRSABits {
			return nil, fmt.Errorf("RSA public key is shorter than %d bits", MinRSABits)
		}
		return jwt.SigningMethodRS256, nil
	case *ecdsa.PublicKey:
		if k == nil || k.Curve != elliptic.P256() {
			return nil, errors.New("ECDSA public key is not on P-256 (ES256)")
		}
		if _, err := k.Bytes(); err != nil {
			return nil, fmt.Errorf("ECDSA public key: %w", err)
		}
		return jwt.SigningMethodES256, nil
	default:
		return nil, fmt.Errorf("unsupported public key type %T (want Ed25519, RSA or ECDSA P-256)", pub)
	}
}

// signerMethod returns the signing method of a private key; jwt signs
// only with these concrete types.
func signerMethod(key crypto.Signer) (jwt.SigningMethod, error) {
	switch k := key.(type) {
	case ed25519.PrivateKey:
		if len(k) != ed25519.PrivateKeySize {
			return nil, fmt.Errorf("ed25519 private key is %d bytes, want %d", len(k), ed25519.PrivateKeySize)
		}
		return jwt.SigningMethodEdDSA, nil
	case *rsa.PrivateKey:
		if k == nil {
			return nil, errors.New("nil RSA private key")
		}
		return publicKeyMethod(&k.PublicKey)
	case *ecdsa.PrivateKey:
		if k == nil {
			return nil, errors.New("nil ECDSA private key")
		}
		return publicKeyMethod(&k.PublicKey)
	default:
		return nil, fmt.Errorf("unsupported private key type %T (want Ed25519, RSA or ECDSA P-256)", key)
	}
}

// readKeyFile reads a small key file.
func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("%s: is a directory", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxKeyFileBytes {
		return nil, fmt.Errorf("%s: longer than %d bytes", path, maxKeyFileBytes)
	}
	return data, nil
}

// SecretEncoding says how LoadSecretFile turns the content of a secret
// file into the HS256 key. The zero value is SecretRaw.
type SecretEncoding int

const (
	// SecretRaw takes the file's content as written, surrounding
	// whitespace trimmed, as the key: what PostgREST, Hasura and JWT
	// libraries do with a shared secret, and what a host application gets
	// from open(path).read().strip(). The default.
	SecretRaw SecretEncoding = iota
	// SecretBase64 decodes the trimmed content as base64, in the standard
	// or the URL-safe alphabet, padded or not (line breaks are ignored);
	// the key is the decoded bytes.
	SecretBase64
)

// String is the name of e as -auth-secret-encoding takes it: "raw" or
// "base64".
func (e SecretEncoding) String() string {
	switch e {
	case SecretRaw:
		return "raw"
	case SecretBase64:
		return "base64"
	default:
		return fmt.Sprintf("SecretEncoding(%d)", int(e))
	}
}

// MarshalText returns the name of e.
func (e SecretEncoding) MarshalText() ([]byte, error) {
	if e != SecretRaw && e != SecretBase64 {
		return nil, fmt.Errorf("unknown secret encoding %d", int(e))
	}
	return []byte(e.String()), nil
}

// UnmarshalText sets e from its name, "raw" or "base64".
func (e *SecretEncoding) UnmarshalText(text []byte) error {
	switch string(text) {
	case "raw":
		*e = SecretRaw
	case "base64":
		*e = SecretBase64
	default:
		return fmt.Errorf("unknown secret encoding %q (want raw or base64)", text)
	}
	return nil
}

// generator is a shell command printing a good secret for e.
func (e SecretEncoding) generator() string {
	if e == SecretBase64 {
		return "openssl rand -base64 32"
	}
	return "openssl rand -hex 32"
}

// errShortSecret is wrapped by the error of a secret shorter than
// MinSecretBytes.
var errShortSecret = errors.New("secret too short")

// LoadSecretFile reads the HS256 key of -auth-secret-file, the way enc
// says: the file's text as written, surrounding whitespace trimmed
// (SecretRaw), or that text base64-decoded (SecretBase64). A key shorter
// than MinSecretBytes is an error that names the file and a command that
// makes a good one. The minting host must read the file the same way.
// Errors never hold bytes of the file.
func LoadSecretFile(path string, enc SecretEncoding) ([]byte, error) {
	data, err := readKeyFile(path)
	if err != nil {
		return nil, fmt.Errorf("auth secret: %w", err)
	}
	secret, err := parseSecret(data, enc)
	if errors.Is(err, errShortSecret) {
		return nil, fmt.Errorf("auth secret %s: %w; make a good one with: %s > %s", path, err, enc.generator(), path)
	}
	if err != nil {
		return nil, fmt.Errorf("auth secret %s: %w", path, err)
	}
	return secret, nil
}

// parseSecret applies the LoadSecretFile rules of enc to a file's content.
func parseSecret(data []byte, enc SecretEncoding) ([]byte, error) {
	trimmed := bytes.TrimSpace(data)
	var secret []byte
	var how string
	switch enc {
	case SecretRaw:
		secret, how = bytes.Clone(trimmed), "after trimming whitespace"
	case SecretBase64:
		var err error
		if secret, err = decodeBase64(trimmed); err != nil {
			return nil, err
		}
		how = "base64-decoded"
	default:
		return nil, fmt.Errorf("unknown secret encoding %d", int(enc))
	}
	if len(secret) < MinSecretBytes {
		return nil, fmt.Errorf("%w: %d bytes %s, want at least %d", errShortSecret, len(secret), how, MinSecretBytes)
	}
	return secret, nil
}

// decodeBase64 decodes text in the standard or the URL-safe alphabet,
// padded or not; CR and LF are ignored. Its error does not quote text.
func decodeBase64(text []byte) ([]byte, error) {
	enc := base64.StdEncoding
	if bytes.ContainsAny(text, "-_") {
		enc = base64.URLEncoding
	}
	if !bytes.HasSuffix(text, []byte("=")) {
		enc = enc.WithPadding(base64.NoPadding)
	}
	dec := make([]byte, enc.DecodedLen(len(text)))
	n, err := enc.Decode(dec, text)
	if err != nil {
		// The decoder's error gives an offset, never the text.
		return nil, fmt.Errorf("not base64 (standard or URL-safe alphabet): %w", err)
	}
	return dec[:n], nil
}

// CreateSecretFile writes a new secret to path, mode 0600, creating its
// directory (0700), and returns the key: 32 random bytes rendered as
// unpadded base64url, 43 characters of URL-safe text that are the key as
// written (what LoadSecretFile with SecretRaw reads back, and what a host
// application reads with open(path).read().strip()). It never replaces a
// file: the secret is written to a temporary file in the same directory
// and linked into place, which fails with an error wrapping fs.ErrExist
// if path exists (a rename would silently replace a file created
// meanwhile, by another process starting on the same directory).
func CreateSecretFile(path string) ([]byte, error) {
	random := make([]byte, MinSecretBytes)
	if _, err := rand.Read(random); err != nil {
		return nil, fmt.Errorf("auth secret: %w", err)
	}
	secret := []byte(base64.RawURLEncoding.EncodeToString(random))
	line := string(secret) + "\n"
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("auth secret %s: %w", path, err)
	}
	if _, err := os.Lstat(path); err == nil {
		return nil, fmt.Errorf("auth secret %s: %w", path, fs.ErrExist)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".new-*") // mode 0600
	if err != nil {
		return nil, fmt.Errorf("auth secret %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(line)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("auth secret %s: %w", path, err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("auth secret %s: %w", path, fs.ErrExist)
		}
		return nil, fmt.Errorf("auth secret %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil { // persist the new name; best effort
		d.Sync()
		d.Close()
	}
	return secret, nil
}

// LoadPublicKeyFile reads the PEM public key of -auth-public-key-file: a
// "PUBLIC KEY" block (PKIX, as `openssl pkey -pubout` writes) holding an
// Ed25519, RSA (at least 2048 bits) or ECDSA P-256 key; an "RSA PUBLIC
// KEY" block (PKCS #1) is accepted too.
func LoadPublicKeyFile(path string) (crypto.PublicKey, error) {
	data, err := readKeyFile(path)
	if err != nil {
		return nil, fmt.Errorf("auth public key: %w", err)
	}
	pub, err := parsePublicKeyPEM(data)
	if err != nil {
		return nil, fmt.Errorf("auth public key %s: %w", path, err)
	}
	return pub, nil
}

func parsePublicKeyPEM(data []byte) (crypto.PublicKey, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, errors.New(`no PEM "PUBLIC KEY" block`)
		}
		var pub crypto.PublicKey
		var err error
		switch block.Type {
		case "PUBLIC KEY":
			pub, err = x509.ParsePKIXPublicKey(block.Bytes)
		case "RSA PUBLIC KEY":
			pub, err = x509.ParsePKCS1PublicKey(block.Bytes)
		case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY":
			return nil, errors.New("holds a private key; give the public key (openssl pkey -in key.pem -pubout)")
		default:
			continue
		}
		if err != nil {
			return nil, err
		}
		if _, err := publicKeyMethod(pub); err != nil {
			return nil, err
		}
		return pub, nil
	}
}

// LoadPrivateKeyFile reads an unencrypted PEM private key to mint tokens
// with: "PRIVATE KEY" (PKCS #8), "EC PRIVATE KEY" (SEC 1, an "EC
// PARAMETERS" block before it is skipped) or "RSA PRIVATE KEY" (PKCS #1),
// holding an Ed25519, RSA (at least 2048 bits) or ECDSA P-256 key.
func LoadPrivateKeyFile(path string) (crypto.Signer, error) {
	data, err := readKeyFile(path)
	if err != nil {
		return nil, fmt.Errorf("private key: %w", err)
	}
	key, err := parsePrivateKeyPEM(data)
	if err != nil {
		return nil, fmt.Errorf("private key %s: %w", path, err)
	}
	return key, nil
}

func parsePrivateKeyPEM(data []byte) (crypto.Signer, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, errors.New(`no PEM "PRIVATE KEY" block`)
		}
		if _, encrypted := block.Headers["Proc-Type"]; encrypted || block.Type == "ENCRYPTED PRIVATE KEY" {
			return nil, errors.New("encrypted private keys are not supported (decrypt with: openssl pkey -in key.pem -out plain.pem)")
		}
		var key any
		var err error
		switch block.Type {
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		case "PUBLIC KEY", "RSA PUBLIC KEY":
			return nil, errors.New("holds a public key, not a private key")
		default:
			continue // "EC PARAMETERS", comments
		}
		if err != nil {
			return nil, err
		}
		signer, ok := key.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("unsupported private key type %T (want Ed25519, RSA or ECDSA P-256)", key)
		}
		if _, err := signerMethod(signer); err != nil {
			return nil, err
		}
		return signer, nil
	}
}
