package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/tusvault/tusvault/internal/failpoint"
	"github.com/tusvault/tusvault/store/crypt"
)

// maxTagObject bounds a tag object: the tags of a part of MaxPartSize.
const maxTagObject = MaxPartSize / crypt.ChunkSize * crypt.ChunkTagSize

// objectTagV2 returns the object-level tag of a v2 upload being completed
// and the digest of its chunk tags (docs/FORMAT.md, section 12), from
// state, the sealed tag state, after the data object is assembled. segs
// are all its segments. A last chunk that was not sealed as final (a
// length declared after data that ended on a part boundary) is re-sealed
// first.
func (u *upload) objectTagV2(ctx context.Context, segs []crypt.Segment, state []byte) (tag, digest []byte, err error) {
	d, err := openTagDigest(state)
	if err != nil {
		return nil, nil, err
	}
	if d.last != nil && !d.final {
		final, err := u.resealCommitted(ctx, segs, d.last)
		if err != nil {
			return nil, nil, err
		}
		d.resealed(final)
	}
	if digest, err = d.sum(); err != nil {
		return nil, nil, err
	}
	info := u.info
	tag, err = crypt.ObjectTag(u.keys2.Tag, info.ID, info.Enc.PartSize, info.Size, digest)
	return tag, digest, err
}

// resealCommitted re-seals the upload's last chunk as final, reading it
// from the assembled data object and verifying it against its non-final
// tag, and rewrites the last part's tag object with the final tag, which
// it returns. A retry computes the same tag again.
func (u *upload) resealCommitted(ctx context.Context, segs []crypt.Segment, tag []byte) ([]byte, error) {
	b, size := u.s.cfg.Backend, u.info.Size
	i := crypt.ChunkIndex(size - 1)
	buf := make([]byte, size-crypt.ChunkStart(i), crypt.ChunkSize+crypt.ChunkTagSize)
	rc, err := b.Get(ctx, u.key, crypt.ChunkStart(i), int64(len(buf)))
	if err != nil {
		return nil, fmt.Errorf("read the last chunk: %w", err)
	}
	_, err = io.ReadFull(rc, buf)
	rc.Close()
	if err != nil {
		return nil, fmt.Errorf("read the last chunk: %w", err)
	}
	c, err := crypt.NewChunkCipher(u.keys2.Chunk, u.info.ID, segs)
	if err != nil {
		return nil, err
	}
	sealed, err := c.SealChunk(buf, i, len(buf), true, tag)
	if err != nil {
		return nil, err
	}
	final := sealed[len(buf):]
	name := tagKey(u.key, partCount(size, u.info.Enc.PartSize))
	tags, err := u.s.readObject(ctx, name, maxTagObject)
	if err != nil {
		return nil, fmt.Errorf("read the last tag object: %w", err)
	}
	if len(tags) < crypt.ChunkTagSize || len(tags)%crypt.ChunkTagSize != 0 {
		return nil, errors.New("the last tag object is malformed")
	}
	copy(tags[len(tags)-crypt.ChunkTagSize:], final)
	if err := b.Put(ctx, name, bytes.NewReader(tags), int64(len(tags))); err != nil {
		return nil, fmt.Errorf("store the last tag object: %w", err)
	}
	failpoint.Hit("tags-resealed")
	return final, nil
}
