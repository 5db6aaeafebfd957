package store

import (
	"testing"
)

func TestPartSizeFor(t *testing.T) {
	s := &Store{cfg: Config{PartSize: DefaultPartSize}}
	for _, tc := range []struct {
		size     int64
		deferred bool
		want     int64
	}{
		{0, false, DefaultPartSize},
		{DefaultPartSize * MaxParts, false, DefaultPartSize},
		{DefaultPartSize*MaxParts + 1, false, 11 << 20},
		{1 << 40, false, 105 << 20},
		{1 << 40, true, DefaultPartSize},
	} {
		got := s.partSizeFor(tc.size, tc.deferred)
		if got != tc.want {
			t.Errorf("partSizeFor(%d, %v) = %d, want %d", tc.size, tc.deferred, got, tc.want)
		}
		if !tc.deferred && partCount(tc.size, got) > MaxParts {
			t.Errorf("size %d needs %d parts of %d", tc.size, partCount(tc.size, got), got)
		}
	}
}

func TestPartLen(t *testing.T) {
	for _, tc := range []struct{ num, size, ps, want int64 }{
		{1, 10, 4, 4}, {2, 10, 4, 4}, {3, 10, 4, 2}, {1, 4, 4, 4}, {1, 1, 4, 1},
	} {
		if got := partLen(tc.num, tc.size, tc.ps); got != tc.want {
			t.Errorf("partLen(%d, %d, %d) = %d, want %d", tc.num, tc.size, tc.ps, got, tc.want)
		}
	}
}

func TestValidID(t *testing.T) {
	for id, want := range map[string]bool{
		"abc": true, "0123456789abcdef0123456789abcdef": true, "home/alice/x1": true,
		"": false, "a.info": false, "../x": false, "a//b": false, "/a": false, "a b": false,
	} {
		if got := validID(id); got != want {
			t.Errorf("validID(%q) = %v, want %v", id, got, want)
		}
	}
}
