package crypt

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var kidPattern = regexp.MustCompile(`^k-[0-9]{8}-[0-9a-f]{6}$`)

func TestKeyringRoundTrip(t *testing.T) {
	k, err := NewKeyring()
	if err != nil {
		t.Fatal(err)
	}
	if !kidPattern.MatchString(k.Primary) || len(k.Keys) != 1 || len(k.Keys[k.Primary]) != KeySize {
		t.Fatalf("new keyring: primary %q, %d keys", k.Primary, len(k.Keys))
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "keyring.json")
	if err := k.Save(path); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("keyring file mode %v, want 0600", fi.Mode().Perm())
	}
	l, err := LoadKeyring(path)
	if err != nil {
		t.Fatal(err)
	}
	if l.Primary != k.Primary || !bytes.Equal(l.Keys[k.Primary], k.Keys[k.Primary]) || len(l.Keys) != 1 {
		t.Error("loaded keyring differs from saved one")
	}

	old := k.Primary
	oldKEK, _ := k.KEK(old)
	kid, err := k.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	if kid == old || k.Primary != kid || !kidPattern.MatchString(kid) || len(k.Keys) != 2 {
		t.Fatalf("rotate: kid %q primary %q, %d keys", kid, k.Primary, len(k.Keys))
	}
	if got, err := k.KEK(old); err != nil || !bytes.Equal(got, oldKEK) {
		t.Error("rotate lost the old key")
	}
	newKEK, _ := k.KEK(kid)
	if bytes.Equal(newKEK, oldKEK) {
		t.Error("rotate reused key bytes")
	}
	if err := k.Save(path); err != nil { // overwrite
		t.Fatal(err)
	}
	l, err = LoadKeyring(path)
	if err != nil {
		t.Fatal(err)
	}
	if l.Primary != kid || len(l.Keys) != 2 || !bytes.Equal(l.Keys[old], oldKEK) {
		t.Error("rotated keyring did not round-trip")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("Save left %d files in its directory, want 1", len(ents))
	}
	if _, err := k.KEK("nope"); !errors.Is(err, ErrUnknownKid) {
		t.Errorf("unknown kid: %v", err)
	}
	// KEK returns a copy.
	got, _ := k.KEK(kid)
	got[0] ^= 1
	if again, _ := k.KEK(kid); !bytes.Equal(again, newKEK) {
		t.Error("KEK returned the keyring's own slice")
	}
}

func TestLoadKeyringRejects(t *testing.T) {
	key := bytes.Repeat([]byte{0x5a}, KeySize)
	good := base64.StdEncoding.EncodeToString(key)
	short := base64.StdEncoding.EncodeToString(key[:31])
	secrets := []string{good, short, string(key), "S3CRETS3CRET"}
	dir := t.TempDir()
	for name, body := range map[string]string{
		"empty":           ``,
		"not json":        `S3CRETS3CRET`,
		"truncated":       `{"v":1,"primary":"a","keys":{"a":"` + good,
		"array":           `["` + good + `"]`,
		"wrong type":      `{"v":1,"primary":"a","keys":{"a":12}}`,
		"version":         `{"v":2,"primary":"a","keys":{"a":"` + good + `"}}`,
		"no primary":      `{"v":1,"keys":{"a":"` + good + `"}}`,
		"primary missing": `{"v":1,"primary":"b","keys":{"a":"` + good + `"}}`,
		"no keys":         `{"v":1,"primary":"a","keys":{}}`,
		"short key":       `{"v":1,"primary":"a","keys":{"a":"` + short + `"}}`,
		"bad base64":      `{"v":1,"primary":"a","keys":{"a":"S3CRETS3CRET!!"}}`,
		"kid with space":  `{"v":1,"primary":"a b","keys":{"a b":"` + good + `"}}`,
		"kid too long":    `{"v":1,"primary":"a","keys":{"a":"` + good + `","` + strings.Repeat("x", 65) + `":"` + good + `"}}`,
		"kid is key":      `{"v":1,"primary":"a","keys":{"a":"` + good + `","` + string(key[:3]) + "\x01" + `":"` + good + `"}}`,
		"unknown field":   `{"v":1,"primary":"a","keys":{"a":"` + good + `"},"S3CRETS3CRET":1}`,
		"trailing":        `{"v":1,"primary":"a","keys":{"a":"` + good + `"}}{"S3CRETS3CRET":1}`,
	} {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".json")
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		k, err := LoadKeyring(path)
		if err == nil || k != nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if !errors.Is(err, ErrBadKeyring) {
			t.Errorf("%s: error %v does not wrap ErrBadKeyring", name, err)
		}
		for _, s := range secrets {
			if strings.Contains(err.Error(), s) {
				t.Errorf("%s: error %q leaks file contents", name, err)
			}
		}
	}
	if _, err := LoadKeyring(filepath.Join(dir, "missing.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	// A valid file still loads (the table above is not rejecting everything).
	path := filepath.Join(dir, "ok.json")
	os.WriteFile(path, []byte(`{"v":1,"primary":"a","keys":{"a":"`+good+`"}}`), 0o600)
	if _, err := LoadKeyring(path); err != nil {
		t.Errorf("valid file: %v", err)
	}
}

func TestKeyringSaveRejectsInvalid(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.json")
	bad := &Keyring{Primary: "a", Keys: map[string][]byte{"a": make([]byte, 16)}}
	if err := bad.Save(path); err == nil {
		t.Error("saved a keyring with a 16-byte key")
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Error("failed Save left a file")
	}
}
