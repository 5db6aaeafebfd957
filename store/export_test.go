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
// <key>.part, TailLen in a .info of layout 1 whose MAC state covers only
// Committed.
func WriteLayout1Tail(s *Store, id string, off int64, plain []byte) error {
	ctx := context.Background()
	u, err := s.load(ctx, id)
	if err != nil {
		return err
	}
	if u.info.Enc.Committed != off || u.info.Enc.TailLen != 0 {
		return fmt.Errorf("WriteLayout1Tail at %d of %+v", off, u.info.Enc)
	}
	state, err := u.macState()
	if err != nil {
		return err
	}
	iv, err := crypt.NewIV()
	if err != nil {
		return err
	}
	err = u.update(ctx, state, func(n *infoFile) {
		n.Enc.Layout, n.Enc.Segments = layoutTailObject, crypt.AppendSegment(n.Enc.Segments, off, iv)
	})
	if err != nil {
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
	// As the code of layout 1 wrote it, not through update: the state
	// sealed with Committed, whatever macCovers says.
	next := *u.info
	e := &next.Enc
	e.TailLen, e.Seq = int64(len(ct)), e.Seq+1
	next.Offset = e.Committed + e.TailLen
	if e.MacState, err = crypt.SealState(u.keys.State, state, next.ID, e.Committed, e.Seq); err != nil {
		return err
	}
	raw, err := next.encode()
	if err != nil {
		return err
	}
	return s.putRaw(ctx, id, raw)
}
