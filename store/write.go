package store

import (
	"context"
	"crypto/aes"
	"io"
	"sync"
	"time"

	"github.com/tus/tusd/v2/pkg/handler"

	"github.com/tusvault/tusvault/internal/failpoint"
	"github.com/tusvault/tusvault/store/crypt"
)

// A request reads, encrypts and spools its body through one buffer: a
// small one first, which a slow client (most reads short) keeps for its
// whole request, and a large one as soon as a read fills the small one.
// Many slow clients thus hold little memory, and fast ones few syscalls.
const (
	smallBufSize = 16 << 10
	copyBufSize  = 64 << 10
)

var (
	smallBufs = sync.Pool{New: func() any { b := make([]byte, smallBufSize); return &b }}
	copyBufs  = sync.Pool{New: func() any { b := make([]byte, copyBufSize); return &b }}
)

// WriteChunk implements handler.Upload. It persists a fresh segment, then
// encrypts the body at its offset into spooled parts, uploads full parts
// through the limiter and commits .info over each confirmed part. Bytes
// left over go to the tail object before it returns.
//
// The count it returns is always the bytes of this request that are
// stored, so that tusd's offset (and its byte counters) match .info: on
// success the whole body; on failure the part of it that confirmed parts
// hold, never bytes of the previous tail. tusd hands it the body already
// cut at the upload's length (and answers 413 itself when the client sent
// more), so what fits is kept, as tus 1.0 asks.
func (u *upload) WriteChunk(ctx context.Context, offset int64, src io.Reader) (int64, error) {
	start := time.Now()
	active := &u.s.stats.Active[routeIndex(u.info.Storage["Route"])]
	active.Add(1)
	n, err := u.writeChunk(ctx, offset, src)
	active.Add(-1)
	if err != nil {
		err = u.s.internal(ctx, "write", u.info.ID, err)
	}
	u.s.cfg.Logger.InfoContext(ctx, "patch stored", "id", u.info.ID, "route", u.info.Storage["Route"],
		"offset", offset, "bytes", n, "duration", time.Since(start).Round(time.Millisecond), "ok", err == nil)
	return n, err
}

func (u *upload) writeChunk(ctx context.Context, offset int64, src io.Reader) (int64, error) {
	info := u.info
	if offset != info.Offset {
		return 0, handler.ErrMismatchOffset
	}
	if info.Enc.segmentCount() >= maxSegments {
		return 0, errTooManyPatches
	}
	orig := u.raw
	// Read now: u.info is written by the part goroutines from here on.
	deferred, size := info.SizeIsDeferred, info.Size
	state, err := u.runningState()
	if err != nil {
		return 0, err
	}
	iv, err := crypt.NewIV()
	if err != nil {
		return 0, err
	}
	// The segment is stored before a byte is encrypted under it.
	failpoint.Segment(info.ID, offset, iv)
	err = u.update(ctx, state, func(next *infoFile) {
		next.Enc.Segments = crypt.AppendSegment(next.Enc.Segments, offset, iv)
	})
	if err != nil {
		return 0, err
	}
	failpoint.Hit("segment-stored")

	// Spool files are reused while requests write (spoolPool); leave
	// runs after w.close has given this request's back.
	u.s.spools.enter()
	defer u.s.spools.leave()
	w, err := newPartWriter(ctx, u, state)
	if err != nil {
		return 0, err
	}
	defer w.close()
	err = w.copyTail()
	var read int64
	if err == nil && info.Enc.v2() {
		read, err = w.sealFrom(src, offset)
	} else if err == nil {
		read, err = w.encryptFrom(src, offset, iv)
	}
	if err == nil {
		final := !deferred && offset+read == size
		if read == 0 && !(final && w.fill > 0) {
			// Nothing new: put .info back as it was.
			return 0, u.restore(ctx, orig)
		}
		if read == 0 && w.digest != nil {
			// A length declared after data that ended in the tail.
			err = w.resealLast()
		}
		if err == nil {
			err = w.finish(final)
		}
	}
	if err != nil {
		// Keep what confirmed parts hold; the rest of the spool is
		// dropped and the client resends it from the stored offset.
		w.close()
		return max(0, u.info.Offset-offset), err
	}
	return read, nil
}

// encryptFrom reads src to its end, encrypting under iv from offset, and
// writes the ciphertext into parts. It returns the plaintext bytes taken
// and the first error writing them; an error reading src ends the body
// like io.EOF (tusd's body reader keeps such errors to itself and answers
// them after WriteChunk returns), so what arrived is kept.
func (w *partWriter) encryptFrom(src io.Reader, offset int64, iv []byte) (int64, error) {
	block, err := aes.NewCipher(w.u.keys.Enc)
	if err != nil {
		return 0, err
	}
	stream := crypt.NewStream(block, iv, offset)
	bp, pool := smallBufs.Get().(*[]byte), &smallBufs
	defer func() { pool.Put(bp) }()
	buf := *bp
	var n int64
	for {
		k, rerr := src.Read(buf)
		if k > 0 {
			stream.XORKeyStream(buf[:k], buf[:k])
			w.u.s.stats.EncryptedBytes.Add(int64(k))
			if err := w.write(buf[:k]); err != nil {
				return n, err
			}
			n += int64(k)
		}
		if rerr != nil {
			return n, nil
		}
		if k == len(buf) && pool == &smallBufs {
			pool.Put(bp)
			bp, pool = copyBufs.Get().(*[]byte), &copyBufs
			buf = *bp
		}
	}
}
