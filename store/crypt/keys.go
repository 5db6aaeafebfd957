package crypt

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// Format constants.
const (
	Version        = 1               // format version stored in .info and object metadata
	Alg            = "A256CTR-HS256" // algorithm name stored in .info
	KeySize        = 32              // KEK, DEK and subkey size
	IVSize         = 16              // segment IV size (one AES block)
	NonceSize      = 12              // AES-GCM nonce size
	WrappedDEKSize = NonceSize + KeySize + 16
	// MaxIDLen is the longest upload id (or kid) that a u16 length prefix can
	// encode.
	MaxIDLen = 0xffff
)

// ErrAuth is returned (wrapped) by every failure to open, unwrap or resume
// secret data: wrong key, wrong binding data (AAD) or tampering.
var ErrAuth = errors.New("crypt: authentication failed")

// errKeySize reports a key of the wrong length; it carries no key bytes.
func errKeySize(what string, n int) error {
	return fmt.Errorf("crypt: %s must be %d bytes, got %d", what, KeySize, n)
}

// NewDEK returns a fresh random 32-byte data encryption key.
func NewDEK() ([]byte, error) { return randomBytes(KeySize) }

// NewIV returns a fresh random 16-byte segment IV.
func NewIV() ([]byte, error) { return randomBytes(IVSize) }

func randomBytes(n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("crypt: random: %w", err)
	}
	return b, nil
}

// appendLP appends lp(s) = u16 len(s) ‖ s.
func appendLP(b []byte, s string) ([]byte, error) {
	if len(s) > MaxIDLen {
		return nil, fmt.Errorf("crypt: field of %d bytes is too long to length-prefix", len(s))
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...), nil
}

func dekAAD(uploadID, kid string) ([]byte, error) {
	b, err := appendLP([]byte("tusvault/v1/dek"), uploadID)
	if err != nil {
		return nil, err
	}
	return appendLP(b, kid)
}

// newGCM returns AES-256-GCM with the standard 12-byte nonce.
func newGCM(key []byte, what string) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, errKeySize(what, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("crypt: %s: %w", what, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("crypt: %s: %w", what, err)
	}
	return aead, nil
}

// seal returns nonce ‖ GCM-Seal(key, nonce, plain, aad). A nil nonce means
// a fresh random one.
func seal(key, nonce, plain, aad []byte, what string) ([]byte, error) {
	aead, err := newGCM(key, what)
	if err != nil {
		return nil, err
	}
	if nonce == nil {
		if nonce, err = randomBytes(NonceSize); err != nil {
			return nil, err
		}
	} else if len(nonce) != NonceSize {
		return nil, fmt.Errorf("crypt: %s: nonce must be %d bytes", what, NonceSize)
	}
	out := make([]byte, 0, NonceSize+len(plain)+aead.Overhead())
	out = append(out, nonce...)
	return aead.Seal(out, nonce, plain, aad), nil
}

// open reverses seal; every failure to authenticate wraps ErrAuth.
func open(key, sealed, aad []byte, what string) ([]byte, error) {
	aead, err := newGCM(key, what)
	if err != nil {
		return nil, err
	}
	if len(sealed) < NonceSize+aead.Overhead() {
		return nil, fmt.Errorf("crypt: %s: too short: %w", what, ErrAuth)
	}
	plain, err := aead.Open(nil, sealed[:NonceSize], sealed[NonceSize:], aad)
	if err != nil {
		return nil, fmt.Errorf("crypt: %s: %w", what, ErrAuth)
	}
	return plain, nil
}

// WrapDEK encrypts dek under kek, bound to uploadID and kid:
// nonce(12) ‖ AES-256-GCM-Seal(kek, nonce, dek, "tusvault/v1/dek" ‖
// lp(uploadID) ‖ lp(kid)), WrappedDEKSize bytes, with a random nonce.
func WrapDEK(kek, dek []byte, uploadID, kid string) ([]byte, error) {
	return wrapDEK(kek, nil, dek, uploadID, kid)
}

func wrapDEK(kek, nonce, dek []byte, uploadID, kid string) ([]byte, error) {
	if len(dek) != KeySize {
		return nil, errKeySize("dek", len(dek))
	}
	aad, err := dekAAD(uploadID, kid)
	if err != nil {
		return nil, err
	}
	return seal(kek, nonce, dek, aad, "wrap dek")
}

// UnwrapDEK reverses WrapDEK. A wrong KEK, upload id or kid, or a tampered
// value gives an error wrapping ErrAuth.
func UnwrapDEK(kek, wrapped []byte, uploadID, kid string) ([]byte, error) {
	if len(kek) != KeySize {
		return nil, errKeySize("kek", len(kek))
	}
	if len(wrapped) != WrappedDEKSize {
		return nil, fmt.Errorf("crypt: unwrap dek: wrapped dek is %d bytes, want %d: %w",
			len(wrapped), WrappedDEKSize, ErrAuth)
	}
	aad, err := dekAAD(uploadID, kid)
	if err != nil {
		return nil, fmt.Errorf("crypt: unwrap dek: %w", ErrAuth)
	}
	return open(kek, wrapped, aad, "unwrap dek")
}

// Subkeys are the per-upload keys derived from the DEK, 32 bytes each.
type Subkeys struct {
	Enc   []byte // AES-256-CTR data key
	MAC   []byte // HMAC-SHA256 key for the data tag
	State []byte // AES-256-GCM key sealing the MAC state
	Meta  []byte // AES-256-GCM key sealing client metadata
}

// DeriveSubkeys derives K_x = HKDF-SHA256(secret = dek, salt = empty,
// info = "tusvault/v1/" ‖ x) for x in enc, mac, state, meta.
func DeriveSubkeys(dek []byte) (Subkeys, error) {
	if len(dek) != KeySize {
		return Subkeys{}, errKeySize("dek", len(dek))
	}
	var sk Subkeys
	for _, d := range []struct {
		dst  *[]byte
		info string
	}{{&sk.Enc, "enc"}, {&sk.MAC, "mac"}, {&sk.State, "state"}, {&sk.Meta, "meta"}} {
		k, err := hkdf.Key(sha256.New, dek, nil, "tusvault/v1/"+d.info, KeySize)
		if err != nil {
			return Subkeys{}, fmt.Errorf("crypt: derive %s key: %w", d.info, err)
		}
		*d.dst = k
	}
	return sk, nil
}
