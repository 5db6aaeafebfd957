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

// LoadSecretFile reads the HS256 secret of -auth-secret-file. Surrounding
// whitespace is trimmed; content that is padded standard base64 is
// decoded (the form CreateSecretFile writes) and must give at least
// MinSecretBytes bytes; any other content of at least MinSecretBytes
// bytes is the secret itself. The minting host must read the file the
// same way.
func LoadSecretFile(path string) ([]byte, error) {
	data, err := readKeyFile(path)
	if err != nil {
		return nil, fmt.Errorf("auth secret: %w", err)
	}
	secret, err := decodeSecret(data)
	if err != nil {
		return nil, fmt.Errorf("auth secret %s: %w", path, err)
	}
	return secret, nil
}

// decodeSecret applies the LoadSecretFile rules to a file's content.
func decodeSecret(data []byte) ([]byte, error) {
	trimmed := bytes.TrimSpace(data)
	if dec, err := base64.StdEncoding.Strict().DecodeString(string(trimmed)); err == nil && len(trimmed) > 0 {
		if len(dec) < MinSecretBytes {
			return nil, fmt.Errorf("base64 of %d bytes, want at least %d (create one with: head -c 32 /dev/urandom | base64)",
				len(dec), MinSecretBytes)
		}
		return dec, nil
	}
	if len(trimmed) < MinSecretBytes {
		return nil, fmt.Errorf("shorter than %d bytes (create one with: head -c 32 /dev/urandom | base64)", MinSecretBytes)
	}
	return bytes.Clone(trimmed), nil
}

// CreateSecretFile writes a new random secret of MinSecretBytes bytes to
// path as a base64 line, mode 0600, creating its directory (0700), and
// returns the secret. It never replaces a file: the secret is written to
// a temporary file in the same directory and linked into place, which
// fails with an error wrapping fs.ErrExist if path exists (a rename would
// silently replace a file created meanwhile).
func CreateSecretFile(path string) ([]byte, error) {
	secret := make([]byte, MinSecretBytes)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("auth secret: %w", err)
	}
	line := base64.StdEncoding.EncodeToString(secret) + "\n"
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
