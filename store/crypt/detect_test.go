package crypt

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestUnwrapDEKDetects(t *testing.T) {
	kek, dek := detRand(60, KeySize), detRand(61, KeySize)
	w, err := WrapDEK(kek, dek, "up", "k1")
	if err != nil {
		t.Fatal(err)
	}
	if len(w) != WrappedDEKSize {
		t.Fatalf("wrapped dek is %d bytes", len(w))
	}
	w2, _ := WrapDEK(kek, dek, "up", "k1")
	if bytes.Equal(w, w2) {
		t.Error("two wraps share a nonce")
	}
	if got, err := UnwrapDEK(kek, w, "up", "k1"); err != nil || !bytes.Equal(got, dek) {
		t.Fatalf("round trip failed: %v", err)
	}
	cases := map[string]func() ([]byte, error){
		"wrong kek":       func() ([]byte, error) { return UnwrapDEK(detRand(62, KeySize), w, "up", "k1") },
		"wrong kid":       func() ([]byte, error) { return UnwrapDEK(kek, w, "up", "k2") },
		"wrong upload id": func() ([]byte, error) { return UnwrapDEK(kek, w, "up2", "k1") },
		"shifted fields":  func() ([]byte, error) { return UnwrapDEK(kek, w, "upk", "1") },
		"truncated":       func() ([]byte, error) { return UnwrapDEK(kek, w[:59], "up", "k1") },
	}
	for i := range w {
		bad := bytes.Clone(w)
		bad[i] ^= 0x80
		cases[fmt.Sprintf("tampered byte %d", i)] = func() ([]byte, error) { return UnwrapDEK(kek, bad, "up", "k1") }
	}
	for name, f := range cases {
		got, err := f()
		if !errors.Is(err, ErrAuth) || got != nil {
			t.Errorf("%s: got %v, %v; want nil, ErrAuth", name, got, err)
		}
	}
}

func TestOpenStateDetects(t *testing.T) {
	k := detRand(70, KeySize)
	st := detRand(71, StateSize)
	s, err := SealState(k, st, "up", 100, 3)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := OpenState(k, s, "up", 100, 3); err != nil || !bytes.Equal(got, st) {
		t.Fatalf("round trip failed: %v", err)
	}
	cases := map[string]func() ([]byte, error){
		"wrong key":       func() ([]byte, error) { return OpenState(detRand(72, KeySize), s, "up", 100, 3) },
		"wrong upload id": func() ([]byte, error) { return OpenState(k, s, "uq", 100, 3) },
		"wrong committed": func() ([]byte, error) { return OpenState(k, s, "up", 99, 3) },
		"wrong seq":       func() ([]byte, error) { return OpenState(k, s, "up", 100, 4) },
		"empty":           func() ([]byte, error) { return OpenState(k, nil, "up", 100, 3) },
		"truncated":       func() ([]byte, error) { return OpenState(k, s[:len(s)-1], "up", 100, 3) },
	}
	for i := range s {
		bad := bytes.Clone(s)
		bad[i] ^= 1
		cases[fmt.Sprintf("tampered byte %d", i)] = func() ([]byte, error) { return OpenState(k, bad, "up", 100, 3) }
	}
	for name, f := range cases {
		if got, err := f(); !errors.Is(err, ErrAuth) || got != nil {
			t.Errorf("%s: got %v, %v; want nil, ErrAuth", name, got, err)
		}
	}
}

func TestOpenMetaDetects(t *testing.T) {
	k := detRand(80, KeySize)
	meta := []byte(`{"filename":"a.txt"}`)
	s, err := SealMeta(k, meta, "up")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := OpenMeta(k, s, "up"); err != nil || !bytes.Equal(got, meta) {
		t.Fatalf("round trip failed: %v", err)
	}
	if _, err := OpenMeta(detRand(81, KeySize), s, "up"); !errors.Is(err, ErrAuth) {
		t.Errorf("wrong key: %v", err)
	}
	if _, err := OpenMeta(k, s, "up2"); !errors.Is(err, ErrAuth) {
		t.Errorf("wrong upload id: %v", err)
	}
	for i := range s {
		bad := bytes.Clone(s)
		bad[i] ^= 0x10
		if _, err := OpenMeta(k, bad, "up"); !errors.Is(err, ErrAuth) {
			t.Errorf("tampered byte %d: %v", i, err)
		}
	}
	// Sealed values of one kind do not open as another.
	st, _ := SealState(k, meta, "up", 0, 0)
	if _, err := OpenMeta(k, st, "up"); !errors.Is(err, ErrAuth) {
		t.Errorf("state opened as meta: %v", err)
	}
}

// uploadTag encrypts plain under segs and returns ciphertext and tag.
func uploadTag(t *testing.T, sk Subkeys, id string, segs []Segment, plain []byte) ([]byte, []byte) {
	t.Helper()
	c, err := NewCipher(sk.Enc, segs)
	if err != nil {
		t.Fatal(err)
	}
	ct := make([]byte, len(plain))
	c.XORAt(ct, plain, 0)
	m := NewMAC(sk.MAC)
	m.Write(ct)
	return ct, m.Tag(Trailer(id, 1<<20, segs, int64(len(ct))))
}

func verifyTag(sk Subkeys, id string, segs []Segment, ct, tag []byte) bool {
	m := NewMAC(sk.MAC)
	m.Write(ct)
	return TagEqual(m.Tag(Trailer(id, 1<<20, segs, int64(len(ct)))), tag)
}

func TestTagDetects(t *testing.T) {
	sk, err := DeriveSubkeys(detRand(90, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	segs := []Segment{{Off: 0, IV: detRand(91, 16)}, {Off: 50, IV: detRand(92, 16)}}
	plain := detRand(93, 120)
	ct, tag := uploadTag(t, sk, "up", segs, plain)
	if !verifyTag(sk, "up", segs, ct, tag) {
		t.Fatal("genuine upload fails its tag")
	}
	for i := range ct {
		bad := bytes.Clone(ct)
		bad[i] ^= 4
		if verifyTag(sk, "up", segs, bad, tag) {
			t.Errorf("tampered ciphertext byte %d passes", i)
		}
	}
	swapped := []Segment{{Off: 0, IV: segs[1].IV}, {Off: 50, IV: segs[0].IV}}
	if verifyTag(sk, "up", swapped, ct, tag) {
		t.Error("swapped segment IVs pass")
	}
	moved := []Segment{segs[0], {Off: 51, IV: segs[1].IV}}
	if verifyTag(sk, "up", moved, ct, tag) {
		t.Error("moved segment boundary passes")
	}
	if verifyTag(sk, "up", segs, ct[:len(ct)-1], tag) {
		t.Error("truncated ciphertext passes")
	}
	if verifyTag(sk, "up", segs, append(bytes.Clone(ct), 0), tag) {
		t.Error("extended ciphertext passes")
	}
	if verifyTag(sk, "other", segs, ct, tag) {
		t.Error("ciphertext of another upload id passes")
	}
	// Swapped IVs also decrypt to something else.
	c, _ := NewCipher(sk.Enc, swapped)
	got := make([]byte, len(ct))
	c.XORAt(got, ct, 0)
	if bytes.Equal(got, plain) {
		t.Error("swapped IVs decrypt to the plaintext")
	}
}

func TestKeyLengthErrors(t *testing.T) {
	dek := detRand(95, KeySize)
	if _, err := WrapDEK(dek[:16], dek, "u", "k"); err == nil {
		t.Error("WrapDEK accepted a 16-byte kek")
	}
	if _, err := WrapDEK(dek, dek[:31], "u", "k"); err == nil {
		t.Error("WrapDEK accepted a 31-byte dek")
	}
	if _, err := WrapDEK(dek, dek, strings.Repeat("x", MaxIDLen+1), "k"); err == nil {
		t.Error("WrapDEK accepted an over-long upload id")
	}
	if _, err := DeriveSubkeys(dek[:20]); err == nil {
		t.Error("DeriveSubkeys accepted a 20-byte dek")
	}
	if _, err := SealMeta(dek[:5], nil, "u"); err == nil || strings.Contains(err.Error(), string(dek[:5])) {
		t.Errorf("SealMeta with short key: %v", err)
	}
	a, _ := NewDEK()
	b, _ := NewDEK()
	iv, _ := NewIV()
	if len(a) != KeySize || len(iv) != IVSize || bytes.Equal(a, b) {
		t.Error("NewDEK/NewIV give wrong lengths or repeat")
	}
}
