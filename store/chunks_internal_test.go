package store

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/tusvault/tusvault/store/crypt"
)

// chunkRequest runs one request's plaintext through a chunkSealer in
// reads of the given sizes (cycled), appending the ciphertext to ct and
// the tags to tags the way the part writer will: a chunk's new
// ciphertext, and its tag replacing the interim tag of a chunk it
// completes.
func chunkRequest(t *testing.T, kChunk []byte, id string, segs []crypt.Segment, size int64, ct, tags, plain []byte, writes []int) ([]byte, []byte, error) {
	t.Helper()
	c, err := crypt.NewChunkCipher(kChunk, id, segs)
	if err != nil {
		t.Fatal(err)
	}
	off := int64(len(ct))
	i := crypt.ChunkIndex(off)
	var prefixTag []byte
	if off > crypt.ChunkStart(i) {
		prefixTag = tags[len(tags)-crypt.ChunkTagSize:]
	}
	tags = tags[:i*crypt.ChunkTagSize] // the interim tag is replaced
	s, err := newChunkSealer(c, off, size, ct[crypt.ChunkStart(i):], prefixTag, func(b, tag []byte) error {
		ct, tags = append(ct, b...), append(tags, tag...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var took int64
	n, err := s.readFrom(&pieceReader{b: plain, sizes: writes}, func(k int) { took += int64(k) })
	if err == nil && (n != int64(len(plain)) || took != n) {
		err = fmt.Errorf("readFrom took %d bytes (reported %d) of %d", n, took, len(plain))
	}
	return ct, tags, err
}

// pieceReader yields b in reads of at most sizes[k] bytes (cycled), the
// last one with io.EOF.
type pieceReader struct {
	b     []byte
	sizes []int
	k     int
}

func (r *pieceReader) Read(p []byte) (int, error) {
	n := copy(p, r.b[:min(r.sizes[r.k%len(r.sizes)], len(r.b))])
	r.b, r.k = r.b[n:], r.k+1
	if len(r.b) == 0 {
		return n, io.EOF
	}
	return n, nil
}

// Requests that end anywhere, in writes of any size, give chunks that
// open to the plaintext, the last as final; a request completing a chunk
// verifies its stored prefix first; bytes past the length are refused.
func TestChunkSealer(t *testing.T) {
	dek, _ := crypt.NewDEK()
	keys, err := crypt.DeriveSubkeysV2(dek)
	if err != nil {
		t.Fatal(err)
	}
	const id = "chunks"
	rng := rand.New(rand.NewPCG(1, 2))
	plain := make([]byte, 3*crypt.ChunkSize+1234)
	for i := range plain {
		plain[i] = byte(rng.Uint32())
	}
	size := int64(len(plain))
	for _, tc := range []struct {
		name   string
		ends   []int // where each request ends
		writes []int
	}{
		{"one request", []int{len(plain)}, []int{16 << 10}},
		{"mid-chunk", []int{100000, len(plain)}, []int{1, 7, 65535, 4096}},
		{"a chunk over three requests", []int{70000, 70001, 120000, len(plain)}, []int{65537}},
		{"chunk boundaries", []int{crypt.ChunkSize, 2 * crypt.ChunkSize, len(plain)}, []int{1000}},
	} {
		var segs []crypt.Segment
		var ct, tags []byte
		for _, end := range tc.ends {
			iv, _ := crypt.NewIV()
			segs = crypt.AppendSegment(segs, int64(len(ct)), iv)
			ct, tags, err = chunkRequest(t, keys.Chunk, id, segs, size, ct, tags, plain[len(ct):end], tc.writes)
			if err != nil {
				t.Fatalf("%s: request to %d: %v", tc.name, end, err)
			}
		}
		if len(ct) != len(plain) || int64(len(tags)) != crypt.ChunkCount(size)*crypt.ChunkTagSize {
			t.Fatalf("%s: %d bytes and %d tags", tc.name, len(ct), len(tags)/crypt.ChunkTagSize)
		}
		c, err := crypt.NewChunkCipher(keys.Chunk, id, segs)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.OpenRange(bytes.NewReader(ct), bytes.NewReader(tags), 0, size, size)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if _, err := out.ReadFrom(got); err != nil || !bytes.Equal(out.Bytes(), plain) {
			t.Fatalf("%s: the chunks do not open to the plaintext: %v", tc.name, err)
		}
	}

	// A stored prefix altered before a request completes its chunk.
	iv, _ := crypt.NewIV()
	segs := crypt.AppendSegment(nil, 0, iv)
	ct, tags, err := chunkRequest(t, keys.Chunk, id, segs, size, nil, nil, plain[:100000], []int{4096})
	if err != nil {
		t.Fatal(err)
	}
	ct[crypt.ChunkSize+5] ^= 1
	iv2, _ := crypt.NewIV()
	segs = crypt.AppendSegment(segs, int64(len(ct)), iv2)
	if _, _, err := chunkRequest(t, keys.Chunk, id, segs, size, ct, tags, plain[100000:], []int{4096}); !errors.Is(err, crypt.ErrAuth) {
		t.Fatalf("completing a chunk over an altered prefix: %v, want ErrAuth", err)
	}

	// Past the upload's length.
	c, _ := crypt.NewChunkCipher(keys.Chunk, id, crypt.AppendSegment(nil, 0, iv))
	s, err := newChunkSealer(c, 0, 10, nil, nil, func(_, _ []byte) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if n, err := s.readFrom(bytes.NewReader(make([]byte, 11)), func(int) {}); err == nil || n != 10 {
		t.Fatalf("11 bytes into an upload of 10: %d, %v", n, err)
	}
	// Exactly the length, in one read that returns io.EOF with the bytes
	// and in one that does not: taken, the last chunk sealed as final.
	for _, r := range []io.Reader{&pieceReader{b: make([]byte, 10), sizes: []int{10}}, bytes.NewReader(make([]byte, 10))} {
		var tags []byte
		s, err := newChunkSealer(c, 0, 10, nil, nil, func(_, tag []byte) error { tags = append(tags, tag...); return nil })
		if err != nil {
			t.Fatal(err)
		}
		if n, err := s.readFrom(r, func(int) {}); err != nil || n != 10 || len(tags) != crypt.ChunkTagSize {
			t.Fatalf("10 bytes into an upload of 10: %d, %v, %d tag bytes", n, err, len(tags))
		}
	}
	if _, err := newChunkSealer(c, 5, 10, nil, nil, nil); err == nil {
		t.Fatal("a sealer at offset 5 without its stored prefix")
	}
}

// FuzzChunkSealer: any schedule of requests (each ending anywhere) and of
// write sizes gives the same plaintext back, every chunk verified, the
// last as final. Run with go test -fuzz FuzzChunkSealer ./store/.
func FuzzChunkSealer(f *testing.F) {
	f.Add(uint32(3*crypt.ChunkSize+7), []byte{1, 255, 0, 3}, []byte{7, 1})
	f.Add(uint32(crypt.ChunkSize), []byte{0}, []byte{255})
	f.Add(uint32(1), []byte{}, []byte{1})
	dek, _ := crypt.NewDEK()
	keys, err := crypt.DeriveSubkeysV2(dek)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, size uint32, ends, writes []byte) {
		size %= 5*crypt.ChunkSize + 1
		if size == 0 {
			return
		}
		plain := bytes.Repeat([]byte{0x5a, 0xa5, 3}, int(size))[:size]
		ws := []int{1 + crypt.ChunkSize/2}
		for _, w := range writes {
			ws = append(ws, 1+int(w)*257)
		}
		// Each byte of ends moves the next request's end ahead by a
		// multiple of 509 bytes (0: one byte); the last request ends at size.
		var segs []crypt.Segment
		var ct, tags []byte
		for k := 0; len(ct) < len(plain); k++ {
			end := len(plain)
			if k < len(ends) {
				end = min(len(ct)+1+int(ends[k])*509, len(plain))
			}
			iv, _ := crypt.NewIV()
			segs = crypt.AppendSegment(segs, int64(len(ct)), iv)
			var err error
			if ct, tags, err = chunkRequest(t, keys.Chunk, "fuzz", segs, int64(size), ct, tags, plain[len(ct):end], ws); err != nil {
				t.Fatalf("request to %d: %v", end, err)
			}
		}
		c, err := crypt.NewChunkCipher(keys.Chunk, "fuzz", segs)
		if err != nil {
			t.Fatal(err)
		}
		r, err := c.OpenRange(bytes.NewReader(ct), bytes.NewReader(tags), 0, int64(size), int64(size))
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if _, err := out.ReadFrom(r); err != nil || !bytes.Equal(out.Bytes(), plain) {
			t.Fatalf("read back %d bytes: %v", out.Len(), err)
		}
	})
}
