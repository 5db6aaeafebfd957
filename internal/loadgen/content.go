package loadgen

import (
	"encoding/binary"
	"io"
	"math/rand/v2"
)

// contentBlock is the unit of Content: block k of a Content is a ChaCha8
// stream of its own, so a reader can start at any offset by generating at
// most one block's worth of bytes it skips.
const contentBlock = 64 << 10

// Content is a deterministic file of Size pseudo-random bytes, the same
// for the same Seed whatever offsets it is read from: what a client that
// resumes an upload at the server's offset needs to send again.
// (NewGenerator's stream is another one: it cannot be entered mid-way.)
type Content struct {
	Seed uint64
	Size int64
}

// Reader returns a reader of the bytes from off (clamped to [0, Size]) to
// the end.
func (c Content) Reader(off int64) io.Reader {
	off = min(max(off, 0), c.Size)
	r := &contentReader{c: c, off: off}
	r.enter()
	return r
}

type contentReader struct {
	c     Content
	off   int64
	block *rand.ChaCha8
}

// enter positions the block stream at r.off.
func (r *contentReader) enter() {
	if r.off >= r.c.Size {
		r.block = nil
		return
	}
	r.block = blockStream(r.c.Seed, uint64(r.off/contentBlock))
	var skip [4096]byte
	for n := r.off % contentBlock; n > 0; {
		k := min(n, int64(len(skip)))
		r.block.Read(skip[:k])
		n -= k
	}
}

// blockStream is block k's ChaCha8, keyed by the seed and k (and a label,
// so that it differs from NewGenerator's stream of the same seed).
func blockStream(seed, k uint64) *rand.ChaCha8 {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:8], seed)
	binary.LittleEndian.PutUint64(s[8:16], k)
	copy(s[16:], "loadgen.Content")
	return rand.NewChaCha8(s)
}

func (r *contentReader) Read(p []byte) (int, error) {
	if r.off >= r.c.Size {
		return 0, io.EOF
	}
	// Up to the end of the current block and of the content.
	left := contentBlock - r.off%contentBlock
	n := int(min(int64(len(p)), left, r.c.Size-r.off))
	r.block.Read(p[:n])
	r.off += int64(n)
	if r.off%contentBlock == 0 {
		r.enter()
	}
	return n, nil
}
