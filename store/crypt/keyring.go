package crypt

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// ErrUnknownKid is returned (wrapped) by Keyring.KEK for a kid not in the ring.
var ErrUnknownKid = errors.New("crypt: unknown key id")

// ErrBadKeyring is returned (wrapped) by LoadKeyring for a malformed file.
var ErrBadKeyring = errors.New("crypt: bad keyring")

const maxKeyringFile = 1 << 20

// Keyring maps key ids (kids) to 32-byte key encryption keys. Primary wraps
// the DEKs of new uploads; the other keys stay for unwrapping old ones.
// On disk it is JSON {"v":1,"primary":"<kid>","keys":{"<kid>":"<base64>"}}.
type Keyring struct {
	Primary string
	Keys    map[string][]byte
}

type keyringFile struct {
	V       int               `json:"v"`
	Primary string            `json:"primary"`
	Keys    map[string]string `json:"keys"`
}

// NewKeyring returns a keyring holding one fresh primary key.
func NewKeyring() (*Keyring, error) {
	k := &Keyring{Keys: map[string][]byte{}}
	if _, err := k.Rotate(); err != nil {
		return nil, err
	}
	return k, nil
}

// Rotate adds a fresh random key, makes it primary and returns its kid
// ("k-" + UTC yyyymmdd + "-" + 6 hex chars). Old keys are kept.
func (k *Keyring) Rotate() (string, error) {
	if k.Keys == nil {
		k.Keys = map[string][]byte{}
	}
	for range 100 {
		var r [3]byte
		if _, err := rand.Read(r[:]); err != nil {
			return "", fmt.Errorf("crypt: random: %w", err)
		}
		kid := "k-" + time.Now().UTC().Format("20060102") + "-" + hex.EncodeToString(r[:])
		if _, dup := k.Keys[kid]; dup {
			continue
		}
		kek, err := randomBytes(KeySize)
		if err != nil {
			return "", err
		}
		k.Keys[kid] = kek
		k.Primary = kid
		return kid, nil
	}
	return "", errors.New("crypt: rotate: cannot find an unused key id")
}

// KEK returns a copy of the key for kid, or an error wrapping ErrUnknownKid.
func (k *Keyring) KEK(kid string) ([]byte, error) {
	kek, ok := k.Keys[kid]
	if !ok {
		if !ValidKid(kid) {
			return nil, fmt.Errorf("%w (invalid id of %d bytes)", ErrUnknownKid, len(kid))
		}
		return nil, fmt.Errorf("%w %q", ErrUnknownKid, kid)
	}
	return append([]byte(nil), kek...), nil
}

// ValidKid reports whether kid is 1..64 printable ASCII characters without
// spaces.
func ValidKid(kid string) bool {
	if len(kid) < 1 || len(kid) > 64 {
		return false
	}
	for i := 0; i < len(kid); i++ {
		if kid[i] <= ' ' || kid[i] > '~' {
			return false
		}
	}
	return true
}

// Validate checks that the primary kid is present, every kid is valid and
// every key is 32 bytes. Its errors name no key bytes.
func (k *Keyring) Validate() error {
	if len(k.Keys) == 0 {
		return fmt.Errorf("%w: no keys", ErrBadKeyring)
	}
	for kid, kek := range k.Keys {
		if !ValidKid(kid) {
			return fmt.Errorf("%w: invalid key id of %d bytes (want 1..64 printable ASCII, no spaces)", ErrBadKeyring, len(kid))
		}
		if len(kek) != KeySize {
			return fmt.Errorf("%w: key %q is %d bytes, want %d", ErrBadKeyring, kid, len(kek), KeySize)
		}
	}
	if _, ok := k.Keys[k.Primary]; !ok {
		if !ValidKid(k.Primary) {
			return fmt.Errorf("%w: missing or invalid primary key id", ErrBadKeyring)
		}
		return fmt.Errorf("%w: primary key %q not in keys", ErrBadKeyring, k.Primary)
	}
	return nil
}

// LoadKeyring reads and validates a keyring file. Its errors never contain
// key bytes (nor the parser's view of the file's contents).
func LoadKeyring(path string) (*Keyring, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("crypt: keyring: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyringFile+1))
	if err != nil {
		return nil, fmt.Errorf("crypt: keyring: %w", err)
	}
	if len(data) > maxKeyringFile {
		return nil, fmt.Errorf("%w: %s: file larger than %d bytes", ErrBadKeyring, path, maxKeyringFile)
	}
	var kf keyringFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&kf); err != nil {
		// json errors may quote parts of the input: report only a position.
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("%w: %s: invalid json near byte %d", ErrBadKeyring, path, se.Offset)
		}
		return nil, fmt.Errorf("%w: %s: not a keyring json object", ErrBadKeyring, path)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: %s: trailing data after json object", ErrBadKeyring, path)
	}
	if kf.V != 1 {
		return nil, fmt.Errorf("%w: %s: unsupported version %d", ErrBadKeyring, path, kf.V)
	}
	k := &Keyring{Primary: kf.Primary, Keys: make(map[string][]byte, len(kf.Keys))}
	for kid, b64 := range kf.Keys {
		kek, err := base64.StdEncoding.Strict().DecodeString(b64)
		if err != nil || len(kek) != KeySize {
			name := fmt.Sprintf("%q", kid)
			if !ValidKid(kid) {
				name = "with an invalid id"
			}
			return nil, fmt.Errorf("%w: %s: key %s is not %d bytes of standard base64", ErrBadKeyring, path, name, KeySize)
		}
		k.Keys[kid] = kek
	}
	if err := k.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// Save writes the keyring to path with mode 0600, atomically: a temporary
// file in the same directory is written, synced and renamed over path, and
// the directory is synced.
func (k *Keyring) Save(path string) (err error) {
	if err := k.Validate(); err != nil {
		return err
	}
	kf := keyringFile{V: 1, Primary: k.Primary, Keys: make(map[string]string, len(k.Keys))}
	for kid, kek := range k.Keys {
		kf.Keys[kid] = base64.StdEncoding.EncodeToString(kek)
	}
	data, err := json.MarshalIndent(kf, "", "  ")
	if err != nil {
		return fmt.Errorf("crypt: keyring: encode: %w", err)
	}
	data = append(data, '\n')
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("crypt: keyring: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("crypt: keyring: %w", err)
	}
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("crypt: keyring: write: %w", err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("crypt: keyring: sync: %w", err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("crypt: keyring: close: %w", err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("crypt: keyring: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("crypt: keyring: sync dir: %w", err)
	}
	defer d.Close()
	if err = d.Sync(); err != nil {
		return fmt.Errorf("crypt: keyring: sync dir: %w", err)
	}
	return nil
}
