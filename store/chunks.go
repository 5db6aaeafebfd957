package store

import (
	"errors"
	"io"
	"slices"

	"github.com/tusvault/tusvault/store/crypt"
)

// chunkSealer is the chunk assembler of format v2's write path
// (docs/FORMAT-v2.md, sections 7 and 16.2, step 3): it takes one
// request's plaintext, from the upload's offset on, cuts it at absolute
// chunk boundaries and seals each chunk under the request's segment as
// soon as it is complete, or at the end of the request, handing the new
// ciphertext and the chunk's tag to emit. The first chunk may start with
// a stored prefix (the ciphertext earlier requests wrote, with its interim
// tag), which crypt.ChunkCipher.SealChunk verifies before sealing over
// it. Plaintext lives only in its buffer, which SealChunk encrypts in
// place. partWriter.sealFrom drives it.
type chunkSealer struct {
	c *crypt.ChunkCipher
	// buf holds the chunk being filled: fill bytes, the first prefix of
	// them stored ciphertext, the rest new plaintext.
	buf          []byte
	i            int64
	fill, prefix int
	prefixTag    []byte
	// size is the upload's length, or -1 while it is deferred.
	size int64
	// emit receives the ciphertext of the new bytes of each sealed chunk
	// and its tag; both are only valid during the call.
	emit func(ct, tag []byte) error
}

// newChunkSealer starts at offset off, with c over the upload's segments
// (the request's own included, starting at off). prefix is the stored
// ciphertext of chunk ChunkIndex(off) before off, prefixTag its tag.
func newChunkSealer(c *crypt.ChunkCipher, off, size int64, prefix, prefixTag []byte, emit func(ct, tag []byte) error) (*chunkSealer, error) {
	i := crypt.ChunkIndex(off)
	if int64(len(prefix)) != off-crypt.ChunkStart(i) {
		return nil, errors.New("the stored prefix does not end at the request's offset")
	}
	buf := make([]byte, crypt.ChunkSize, crypt.ChunkSize+crypt.ChunkTagSize)
	n := copy(buf, prefix)
	return &chunkSealer{c: c, buf: buf, i: i, fill: n, prefix: n, prefixTag: prefixTag, size: size, emit: emit}, nil
}

// chunkLen is how long the current chunk will be: ChunkSize, or less for
// the upload's last chunk.
func (s *chunkSealer) chunkLen() int {
	if s.size < 0 {
		return crypt.ChunkSize
	}
	return int(min(crypt.ChunkSize, s.size-crypt.ChunkStart(s.i)))
}

// readFrom reads src to its end straight into the chunk being filled
// (no copy buffer: a slow client holds the one chunk buffer), sealing
// every chunk it completes, then the one it ends in (Close). took is
// given the size of every read. An error reading src ends the body like
// io.EOF; bytes past a known size are refused.
func (s *chunkSealer) readFrom(src io.Reader, took func(int)) (int64, error) {
	var n int64
	var probe [1]byte
	for {
		end := s.chunkLen()
		buf := probe[:] // at the upload's length: any byte read is one too many
		if end > s.fill {
			buf = s.buf[s.fill:end]
		}
		k, rerr := src.Read(buf)
		if k > 0 {
			if end <= s.fill {
				return n, errors.New("bytes past the upload's length")
			}
			s.fill += k
			n += int64(k)
			took(k)
			if s.fill == end {
				if err := s.seal(); err != nil {
					return n, err
				}
			}
		}
		if rerr != nil {
			return n, s.Close()
		}
	}
}

// Close seals the chunk the request ends in, at its length: an interim
// tag, or the final one if the upload ends there.
func (s *chunkSealer) Close() error {
	if s.fill == s.prefix {
		return nil
	}
	return s.seal()
}

// seal seals the current chunk at its fill and moves to the next one.
func (s *chunkSealer) seal() error {
	final := s.size >= 0 && crypt.ChunkStart(s.i)+int64(s.fill) == s.size
	sealed, err := s.c.SealChunk(s.buf[:s.fill], s.i, s.prefix, final, s.prefixTag)
	if err != nil {
		return err
	}
	if err := s.emit(sealed[s.prefix:s.fill], sealed[s.fill:]); err != nil {
		return err
	}
	if s.fill < crypt.ChunkSize {
		// The request or the upload ends in this chunk: nothing follows.
		s.prefix = s.fill
		return nil
	}
	s.i, s.fill, s.prefix, s.prefixTag = s.i+1, 0, 0, nil
	return nil
}

// sealFrom is encryptFrom for format v2: it reads src to its end into a
// chunkSealer from offset, whose chunks go into parts as they are
// sealed, their tags into w.tags (a completed chunk's replacing its
// interim tag). The stored prefix of the first chunk is in the spool,
// which copyTail started with the tail. It returns the plaintext bytes
// taken; an error reading src ends the body like io.EOF.
func (w *partWriter) sealFrom(src io.Reader, offset int64) (int64, error) {
	committed := (w.num - 1) * w.partSize
	start := crypt.ChunkStart(crypt.ChunkIndex(offset))
	prefix := make([]byte, offset-start)
	if _, err := w.spoolAt(prefix, start-committed); err != nil {
		return 0, err
	}
	var prefixTag []byte
	if len(prefix) > 0 {
		if len(w.tags) < crypt.ChunkTagSize {
			return 0, errors.New("the tail has no tag for its last chunk")
		}
		prefixTag = slices.Clone(w.tags[len(w.tags)-crypt.ChunkTagSize:])
	}
	replace := len(prefix) > 0
	s, err := newChunkSealer(w.chunks, offset, w.size, prefix, prefixTag, func(ct, tag []byte) error {
		if replace {
			w.tags, replace = w.tags[:len(w.tags)-crypt.ChunkTagSize], false
		}
		w.tags = append(w.tags, tag...)
		return w.write(ct)
	})
	if err != nil {
		return 0, err
	}
	return s.readFrom(src, func(k int) { w.u.s.stats.EncryptedBytes.Add(int64(k)) })
}

// resealLast re-seals the spool's last chunk, the upload's, as final:
// for a length declared by a request without data after data that ended
// in the tail (docs/FORMAT-v2.md, section 7.4). Its stored bytes are
// verified against their tag first.
func (w *partWriter) resealLast() error {
	i := crypt.ChunkIndex(w.size - 1)
	buf := make([]byte, w.size-crypt.ChunkStart(i), crypt.ChunkSize+crypt.ChunkTagSize)
	if _, err := w.spoolAt(buf, crypt.ChunkStart(i)-(w.num-1)*w.partSize); err != nil {
		return err
	}
	if len(w.tags) < crypt.ChunkTagSize {
		return errors.New("the tail has no tag for its last chunk")
	}
	last := w.tags[len(w.tags)-crypt.ChunkTagSize:]
	sealed, err := w.chunks.SealChunk(buf, i, len(buf), true, last)
	if err != nil {
		return err
	}
	copy(last, sealed[len(buf):])
	return nil
}

// spoolAt reads the spool's bytes at off (0: the first byte of the
// current part) into p.
func (w *partWriter) spoolAt(p []byte, off int64) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if w.file == nil || off < 0 || off+int64(len(p)) > w.fill {
		return 0, errors.New("the spool does not hold the stored bytes of the chunk")
	}
	n, err := w.file.ReadAt(p, off)
	return n, spoolErr(err)
}
