package crypt

import (
	"bytes"
	"errors"
	"testing"
)

func TestPageRoundTripAndBindings(t *testing.T) {
	key := detRand(130, KeySize)
	segs := []Segment{{Off: 0, IV: detRand(131, IVSize)}, {Off: 37, IV: detRand(132, IVSize)}, {Off: 1 << 40, IV: detRand(133, IVSize)}}
	p0, h0, err := SealPage(key, "up", 0, nil, segs[:1])
	if err != nil {
		t.Fatal(err)
	}
	p1, h1, err := SealPage(key, "up", 1, h0, segs[1:])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(h1, PageHash(p1)) || len(h1) != PageHashSize {
		t.Fatalf("hash %x, want SHA-256 of the page", h1)
	}
	if got, err := OpenPage(key, "up", 0, make([]byte, PageHashSize), p0); err != nil || len(got) != 1 || got[0].Off != 0 || !bytes.Equal(got[0].IV, segs[0].IV) {
		t.Fatalf("page 0 with a zero previous hash: %v, %v", got, err)
	}
	got, err := OpenPage(key, "up", 1, h0, p1)
	if err != nil || len(got) != 2 {
		t.Fatalf("page 1: %v, %v", got, err)
	}
	for i, s := range got {
		if s.Off != segs[i+1].Off || !bytes.Equal(s.IV, segs[i+1].IV) {
			t.Errorf("segment %d: %+v, want %+v", i, s, segs[i+1])
		}
	}
	flipped := bytes.Clone(p1)
	flipped[len(flipped)-1] ^= 1
	for _, tc := range []struct {
		name  string
		key   []byte
		id    string
		index uint32
		prev  []byte
		page  []byte
	}{
		{"other key", detRand(134, KeySize), "up", 1, h0, p1},
		{"other upload", key, "down", 1, h0, p1},
		{"other index", key, "up", 2, h0, p1},
		{"other previous page", key, "up", 1, h1, p1},
		{"first page at 1", key, "up", 1, h0, p0},
		{"flipped byte", key, "up", 1, h0, flipped},
		{"truncated", key, "up", 1, h0, p1[:10]},
		{"short previous hash", key, "up", 1, h0[:31], p1},
	} {
		if _, err := OpenPage(tc.key, tc.id, tc.index, tc.prev, tc.page); !errors.Is(err, ErrAuth) {
			t.Errorf("%s: %v, want ErrAuth", tc.name, err)
		}
	}
	if _, _, err := SealPage(key, "up", 0, nil, []Segment{{Off: 1, IV: []byte{1}}}); err == nil {
		t.Error("sealed a segment with a 1-byte IV")
	}
}
