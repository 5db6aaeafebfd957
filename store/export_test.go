package store

import (
	"bytes"
	"context"
	"crypto/aes"
	"fmt"

	"github.com/tusvault/tusvault/store/crypt"
)

// SetMaxParts replaces MaxParts for the store built from c, so that tests
// reach the part limit with small uploads.
func SetMaxParts(c *Config, n int64) { c.maxParts = n }

// SetFormatV2 makes the store built from c create its uploads in format
// v2, whatever the default.
func SetFormatV2(c *Config) { c.Format = crypt.V2Version }

// SetFormatV1 makes the store built from c create its uploads in format
// v1, as a store of before v2 did.
func SetFormatV1(c *Config) { c.Format = crypt.Version }

// SetPageLen sets how many segments a segment page holds for the store
// built from c; negative makes it write the v1 layout, never paging, in
// format v1 (the only format that had that layout).
func SetPageLen(c *Config, n int) {
	c.pageLen = n
	if n < 0 {
		c.Format = crypt.Version
	}
}

// TruncateTailCache cuts the tail spool that s caches for upload id by
// one byte, as a damaged or stale cache file would be, and reports
// whether there was one.
func TruncateTailCache(s *Store, id string) bool {
	s.tails.mu.Lock()
	defer s.tails.mu.Unlock()
	e := s.tails.entries[id]
	return e != nil && e.file.Truncate(e.size-1) == nil
}

// BackendOf returns the backend s was configured with.
func BackendOf(s *Store) Backend { return s.cfg.Backend.(*metered).b }

// WriteLayout1Tail stores plain at off (= Offset, with nothing in the tail)
// as tusvault did before layout 2: a segment, the ciphertext in
// <key>.part, TailLen in a .info of layout 1 (no Layout) whose MAC state
// covers only Committed.
func WriteLayout1Tail(s *Store, id string, off int64, plain []byte) error {
	ctx := context.Background()
	u, err := s.load(ctx, id)
	if err != nil {
		return err
	}
	if u.info.Enc.Committed != off || u.info.Enc.TailLen != 0 || u.info.Enc.Pages != 0 {
		return fmt.Errorf("WriteLayout1Tail at %d of %+v", off, u.info.Enc)
	}
	state, err := u.runningState()
	if err != nil {
		return err
	}
	iv, err := crypt.NewIV()
	if err != nil {
		return err
	}
	// As the code of layout 1 wrote .info, not through update (which
	// pages and seals by macCovers): the state sealed with Committed.
	put := func(change func(*encInfo)) error {
		next := *u.info
		e := &next.Enc
		change(e)
		e.Layout, e.Seq = layoutV1, e.Seq+1
		next.Offset = e.Committed + e.TailLen
		if e.MacState, err = crypt.SealState(u.keys.State, state, next.ID, e.Committed, e.Seq); err != nil {
			return err
		}
		raw, err := next.encode()
		if err != nil {
			return err
		}
		if err := s.putRaw(ctx, id, raw); err != nil {
			return err
		}
		*u.info = next
		return nil
	}
	if err := put(func(e *encInfo) { e.Segments = crypt.AppendSegment(e.Segments, off, iv) }); err != nil {
		return err
	}
	block, err := aes.NewCipher(u.keys.Enc)
	if err != nil {
		return err
	}
	ct := make([]byte, len(plain))
	crypt.NewStream(block, iv, off).XORKeyStream(ct, plain)
	if err := s.cfg.Backend.Put(ctx, id+tailSuffix, bytes.NewReader(ct), int64(len(ct))); err != nil {
		return err
	}
	return put(func(e *encInfo) { e.TailLen = int64(len(ct)) })
}

// ForgeHistory gives the upload id a history of n PATCHes without sending
// them, for benchmarks: n one-byte segments at offsets 0 … n-1 in front
// of one committed part whose bytes are not stored (the upload takes more
// PATCHes, from offset PartSize, but cannot complete).
func ForgeHistory(ctx context.Context, s *Store, id string, n int) error {
	u, err := s.load(ctx, id)
	if err != nil {
		return err
	}
	state, err := u.runningState()
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

// HoldSpools counts a writing request in s's spool pool until the
// returned func is called, so that the pool keeps the files of finished
// parts for reuse as it does while other requests write.
func HoldSpools(s *Store) func() {
	s.spools.enter()
	return s.spools.leave
}
