package store

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/tus/tusd/v2/pkg/handler"

	"github.com/tusvault/tusvault/store/crypt"
)

// GetReader implements handler.Upload. tusd serves downloads through
// ServeContent (the store is a ContentServerDataStore) and concatenation is
// not offered, so nothing calls it; it refuses rather than hand out
// plaintext that no tag check guards.
func (u *upload) GetReader(ctx context.Context) (io.ReadCloser, error) {
	return nil, handler.ErrNotImplemented
}

// finished makes sure the upload's data object exists, completing an
// upload whose completion was cut short, and refuses unfinished uploads.
// tusd holds the lock.
func (u *upload) finished(ctx context.Context) error {
	if u.info.Enc.Tag != nil {
		return nil
	}
	if !u.completable() {
		return errNotFinished
	}
	return u.settle(ctx)
}

// ServeContent implements handler.ServableUpload. Every response that
// carries the whole object (no Range, a range covering every byte, an
// If-Range, several ranges) streams it through the tag check, holding back
// the last buffer: on a mismatch the connection is aborted, so the client
// never sees a clean end of body. In format v1 a range of part of the
// object is decrypted without authentication (v1 has no chunk tags); in
// v2 every range is verified chunk by chunk (chunkReader), the first
// chunk before the status line.
func (u *upload) ServeContent(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	start := time.Now()
	if err := u.finished(ctx); err != nil {
		return u.s.internal(ctx, "serve", u.info.ID, err)
	}
	size := u.info.Size
	rg := resolveRange(r.Header, size)
	h := w.Header()
	h.Set("Accept-Ranges", "bytes")
	if rg.status == http.StatusRequestedRangeNotSatisfiable {
		h.Set("Content-Range", fmt.Sprintf("bytes */%d", size))
		return errRangeNotSatisfiable
	}
	if rg.status == http.StatusPartialContent {
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", rg.start, rg.end-1, size))
	}
	h.Set("Content-Length", strconv.FormatInt(rg.end-rg.start, 10))

	var body io.ReadCloser
	var err error
	v2 := u.info.Enc.v2()
	switch {
	case v2:
		body, err = u.chunkReader(ctx, rg.start, rg.end, rg.whole(size))
	case rg.whole(size):
		body, err = u.verifiedReader(ctx)
	default:
		body, err = u.rangeReader(ctx, rg.start, rg.end)
	}
	if err != nil {
		return u.s.internal(ctx, "serve", u.info.ID, err)
	}
	defer body.Close()
	if v2 {
		// The first chunk is verified before the status line, so that
		// its failure is a clean error response.
		br := bufio.NewReader(body)
		if _, err := br.Peek(1); err != nil && err != io.EOF {
			return u.s.internal(ctx, "serve", u.info.ID, err)
		}
		body = &readCloser{Reader: br, Closer: body}
	}
	w.WriteHeader(rg.status)
	if err := copyHoldingLast(w, body); err != nil {
		u.s.cfg.Logger.ErrorContext(ctx, "download aborted", "id", u.info.ID, "route", u.info.Storage["Route"], "error", err)
		panic(http.ErrAbortHandler)
	}
	u.s.cfg.Logger.InfoContext(ctx, "download served", "id", u.info.ID, "route", u.info.Storage["Route"],
		"bytes", rg.end-rg.start, "verified", v2 || rg.whole(size), "duration", time.Since(start).Round(time.Millisecond))
	return nil
}

var errRangeNotSatisfiable = handler.NewError("ERR_RANGE_NOT_SATISFIABLE", "the requested range is not satisfiable", http.StatusRequestedRangeNotSatisfiable)

// verifiedReader streams the whole plaintext and fails its last Read with
// ErrTagMismatch unless the ciphertext matches the tag.
func (u *upload) verifiedReader(ctx context.Context) (io.ReadCloser, error) {
	rc, c, err := u.openObject(ctx, 0, -1)
	if err != nil {
		return nil, err
	}
	plain := c.NewReader(u.tagVerifier(ctx, rc), 0)
	return &readCloser{Reader: u.s.counting(plain), Closer: rc}, nil
}

// rangeReader decrypts the plaintext bytes [start, end), unauthenticated.
func (u *upload) rangeReader(ctx context.Context, start, end int64) (io.ReadCloser, error) {
	rc, c, err := u.openObject(ctx, start, end-start)
	if err != nil {
		return nil, err
	}
	body := &exactReader{r: c.NewReader(rc, start), left: end - start}
	return &readCloser{Reader: u.s.counting(body), Closer: rc}, nil
}

// counting counts the plaintext read from r in Stats.DecryptedBytes.
func (s *Store) counting(r io.Reader) io.Reader {
	return &countingReader{r: r, n: &s.stats.DecryptedBytes}
}

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// openObject returns the data object's ciphertext from off (length < 0:
// to the end) and the cipher that decrypts it.
func (u *upload) openObject(ctx context.Context, off, length int64) (io.ReadCloser, *crypt.Cipher, error) {
	rc, err := u.s.cfg.Backend.Get(ctx, u.key, off, length)
	if err != nil {
		return nil, nil, err
	}
	c, err := crypt.NewCipher(u.keys.Enc, u.info.Enc.Segments)
	if err != nil {
		rc.Close()
		return nil, nil, err
	}
	return rc, c, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

// exactReader fails unless its source gives exactly left bytes.
type exactReader struct {
	r    io.Reader
	left int64
}

func (e *exactReader) Read(p []byte) (int, error) {
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	if len(p) == 0 {
		return 0, io.EOF
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	if err == io.EOF && e.left > 0 {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// tagVerifier passes the ciphertext of src through while feeding the MAC,
// and turns the end of the stream into ErrTagMismatch when the tag or the
// length is wrong.
func (u *upload) tagVerifier(ctx context.Context, src io.Reader) io.Reader {
	return &tagVerifier{ctx: ctx, src: src, mac: crypt.NewMAC(u.keys.MAC), u: u}
}

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
			v.u.s.stats.TagFailures.Add(1)
			return n, ErrTagMismatch
		}
	}
	return n, err
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
