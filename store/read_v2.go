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
// upload, every byte verified before it is returned (docs/FORMAT.md,
// section 13): the object-level tag first, then each enclosing chunk
// against its tag from the tag objects; a whole read also checks the
// digest of the tags it read against TagsSHA256 at its end. Every
// failure wraps ErrTagMismatch.
func (u *upload) chunkReader(ctx context.Context, start, end int64, whole bool) (io.ReadCloser, error) {
	if err := u.checkObjectTag(); err != nil || start == end {
		return io.NopCloser(bytes.NewReader(nil)), err
	}
	first, last, ok := crypt.EnclosingChunks(start, end-start, u.info.Size)
	if !ok {
		return nil, fmt.Errorf("range [%d, %d) outside the upload", start, end)
	}
	// The first tag object is opened beside the data.
	tags := &tagReader{ctx: ctx, u: u, next: first, last: last}
	opened := make(chan error, 1)
	go func() { opened <- tags.openNext() }()
	from := crypt.ChunkStart(first)
	data, err := u.s.cfg.Backend.Get(ctx, u.key, from, min(crypt.ChunkStart(last+1), u.info.Size)-from)
	if terr := <-opened; err == nil {
		err = terr
	}
	if err != nil {
		if data != nil {
			data.Close()
		}
		tags.Close()
		return nil, err
	}
	plain, err := u.openChunks(data, tags, start, end, whole)
	if err != nil {
		data.Close()
		return nil, err
	}
	return &readCloser{Reader: u.s.counting(plain), Closer: closers{data, tags}}, nil
}

// checkObjectTag checks the object-level tag of a finished v2 upload
// against .info (and, for an empty upload, its tags digest, which no
// chunk read checks).
func (u *upload) checkObjectTag() error {
	info := u.info
	e := &info.Enc
	err := crypt.CheckObjectTag(u.keys2.Tag, info.ID, e.PartSize, info.Size, e.TagsSHA256, e.Tag)
	if err == nil && info.Size == 0 && !bytes.Equal(e.TagsSHA256, crypt.TagsDigest(nil)) {
		err = errors.New("an empty upload with chunk tags")
	}
	if err != nil {
		u.s.stats.TagFailures.Add(1)
		return fmt.Errorf("%w: %w", ErrTagMismatch, err)
	}
	return nil
}

// openChunks returns the verified plaintext [start, end) of the upload
// from data, its ciphertext from the first enclosing chunk's start, and
// tags, the tags of the enclosing chunks (crypt.ChunkCipher.OpenRange); a
// whole read also checks the tags against TagsSHA256 at its end.
func (u *upload) openChunks(data, tags io.Reader, start, end int64, whole bool) (io.Reader, error) {
	c, err := crypt.NewChunkCipher(u.keys2.Chunk, u.info.ID, u.info.Enc.Segments)
	if err != nil {
		return nil, err
	}
	v := &verifiedChunks{u: u}
	if whole {
		v.digest = sha256.New()
		tags = io.TeeReader(tags, v.digest)
	}
	if v.r, err = c.OpenRange(data, tags, start, end-start, u.info.Size); err != nil {
		return nil, err
	}
	return v, nil
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
// used up (the first may be opened ahead, by openNext).
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
		if err := t.openNext(); err != nil {
			return 0, err
		}
	}
}

// openNext opens the ranged GET of the next part's tags.
func (t *tagReader) openNext() error {
	perPart := t.u.info.Enc.PartSize / crypt.ChunkSize
	part := t.next/perPart + 1
	firstOfPart := (part - 1) * perPart
	to := min(t.last, firstOfPart+perPart-1)
	rc, err := t.u.s.cfg.Backend.Get(t.ctx, tagKey(t.u.key, part), crypt.ChunkTagSize*(t.next-firstOfPart), crypt.ChunkTagSize*(to-t.next+1))
	if err != nil {
		return fmt.Errorf("read tag object %d: %w", part, err)
	}
	t.cur, t.next = rc, to+1
	return nil
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

// decryptV2 is Decrypt for a v2 upload: the data object and its tags are
// copied into unlinked spool files (ciphertext only), every chunk of the
// copies is verified, with the tags digest, and only then are the copies
// decrypted into w.
func (s *Store) decryptV2(ctx context.Context, u *upload, w io.Writer) error {
	if err := u.checkObjectTag(); err != nil || u.info.Size == 0 {
		return err
	}
	size := u.info.Size
	data, err := s.unlinkedSpool()
	if err != nil {
		return err
	}
	defer data.Close()
	tagFile, err := s.unlinkedSpool()
	if err != nil {
		return err
	}
	defer tagFile.Close()
	rc, err := s.cfg.Backend.Get(ctx, u.key, 0, size)
	if err != nil {
		return err
	}
	_, err = io.Copy(data, rc)
	rc.Close()
	if err != nil {
		return err
	}
	tags := &tagReader{ctx: ctx, u: u, next: 0, last: crypt.ChunkCount(size) - 1}
	n, err := io.Copy(tagFile, tags)
	tags.Close()
	if err != nil {
		return err
	}
	open := func() (io.Reader, error) {
		return u.openChunks(io.NewSectionReader(data, 0, size), io.NewSectionReader(tagFile, 0, n), 0, size, true)
	}
	plain, err := open()
	if err != nil {
		return err
	}
	if _, err := io.Copy(io.Discard, plain); err != nil {
		return err
	}
	if plain, err = open(); err != nil {
		return err
	}
	_, err = io.Copy(w, s.counting(plain))
	return err
}
