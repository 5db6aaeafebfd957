package store

import (
	"bytes"
	"crypto/sha256"
	"testing"

	"github.com/tusvault/tusvault/store/crypt"
)

// testTags returns n distinct chunk tags, from tag number first.
func testTags(first, n int) []byte {
	var b []byte
	for i := first; i < first+n; i++ {
		b = append(b, bytes.Repeat([]byte{byte(i)}, crypt.ChunkTagSize)...)
	}
	return b
}

// Committed part by part, through a seal and open of its state after
// every part, the digest sums to SHA-256 of all the tags; the held-back
// last tag can be replaced by its final re-seal; the state refuses
// malformed encodings.
func TestTagDigest(t *testing.T) {
	roundTrip := func(d *tagDigest) *tagDigest {
		t.Helper()
		state, err := d.state()
		if err != nil {
			t.Fatal(err)
		}
		back, err := openTagDigest(state)
		if err != nil {
			t.Fatal(err)
		}
		return back
	}
	empty := roundTrip(newTagDigest())
	if sum, err := empty.sum(); err != nil || !bytes.Equal(sum, crypt.TagsDigest(nil)) {
		t.Fatalf("empty upload: %x, %v", sum, err)
	}

	all := testTags(0, 7)
	d := newTagDigest()
	for i, part := range [][]byte{all[:3*16], all[3*16 : 6*16], all[6*16:]} {
		if err := d.commit(part, i == 2); err != nil {
			t.Fatal(err)
		}
		d = roundTrip(d)
	}
	if sum, err := d.sum(); err != nil || !bytes.Equal(sum, crypt.TagsDigest(all)) {
		t.Fatalf("sum %x, %v, want %x", sum, err, crypt.TagsDigest(all))
	}
	if again, _ := d.sum(); !bytes.Equal(again, crypt.TagsDigest(all)) {
		t.Fatal("sum changed the digest")
	}

	// The last chunk sealed non-final (deferred length) and re-sealed at
	// completion.
	d = newTagDigest()
	if err := d.commit(all[:4*16], false); err != nil {
		t.Fatal(err)
	}
	d = roundTrip(d)
	if _, err := d.sum(); err == nil {
		t.Fatal("summed with a held-back tag that is not final")
	}
	final := testTags(99, 1)
	d.resealed(final)
	want := sha256.Sum256(append(bytes.Clone(all[:3*16]), final...))
	if sum, err := roundTrip(d).sum(); err != nil || !bytes.Equal(sum, want[:]) {
		t.Fatalf("after the re-seal: %x, %v, want %x", sum, err, want)
	}

	if err := d.commit(all[:15], false); err == nil {
		t.Fatal("committed a partial tag")
	}
	if err := d.commit(nil, false); err == nil {
		t.Fatal("committed a part without tags")
	}
	state, _ := d.state()
	for name, bad := range map[string][]byte{
		"short":      state[:crypt.StateSize-1],
		"torn tag":   state[:crypt.StateSize+5],
		"bad flag":   append(state[:len(state)-1:len(state)-1], 2),
		"bad header": append([]byte("xyz\x03"), state[4:]...),
	} {
		if _, err := openTagDigest(bad); err == nil {
			t.Errorf("%s state: accepted", name)
		}
	}
}
