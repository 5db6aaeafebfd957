package store

import (
	"context"
	"crypto/aes"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/tus/tusd/v2/pkg/handler"

	"github.com/tusvault/tusvault/store/crypt"
)

// copyBufSize is the size of the one buffer a request uses to read,
// encrypt and spool its body.
const copyBufSize = 64 << 10

var copyBufs = sync.Pool{New: func() any { b := make([]byte, copyBufSize); return &b }}

// WriteChunk implements handler.Upload. It persists a fresh segment, then
// encrypts the body at its offset into spooled parts, uploads full parts
// through the limiter and commits .info over each confirmed part. Bytes
// left over go to the tail object before it returns.
func (u *upload) WriteChunk(ctx context.Context, offset int64, src io.Reader) (int64, error) {
	defer u.s.markActive(u.key)()
	n, err := u.writeChunk(ctx, offset, src)
	if err != nil {
		return n, u.s.internal(ctx, "write", u.info.ID, err)
	}
	return n, nil
}

func (u *upload) writeChunk(ctx context.Context, offset int64, src io.Reader) (int64, error) {
	info, e := u.info, &u.info.Enc
	if offset != info.Offset {
		return 0, handler.ErrMismatchOffset
	}
	if len(e.Segments) >= maxSegments {
		return 0, errTooManyPatches
	}
	orig := u.raw
	state, err := u.macState()
	if err != nil {
		return 0, err
	}
	iv, err := crypt.NewIV()
	if err != nil {
		return 0, err
	}
	e.Segments = crypt.AppendSegment(e.Segments, offset, iv)
	// The segment is stored before a byte is encrypted under it.
	if err := u.save(ctx, state); err != nil {
		return 0, err
	}

	w, err := newPartWriter(ctx, u, state)
	if err != nil {
		return 0, err
	}
	defer w.close()
	if err := w.copyTail(); err != nil {
		return 0, err
	}
	n, readErr := w.encryptFrom(src, offset, iv)

	if probe := probeFrom(ctx); probe != nil && probe.read() > n {
		// The client sent more than the upload's length: keep nothing of
		// this request but the parts already confirmed.
		if err := w.wait(); err != nil {
			return 0, err
		}
		if w.committed == 0 {
			return 0, errors.Join(handler.ErrSizeExceeded, u.restore(ctx, orig))
		}
		return w.committed, handler.ErrSizeExceeded
	}
	final := !info.SizeIsDeferred && offset+n == info.Size
	if n == 0 && readErr == nil && !(final && w.fill > 0) {
		// Nothing new: put .info back as it was.
		return 0, u.restore(ctx, orig)
	}
	if err := w.finish(final); err != nil {
		return w.committed, err
	}
	return n, readErr
}

// encryptFrom reads src to its end, encrypting under iv from offset, and
// writes the ciphertext into parts. It returns the plaintext bytes taken.
func (w *partWriter) encryptFrom(src io.Reader, offset int64, iv []byte) (int64, error) {
	block, err := aes.NewCipher(w.u.keys.Enc)
	if err != nil {
		return 0, err
	}
	stream := crypt.NewStream(block, iv, offset)
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	var n int64
	for {
		k, rerr := src.Read(buf)
		if k > 0 {
			stream.XORKeyStream(buf[:k], buf[:k])
			if err := w.write(buf[:k]); err != nil {
				return n, err
			}
			n += int64(k)
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, fmt.Errorf("read body: %w", rerr)
		}
	}
}
