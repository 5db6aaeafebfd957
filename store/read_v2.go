package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/tusvault/tusvault/store/crypt"
)

// chunkReader returns the plaintext bytes [start, end) of a finished v2
// upload, every byte verified before it is returned (docs/FORMAT-v2.md,
// section 10): the object-level tag first, then each enclosing chunk
// against its tag from the tag objects; a whole read also checks the
// digest of the tags it read against TagsSHA256 at its end. Every
// failure wraps ErrTagMismatch.
func (u *upload) chunkReader(ctx context.Context, start, end int64, whole bool) (io.ReadCloser, error) {
	info := u.info
	e := &info.Enc
	if err := crypt.CheckObjectTag(u.keys2.Tag, info.ID, e.PartSize, info.Size, e.TagsSHA256, e.Tag); err != nil {
		u.s.stats.TagFailures.Add(1)
		return nil, fmt.Errorf("%w: %w", ErrTagMismatch, err)
	}
	if start == end {
		if info.Size == 0 && !bytes.Equal(e.TagsSHA256, crypt.TagsDigest(nil)) {
			return nil, ErrTagMismatch
		}
		return io.NopCloser(bytes.NewReader(nil)), nil
	}
	first, last, ok := crypt.EnclosingChunks(start, end-start, info.Size)
	if !ok {
		return nil, fmt.Errorf("range [%d, %d) outside the upload", start, end)
	}
	from := crypt.ChunkStart(first)
	data, err := u.s.cfg.Backend.Get(ctx, u.key, from, min(crypt.ChunkStart(last+1), info.Size)-from)
	if err != nil {
		return nil, err
	}
	c, err := crypt.NewChunkCipher(u.keys2.Chunk, info.ID, e.Segments)
	if err != nil {
		data.Close()
		return nil, err
	}
	tags := &tagReader{ctx: ctx, u: u, next: first, last: last}
	v := &verifiedChunks{u: u}
	var tr io.Reader = tags
	if whole {
		v.digest = sha256.New()
		tr = io.TeeReader(tags, v.digest)
	}
	if v.r, err = c.OpenRange(data, tr, start, end-start, info.Size); err != nil {
		data.Close()
		return nil, err
	}
	return &readCloser{Reader: u.s.counting(v), Closer: closers{data, tags}}, nil
}

// verifiedChunks passes on OpenRange's plaintext, turning an
// authentication failure into ErrTagMismatch and, for a whole read, the
// end into one unless the tags read match TagsSHA256.
type verifiedChunks struct {
	u      *upload
	r      io.Reader
	digest hash.Hash
}

func (v *verifiedChunks) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	if err == io.EOF && v.digest != nil && !bytes.Equal(v.digest.Sum(nil), v.u.info.Enc.TagsSHA256) {
		err = fmt.Errorf("%w: the chunk tags do not match TagsSHA256", ErrTagMismatch)
	}
	if err != nil && err != io.EOF {
		if errors.Is(err, crypt.ErrAuth) {
			err = fmt.Errorf("%w: %w", ErrTagMismatch, err)
		}
		if errors.Is(err, ErrTagMismatch) {
			v.u.s.stats.TagFailures.Add(1)
		}
	}
	return n, err
}

// tagReader reads the tags of chunks next … last from the tag objects,
// one ranged GET per part spanned, each opened when the previous one is
// used up.
type tagReader struct {
	ctx        context.Context
	u          *upload
	next, last int64
	cur        io.ReadCloser
}

func (t *tagReader) Read(p []byte) (int, error) {
	for {
		if t.cur != nil {
			n, err := t.cur.Read(p)
			if err == io.EOF {
				t.cur.Close()
				t.cur = nil
				if n == 0 {
					continue
				}
				err = nil
			}
			return n, err
		}
		if t.next > t.last {
			return 0, io.EOF
		}
		perPart := t.u.info.Enc.PartSize / crypt.ChunkSize
		part := t.next/perPart + 1
		firstOfPart := (part - 1) * perPart
		to := min(t.last, firstOfPart+perPart-1)
		rc, err := t.u.s.cfg.Backend.Get(t.ctx, tagKey(t.u.key, part), crypt.ChunkTagSize*(t.next-firstOfPart), crypt.ChunkTagSize*(to-t.next+1))
		if err != nil {
			return 0, fmt.Errorf("read tag object %d: %w", part, err)
		}
		t.cur, t.next = rc, to+1
	}
}

// Close closes the tag object being read, if any.
func (t *tagReader) Close() error {
	if t.cur == nil {
		return nil
	}
	return t.cur.Close()
}

// closers closes each of its members.
type closers []io.Closer

func (cs closers) Close() error {
	var errs []error
	for _, c := range cs {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}
