package store

import (
	"context"

	"github.com/tusvault/tusvault/store/crypt"
)

// SetMaxParts replaces MaxParts for the store built from c, so that tests
// reach the part limit with small uploads.
func SetMaxParts(c *Config, n int64) { c.maxParts = n }

// SetPageLen sets how many segments a segment page holds for the store
// built from c; negative makes it write the v1 layout, never paging.
func SetPageLen(c *Config, n int) { c.pageLen = n }

// ForgeHistory gives the upload id a history of n PATCHes without sending
// them, for benchmarks: n one-byte segments at offsets 0 … n-1 in front
// of one committed part whose bytes are not stored (the upload takes more
// PATCHes, from offset PartSize, but cannot complete).
func ForgeHistory(ctx context.Context, s *Store, id string, n int) error {
	u, err := s.load(ctx, id)
	if err != nil {
		return err
	}
	state, err := u.macState()
	if err != nil {
		return err
	}
	segs := make([]crypt.Segment, n)
	for i := range segs {
		iv, err := crypt.NewIV()
		if err != nil {
			return err
		}
		segs[i] = crypt.Segment{Off: int64(i), IV: iv}
	}
	return u.update(ctx, state, func(next *infoFile) {
		next.Enc.Segments, next.Enc.Committed = segs, next.Enc.PartSize
	})
}
