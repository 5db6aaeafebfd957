package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/tusvault/tusvault/store/crypt"
)

// finished makes sure the upload's data object exists, completing an
// upload whose completion was cut short, and refuses unfinished uploads.
func (u *upload) finished(ctx context.Context) error {
	if u.info.Enc.Tag != nil {
		return nil
	}
	return u.complete(ctx)
}

// GetReader implements handler.Upload: the plaintext of a finished upload,
// verified against its tag (a mismatch surfaces as a read error).
func (u *upload) GetReader(ctx context.Context) (io.ReadCloser, error) {
	if err := u.finished(ctx); err != nil {
		return nil, u.s.internal(ctx, "get-reader", u.info.ID, err)
	}
	return u.verifiedReader(ctx)
}

// verifiedReader streams the whole plaintext and fails its last Read with
// ErrTagMismatch unless the ciphertext matches the tag.
func (u *upload) verifiedReader(ctx context.Context) (io.ReadCloser, error) {
	rc, err := u.s.cfg.Backend.Get(ctx, u.key, 0, -1)
	if err != nil {
		return nil, err
	}
	c, err := crypt.NewCipher(u.keys.Enc, u.info.Enc.Segments)
	if err != nil {
		rc.Close()
		return nil, err
	}
	v := &tagVerifier{ctx: ctx, src: rc, mac: crypt.NewMAC(u.keys.MAC), u: u}
	return &readCloser{Reader: c.NewReader(v, 0), Closer: rc}, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

// tagVerifier passes ciphertext through while feeding the MAC, and turns
// the end of the stream into ErrTagMismatch when the tag or length is wrong.
type tagVerifier struct {
	ctx context.Context
	src io.Reader
	mac *crypt.MAC
	u   *upload
	n   int64
}

func (v *tagVerifier) Read(p []byte) (int, error) {
	if err := v.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := v.src.Read(p)
	v.mac.Write(p[:n])
	v.n += int64(n)
	if err == io.EOF {
		e := &v.u.info.Enc
		want := crypt.Trailer(v.u.info.ID, e.PartSize, e.Segments, v.u.info.Size)
		if v.n != v.u.info.Size || !crypt.TagEqual(v.mac.Tag(want), e.Tag) {
			return n, ErrTagMismatch
		}
	}
	return n, err
}

// ServeContent implements handler.ServableUpload. A GET without Range
// streams the whole file and verifies the tag, holding back the last
// buffer: on a mismatch the connection is aborted, so the client never
// sees a clean end of body. Ranged GETs decrypt without authentication.
func (u *upload) ServeContent(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	if err := u.finished(ctx); err != nil {
		return u.s.internal(ctx, "serve", u.info.ID, err)
	}
	if r.Header.Get("Range") != "" {
		rs := &rangeReader{ctx: ctx, u: u, size: u.info.Size}
		defer rs.Close()
		http.ServeContent(w, r, "", time.Time{}, rs)
		return nil
	}
	body, err := u.verifiedReader(ctx)
	if err != nil {
		return u.s.internal(ctx, "serve", u.info.ID, err)
	}
	defer body.Close()
	w.Header().Set("Accept-Ranges", "bytes")
	w.Header().Set("Content-Length", strconv.FormatInt(u.info.Size, 10))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	if err := copyHoldingLast(w, body); err != nil {
		u.s.cfg.Logger.ErrorContext(ctx, "download aborted", "id", u.info.ID, "error", err)
		panic(http.ErrAbortHandler)
	}
	return nil
}

// copyHoldingLast copies src to dst but writes each buffer only once the
// next read has succeeded, so that an error at the end of src keeps the
// final bytes from dst.
func copyHoldingLast(dst io.Writer, src io.Reader) error {
	bp, hp := copyBufs.Get().(*[]byte), copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	defer copyBufs.Put(hp)
	cur, held := *bp, *hp
	heldN := 0
	for {
		n, err := io.ReadFull(src, cur)
		if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
			return err
		}
		if heldN > 0 {
			if _, werr := dst.Write(held[:heldN]); werr != nil {
				return werr
			}
		}
		cur, held, heldN = held, cur, n
		if err != nil {
			break
		}
	}
	if heldN > 0 {
		_, err := dst.Write(held[:heldN])
		return err
	}
	return nil
}

// rangeReader is an io.ReadSeeker over the plaintext that opens a ranged
// Get at the current position on demand, for http.ServeContent.
type rangeReader struct {
	ctx  context.Context
	u    *upload
	size int64
	pos  int64
	body io.ReadCloser
	r    io.Reader
}

func (rr *rangeReader) Read(p []byte) (int, error) {
	if rr.pos >= rr.size {
		return 0, io.EOF
	}
	if rr.r == nil {
		body, err := rr.u.s.cfg.Backend.Get(rr.ctx, rr.u.key, rr.pos, -1)
		if err != nil {
			return 0, err
		}
		c, err := crypt.NewCipher(rr.u.keys.Enc, rr.u.info.Enc.Segments)
		if err != nil {
			body.Close()
			return 0, err
		}
		rr.body, rr.r = body, c.NewReader(body, rr.pos)
	}
	n, err := rr.r.Read(p)
	rr.pos += int64(n)
	return n, err
}

func (rr *rangeReader) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		off += rr.pos
	case io.SeekEnd:
		off += rr.size
	}
	if off < 0 {
		return 0, errors.New("seek before start")
	}
	if off != rr.pos {
		rr.Close()
		rr.pos = off
	}
	return off, nil
}

func (rr *rangeReader) Close() error {
	var err error
	if rr.body != nil {
		err = rr.body.Close()
	}
	rr.body, rr.r = nil, nil
	return err
}

// Decrypt writes the plaintext of the finished upload id to w. It reads
// the object twice: first to verify the tag, writing nothing, then to
// decrypt (verifying again). On a mismatch it returns an error wrapping
// ErrTagMismatch.
func (s *Store) Decrypt(ctx context.Context, id string, w io.Writer) error {
	if !validID(id) {
		return fmt.Errorf("invalid upload id %q", id)
	}
	u, err := s.load(ctx, id)
	if err != nil {
		return err
	}
	if u.info.Enc.Tag == nil {
		return fmt.Errorf("upload %s is not finished (offset %d of %d)", id, u.info.Offset, u.info.Size)
	}
	for _, dst := range []io.Writer{io.Discard, w} {
		body, err := u.verifiedReader(ctx)
		if err != nil {
			return err
		}
		_, err = io.Copy(dst, body)
		body.Close()
		if err != nil {
			return err
		}
	}
	return nil
}
