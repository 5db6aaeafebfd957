package backendtest

import (
	"bytes"
	"testing"
)

func TestRandomBytes(t *testing.T) {
	a := RandomBytes(1, 1000)
	if len(a) != 1000 {
		t.Fatalf("len = %d, want 1000", len(a))
	}
	if !bytes.Equal(a, RandomBytes(1, 1000)) {
		t.Error("same seed gave different bytes")
	}
	if !bytes.Equal(a[:10], RandomBytes(1, 10)) {
		t.Error("shorter output is not a prefix of the longer one")
	}
	if bytes.Equal(a, RandomBytes(2, 1000)) {
		t.Error("different seeds gave the same bytes")
	}
	if len(RandomBytes(3, 0)) != 0 {
		t.Error("n = 0 gave bytes")
	}
}
