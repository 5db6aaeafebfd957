package crypt

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"testing"
)

// v2Patch is one request of a simulated upload: n bytes at the current
// offset. A lost request draws its segment and seals its chunks but stores
// nothing (a crash before the tail or .info were written), and its bytes
// differ from the upload's: the next request resends the real ones.
type v2Patch struct {
	n    int
	lost bool
}

// v2Upload is what a simulated store keeps of a v2 upload: the segment list
// (.info), the stored ciphertext (parts and tail fragments, append-only)
// and the current tag of every chunk (tag objects and .info).
type v2Upload struct {
	id   string
	sk   SubkeysV2
	size int64
	segs []Segment
	ct   []byte
	tags [][]byte
	// seals maps segment IV ‖ nonce to a digest of the AAD and ciphertext
	// it sealed: the same nonce under a segment key must never seal two
	// different messages.
	seals map[string][32]byte
	ivs   uint64
}

func newV2Upload(t testing.TB, id string, dek []byte) *v2Upload {
	t.Helper()
	sk, err := DeriveSubkeysV2(dek)
	if err != nil {
		t.Fatal(err)
	}
	return &v2Upload{id: id, sk: sk, seals: map[string][32]byte{}}
}

// writeV2 runs schedule over plain as the store would and returns the
// upload. With deferLen the size is declared only after the last byte, by a
// request without data that reseals the last chunk as final.
func writeV2(t testing.TB, id string, dek, plain []byte, schedule []v2Patch, deferLen bool) *v2Upload {
	t.Helper()
	u := newV2Upload(t, id, dek)
	for _, p := range schedule {
		off := int64(len(u.ct))
		end := min(off+int64(p.n), int64(len(plain)))
		body := plain[off:end]
		if p.lost {
			body = detRand(uint64(off)^0xbad, len(body))
		}
		u.patch(t, body, !deferLen && end == int64(len(plain)), int64(len(plain)), p.lost)
	}
	if len(u.ct) != len(plain) {
		t.Fatalf("schedule stored %d of %d bytes", len(u.ct), len(plain))
	}
	u.size = int64(len(plain))
	if deferLen && u.size > 0 {
		u.declareLength(t)
	}
	return u
}

// patch stores body at the end of the upload under a new segment; sizeKnown
// says the upload's size (total) is declared. A lost request stores nothing.
func (u *v2Upload) patch(t testing.TB, body []byte, sizeKnown bool, total int64, lost bool) {
	t.Helper()
	u.ivs++
	u.patchIV(t, detRand(u.ivs*7919, IVSize), body, sizeKnown, total, lost)
}

// patchIV is patch with the new segment's IV given.
func (u *v2Upload) patchIV(t testing.TB, iv, body []byte, sizeKnown bool, total int64, lost bool) {
	t.Helper()
	off := int64(len(u.ct))
	segs := AppendSegment(u.segs, off, iv)
	c, err := NewChunkCipher(u.sk.Chunk, u.id, segs)
	if err != nil {
		t.Fatal(err)
	}
	ct := u.ct
	tags := append([][]byte(nil), u.tags...)
	for pos := off; pos < off+int64(len(body)); {
		i := ChunkIndex(pos)
		start := ChunkStart(i)
		end := min(start+ChunkSize, off+int64(len(body)))
		prefix := int(pos - start)
		buf := make([]byte, 0, ChunkSize+ChunkTagSize)
		buf = append(buf, ct[start:pos]...)
		buf = append(buf, body[pos-off:end-off]...)
		final := sizeKnown && end == total
		var prefixTag []byte
		if prefix > 0 {
			prefixTag = tags[i]
		}
		n := int(end - start)
		u.recordKeystream(t, segs, i, n, body[pos-off:end-off])
		sealed, err := c.SealChunk(buf, i, prefix, final, prefixTag)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(sealed[:prefix], ct[start:pos]) {
			t.Fatalf("chunk %d: sealing changed the stored ciphertext", i)
		}
		u.recordSeal(t, c, segs, i, n, final, sealed)
		ct = append(ct[:pos:pos], sealed[prefix:n]...)
		if int64(len(tags)) == i {
			tags = append(tags, nil)
		}
		tags[i] = append([]byte(nil), sealed[n:]...)
		pos = end
	}
	if lost {
		return
	}
	u.segs, u.ct, u.tags = segs, ct, tags
}

// declareLength seals the last chunk as final under the segment that wrote
// its last byte, from its stored ciphertext (a request without data).
func (u *v2Upload) declareLength(t testing.TB) {
	t.Helper()
	c, err := NewChunkCipher(u.sk.Chunk, u.id, u.segs)
	if err != nil {
		t.Fatal(err)
	}
	i := ChunkCount(u.size) - 1
	n := ChunkLen(i, u.size)
	buf := append(make([]byte, 0, ChunkSize+ChunkTagSize), u.ct[ChunkStart(i):]...)
	sealed, err := c.SealChunk(buf, i, n, true, u.tags[i])
	if err != nil {
		t.Fatal(err)
	}
	u.recordSeal(t, c, u.segs, i, n, true, sealed)
	u.tags[i] = append([]byte(nil), sealed[n:]...)
}

// recordSeal notes the message a segment key sealed under a nonce: the
// chunk AAD with the ciphertext before the sealed piece, and the piece (the
// whole chunk, as AAD, for a final tag).
func (u *v2Upload) recordSeal(t testing.TB, c *ChunkCipher, segs []Segment, i int64, n int, final bool, sealed []byte) {
	t.Helper()
	ps, err := c.pieces(i, n)
	if err != nil {
		t.Fatal(err)
	}
	last := ps[len(ps)-1]
	from := last.from
	if final {
		from = n
	}
	aad, err := c.aad(i, n, final, ps, sealed[:from])
	if err != nil {
		t.Fatal(err)
	}
	nonce := ChunkNonce(i, n, final)
	u.once(t, "seal", segs[last.seg].IV, nonce, append(append(aad, 0xff), sealed[from:n]...))
}

// recordKeystream notes the plaintext that the new piece of chunk i (the
// last, ending at n) is encrypted with, under its segment key and nonce.
func (u *v2Upload) recordKeystream(t testing.TB, segs []Segment, i int64, n int, plain []byte) {
	t.Helper()
	s := FindSegment(segs, ChunkStart(i)+int64(n)-1)
	u.once(t, "keystream", segs[s].IV, pieceNonce(i, n), plain)
}

// once fails if key iv and nonce were already used for another message.
func (u *v2Upload) once(t testing.TB, use string, iv []byte, nonce [NonceSize]byte, msg []byte) {
	t.Helper()
	key := use + string(iv) + string(nonce[:])
	sum := sha256.Sum256(msg)
	if old, ok := u.seals[key]; ok && old != sum {
		t.Fatalf("%s nonce %x reused for a different message", use, nonce)
	}
	u.seals[key] = sum
}

func (u *v2Upload) tagBytes() []byte { return bytes.Join(u.tags, nil) }

func (u *v2Upload) cipher(t testing.TB) *ChunkCipher {
	t.Helper()
	c, err := NewChunkCipher(u.sk.Chunk, u.id, u.segs)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// readRange reads [off, off+n) of the stored upload through OpenRange the
// way a ranged GET does, fetching the enclosing chunks and their tags.
func readRange(t testing.TB, c *ChunkCipher, ct, tags []byte, off, n, size int64) ([]byte, error) {
	t.Helper()
	first, last, ok := EnclosingChunks(off, n, size)
	if !ok {
		return nil, fmt.Errorf("bad range")
	}
	from, to := ChunkStart(first), min(ChunkStart(last+1), int64(len(ct)))
	tfrom, tto := first*ChunkTagSize, min((last+1)*ChunkTagSize, int64(len(tags)))
	if from > to {
		from = to
	}
	if tfrom > tto {
		tfrom = tto
	}
	r, err := c.OpenRange(bytes.NewReader(ct[from:to]), bytes.NewReader(tags[tfrom:tto]), off, n, size)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

// checkV2 verifies a simulated upload against plain: whole read, object
// tag, and a set of ranges around chunk and segment boundaries.
func checkV2(t testing.TB, u *v2Upload, plain []byte) {
	t.Helper()
	size := int64(len(plain))
	if size == 0 {
		return
	}
	c, tags := u.cipher(t), u.tagBytes()
	got, err := readRange(t, c, u.ct, tags, 0, size, size)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("whole read: err %v, equal %v", err, bytes.Equal(got, plain))
	}
	if int64(len(tags)) != ChunkCount(size)*ChunkTagSize {
		t.Fatalf("%d tag bytes for %d chunks", len(tags), ChunkCount(size))
	}
	tag, err := ObjectTag(u.sk.Tag, u.id, 10<<20, size, TagsDigest(tags))
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckObjectTag(u.sk.Tag, u.id, 10<<20, size, TagsDigest(tags), tag); err != nil {
		t.Fatal(err)
	}
	offs := []int64{0, 1, size / 2, size - 1}
	step := max(1, len(u.segs)/32) // a sample of the boundaries of long histories
	for k := 0; k < len(u.segs); k += step {
		offs = append(offs, u.segs[k].Off-1, u.segs[k].Off, u.segs[k].Off+1)
	}
	for i := int64(1); i < ChunkCount(size); i++ {
		offs = append(offs, ChunkStart(i)-1, ChunkStart(i))
	}
	for _, o := range offs {
		for _, n := range []int64{1, 17, ChunkSize, ChunkSize + 1} {
			if o < 0 || o+n > size {
				continue
			}
			got, err := readRange(t, c, u.ct, tags, o, n, size)
			if err != nil || !bytes.Equal(got, plain[o:o+n]) {
				t.Fatalf("range [%d,+%d): err %v", o, n, err)
			}
		}
	}
}

func isAuth(err error) bool { return errors.Is(err, ErrAuth) }
