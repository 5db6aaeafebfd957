package crypt

import (
	"errors"
	"fmt"
	"io"
)

// OpenRange returns a reader of plaintext bytes [off, off+n) of a v2 upload
// of size bytes. data must yield the ciphertext from the first enclosing
// chunk's start (ChunkStart of EnclosingChunks' first) and tags the chunk
// tags from that chunk on, ChunkTagSize bytes each. Every chunk is read
// whole and verified (the upload's last chunk as final, which binds size)
// before any of its bytes is returned; a mismatch, or data or tags that end
// early, gives an error wrapping ErrAuth and no byte of that chunk.
// The caller checks the object-level tag first (CheckObjectTag), which
// authenticates size; a whole read also compares TagsDigest of the tags
// it read with the stored digest.
func (c *ChunkCipher) OpenRange(data, tags io.Reader, off, n, size int64) (io.Reader, error) {
	first, last, ok := EnclosingChunks(off, n, size)
	if !ok {
		return nil, fmt.Errorf("crypt: range [%d, +%d) is not inside an upload of %d bytes", off, n, size)
	}
	return &rangeReader{
		c: c, data: data, tags: tags, next: first, last: last, size: size,
		skip: int(off - ChunkStart(first)), left: n,
		buf: make([]byte, ChunkSize+ChunkTagSize),
	}, nil
}

type rangeReader struct {
	c          *ChunkCipher
	data, tags io.Reader
	next, last int64 // next chunk to read, last chunk of the range
	size       int64
	skip       int    // bytes of the next chunk before the range
	left       int64  // range bytes not yet returned
	buf        []byte // ChunkSize + ChunkTagSize
	plain      []byte // verified plaintext not yet returned
	err        error  // sticky
}

func (r *rangeReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if len(r.plain) == 0 {
		if r.left == 0 {
			return 0, io.EOF
		}
		if r.err = r.fill(); r.err != nil {
			return 0, r.err
		}
	}
	k := copy(p, r.plain)
	r.plain = r.plain[k:]
	return k, nil
}

// fill reads, verifies and decrypts the next chunk into r.plain.
func (r *rangeReader) fill() error {
	i := r.next
	n := ChunkLen(i, r.size)
	if err := readChunkPart(r.data, r.buf[:n], i, "ciphertext"); err != nil {
		return err
	}
	if err := readChunkPart(r.tags, r.buf[n:n+ChunkTagSize], i, "tag"); err != nil {
		return err
	}
	plain, err := r.c.OpenChunk(r.buf[:n+ChunkTagSize], i, i == ChunkCount(r.size)-1)
	if err != nil {
		return err
	}
	plain = plain[r.skip:]
	if int64(len(plain)) > r.left {
		plain = plain[:r.left]
	}
	r.plain, r.skip, r.left, r.next = plain, 0, r.left-int64(len(plain)), i+1
	return nil
}

func readChunkPart(r io.Reader, b []byte, i int64, what string) error {
	if _, err := io.ReadFull(r, b); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("crypt: chunk %d: %s ends early: %w", i, what, ErrAuth)
		}
		return fmt.Errorf("crypt: chunk %d: read %s: %w", i, what, err)
	}
	return nil
}
