package crypt

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"testing"
)

// TestDeriveLinkKey checks the derivation against RFC 5869 written out
// with HMAC (one block of expand), and that it differs from every key of
// the format derived from the same secret.
func TestDeriveLinkKey(t *testing.T) {
	kek := bytes.Repeat([]byte{0x42}, KeySize)
	got, err := DeriveLinkKey(kek)
	if err != nil {
		t.Fatal(err)
	}
	extract := hmac.New(sha256.New, make([]byte, sha256.Size))
	extract.Write(kek)
	expand := hmac.New(sha256.New, extract.Sum(nil))
	expand.Write([]byte("tusvault/download-link/v1"))
	expand.Write([]byte{1})
	if want := expand.Sum(nil); !bytes.Equal(got, want) {
		t.Fatalf("link key %x, want %x", got, want)
	}
	sk, err := DeriveSubkeys(kek)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range [][]byte{sk.Enc, sk.MAC, sk.State, sk.Meta, kek} {
		if bytes.Equal(k, got) {
			t.Fatal("the link key equals another key")
		}
	}
	if _, err := DeriveLinkKey(kek[:16]); err == nil {
		t.Fatal("a 16-byte KEK was accepted")
	}
}
