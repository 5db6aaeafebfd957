package crypt

import (
	"bytes"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"testing"
)

const C = ChunkSize

func TestChunkArithmetic(t *testing.T) {
	for _, tc := range []struct {
		off, idx, start int64
	}{{0, 0, 0}, {1, 0, 0}, {C - 1, 0, 0}, {C, 1, C}, {3*C + 5, 3, 3 * C}} {
		if got := ChunkIndex(tc.off); got != tc.idx {
			t.Errorf("ChunkIndex(%d) = %d, want %d", tc.off, got, tc.idx)
		}
		if got := ChunkStart(ChunkIndex(tc.off)); got != tc.start {
			t.Errorf("ChunkStart(ChunkIndex(%d)) = %d, want %d", tc.off, got, tc.start)
		}
	}
	for _, tc := range []struct {
		size, count int64
		lens        []int // ChunkLen(0), ChunkLen(1), …, then one past the end
	}{
		{0, 0, []int{0}},
		{1, 1, []int{1, 0}},
		{C - 1, 1, []int{C - 1, 0}},
		{C, 1, []int{C, 0}},
		{C + 1, 2, []int{C, 1, 0}},
		{3*C + 1000, 4, []int{C, C, C, 1000, 0}},
	} {
		if got := ChunkCount(tc.size); got != tc.count {
			t.Errorf("ChunkCount(%d) = %d, want %d", tc.size, got, tc.count)
		}
		for i, want := range tc.lens {
			if got := ChunkLen(int64(i), tc.size); got != want {
				t.Errorf("ChunkLen(%d, %d) = %d, want %d", i, tc.size, got, want)
			}
		}
	}
	if ChunkLen(-1, C) != 0 {
		t.Error("ChunkLen(-1) is not 0")
	}
	for _, tc := range []struct {
		off, n, size, first, last int64
		ok                        bool
	}{
		{0, 1, 10, 0, 0, true},
		{0, 10, 10, 0, 0, true},
		{C - 1, 2, 2 * C, 0, 1, true},
		{C, C, 2 * C, 1, 1, true},
		{5, 3 * C, 4 * C, 0, 3, true},
		{3*C + 999, 1, 3*C + 1000, 3, 3, true},
		{0, 0, 10, 0, 0, false},  // empty range
		{9, 2, 10, 0, 0, false},  // past the end
		{-1, 2, 10, 0, 0, false}, // negative
		{0, 1, 0, 0, 0, false},   // empty upload
		{10, 1, 10, 0, 0, false}, // at the end
	} {
		first, last, ok := EnclosingChunks(tc.off, tc.n, tc.size)
		if ok != tc.ok || (ok && (first != tc.first || last != tc.last)) {
			t.Errorf("EnclosingChunks(%d, %d, %d) = %d, %d, %v, want %d, %d, %v",
				tc.off, tc.n, tc.size, first, last, ok, tc.first, tc.last, tc.ok)
		}
	}
}

func TestChunkNonceLayout(t *testing.T) {
	for _, tc := range []struct {
		i     int64
		n     int
		final bool
		want  string
	}{
		{0, C, false, "0000000000000000" + "00" + "010000"},
		{1, 34464, false, "0000000000000001" + "00" + "0086a0"},
		{3, 1000, true, "0000000000000003" + "01" + "0003e8"},
		{1<<40 + 2, C, true, "0000010000000002" + "01" + "010000"},
	} {
		got := ChunkNonce(tc.i, tc.n, tc.final)
		if hex.EncodeToString(got[:]) != tc.want {
			t.Errorf("ChunkNonce(%d, %d, %v) = %x, want %s", tc.i, tc.n, tc.final, got, tc.want)
		}
	}
	seen := map[[NonceSize]byte]bool{}
	for _, i := range []int64{0, 1, 255, 256} {
		for _, n := range []int{1, 255, 256, C - 1, C} {
			for _, f := range []bool{false, true} {
				nc := ChunkNonce(i, n, f)
				if seen[nc] {
					t.Fatalf("ChunkNonce(%d, %d, %v) repeats", i, n, f)
				}
				seen[nc] = true
			}
		}
	}
}

// fixedSchedule repeats n-byte requests until size bytes are covered.
func fixedSchedule(size, n int) []v2Patch {
	var s []v2Patch
	for left := size; left > 0; left -= n {
		s = append(s, v2Patch{n: n})
	}
	return s
}

func v2Schedules(size int) map[string][]v2Patch {
	r := rand.New(rand.NewPCG(7, 8))
	var random []v2Patch
	for left := size; left > 0; {
		n := 1 + r.IntN(3*C)
		random = append(random, v2Patch{n: n})
		left -= n
	}
	// 1-byte requests across the first chunk boundary, then the rest.
	oneByte := []v2Patch{{n: C - 300}}
	for range 600 {
		oneByte = append(oneByte, v2Patch{n: 1})
	}
	oneByte = append(oneByte, v2Patch{n: size})
	return map[string][]v2Patch{
		"whole":      {{n: size}},
		"chunk":      fixedSchedule(size, C),
		"chunk-1":    fixedSchedule(size, C-1),
		"chunk+1":    fixedSchedule(size, C+1),
		"1-byte":     oneByte,
		"random":     random,
		"256KiB-odd": fixedSchedule(size, 250_000),
		"lost":       {{n: 100_000}, {n: 50_000, lost: true}, {n: 70_000}, {n: 1, lost: true}, {n: size}},
	}
}

// TestV2SplitEquivalence: every schedule stores a upload that reads back
// byte for byte, whole and in ranges, with a valid object tag, never
// rewrites stored ciphertext and never reuses a nonce for another message
// (checked by writeV2).
func TestV2SplitEquivalence(t *testing.T) {
	size := 4*C + 4321
	plain := detRand(31, size)
	dek := detRand(32, KeySize)
	for name, sched := range v2Schedules(size) {
		for _, deferLen := range []bool{false, true} {
			t.Run(name+map[bool]string{false: "", true: "/deferred"}[deferLen], func(t *testing.T) {
				u := writeV2(t, "split-"+name, dek, plain, sched, deferLen)
				checkV2(t, u, plain)
			})
		}
	}
}

func FuzzV2Schedule(f *testing.F) {
	f.Add([]byte{0xff, 0xff, 0x00, 0x01}, uint16(3000), false)
	f.Add([]byte{0x00, 0x00, 0x00, 0x00, 0x10}, uint16(65535), true)
	f.Add([]byte{0x80, 0x00, 0x80, 0x01, 0x7f, 0xff}, uint16(1), false)
	f.Fuzz(func(t *testing.T, sizes []byte, extra uint16, deferLen bool) {
		size := 2*C + int(extra)
		var sched []v2Patch
		for k := 0; k+1 < len(sizes) && len(sched) < 64; k += 2 {
			n := 1 + int(sizes[k])<<9 | int(sizes[k+1]) // 1 … ~2 chunks
			sched = append(sched, v2Patch{n: n, lost: sizes[k+1]&0x0f == 0x0f})
		}
		sched = append(sched, v2Patch{n: size})
		plain := detRand(uint64(extra), size)
		u := writeV2(t, "fuzz", detRand(33, KeySize), plain, sched, deferLen)
		checkV2(t, u, plain)
	})
}

// tamperUpload is an upload of four chunks: chunk 1 completed across two
// requests, a segment boundary inside chunks 1 and 2, a last chunk of 1000
// bytes.
func tamperUpload(t *testing.T) (*v2Upload, []byte) {
	plain := detRand(41, 3*C+1000)
	sched := []v2Patch{{n: 100_000}, {n: 50_000}, {n: len(plain)}}
	u := writeV2(t, "tamper-1", detRand(42, KeySize), plain, sched, false)
	return u, plain
}

// readAll reads the whole upload and returns what came out before the
// error: never a byte of a chunk that failed.
func readAllPartial(t *testing.T, c *ChunkCipher, ct, tags []byte, size int64) ([]byte, error) {
	t.Helper()
	r, err := c.OpenRange(bytes.NewReader(ct), bytes.NewReader(tags), 0, size, size)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

func TestV2Tampering(t *testing.T) {
	u, plain := tamperUpload(t)
	size := int64(len(plain))
	tags := u.tagBytes()
	flip := func(b []byte, at int) []byte {
		b = bytes.Clone(b)
		b[at] ^= 0x04
		return b
	}
	swap := func(b []byte, a, c, n int) []byte {
		b = bytes.Clone(b)
		x := bytes.Clone(b[a : a+n])
		copy(b[a:a+n], b[c:c+n])
		copy(b[c:c+n], x)
		return b
	}
	other := writeV2(t, "tamper-2", detRand(43, KeySize), plain, []v2Patch{{n: 100_000}, {n: 50_000}, {n: len(plain)}}, false)
	sameKeyOtherID := writeV2(t, "tamper-3", detRand(42, KeySize), plain, []v2Patch{{n: 100_000}, {n: 50_000}, {n: len(plain)}}, false)
	splice := func(src *v2Upload, chunk int) ([]byte, []byte) {
		ct, tg := bytes.Clone(u.ct), bytes.Clone(tags)
		copy(ct[chunk*C:(chunk+1)*C], src.ct[chunk*C:(chunk+1)*C])
		copy(tg[chunk*16:(chunk+1)*16], src.tagBytes()[chunk*16:(chunk+1)*16])
		return ct, tg
	}
	movedSegs := append([]Segment(nil), u.segs...)
	movedSegs[1].Off -= 7 // inside chunk 1
	otherIV := append([]Segment(nil), u.segs...)
	otherIV[2] = Segment{Off: otherIV[2].Off, IV: detRand(44, IVSize)}

	ctOther, tagsOther := splice(other, 0)
	ctSame, tagsSame := splice(sameKeyOtherID, 0)
	for _, tc := range []struct {
		name     string
		segs     []Segment
		ct, tags []byte
		size     int64
		bad      int64 // first chunk that must fail
	}{
		{"flip data chunk 0", u.segs, flip(u.ct, 5), tags, size, 0},
		{"flip data chunk 1 (mosaic)", u.segs, flip(u.ct, C+40_000), tags, size, 1},
		{"flip data last chunk", u.segs, flip(u.ct, len(u.ct)-1), tags, size, 3},
		{"flip tag chunk 2", u.segs, u.ct, flip(tags, 2*16+3), size, 2},
		{"swap chunks 0 and 1", u.segs, swap(u.ct, 0, C, C), swap(tags, 0, 16, 16), size, 0},
		{"chunk from another upload", u.segs, ctOther, tagsOther, size, 0},
		{"chunk from another id, same key", u.segs, ctSame, tagsSame, size, 0},
		{"truncated at a chunk boundary", u.segs, u.ct[:3*C], tags[:3*16], 3 * C, 2},
		{"truncated inside a chunk", u.segs, u.ct[:3*C+500], tags, 3*C + 500, 3},
		{"data shorter than size", u.segs, u.ct[:len(u.ct)-1], tags, size, 3},
		{"tags missing", u.segs, u.ct, tags[:3*16], size, 3},
		{"segment moved inside chunk 1", movedSegs, u.ct, tags, size, 1},
		{"segment iv changed", otherIV, u.ct, tags, size, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewChunkCipher(u.sk.Chunk, u.id, tc.segs)
			if err != nil {
				t.Fatal(err)
			}
			got, err := readAllPartial(t, c, tc.ct, tc.tags, tc.size)
			if !isAuth(err) {
				t.Fatalf("whole read: err %v, want ErrAuth", err)
			}
			if int64(len(got)) != tc.bad*C || !bytes.Equal(got, plain[:len(got)]) {
				t.Fatalf("whole read gave %d bytes before failing, want the %d verified ones", len(got), tc.bad*C)
			}
			// A range inside the bad chunk fails without a byte; one inside
			// an earlier chunk is served.
			from := ChunkStart(tc.bad)
			if _, err := readRange(t, c, tc.ct, tc.tags, from, 1, tc.size); !isAuth(err) {
				t.Fatalf("range in chunk %d: err %v, want ErrAuth", tc.bad, err)
			}
			if tc.bad > 0 {
				got, err := readRange(t, c, tc.ct, tc.tags, 10, 100, tc.size)
				if err != nil || !bytes.Equal(got, plain[10:110]) {
					t.Fatalf("range in a good chunk: err %v", err)
				}
			}
		})
	}
	t.Run("object tag", func(t *testing.T) {
		const ps = 10 << 20
		digest := TagsDigest(tags)
		tag, err := ObjectTag(u.sk.Tag, u.id, ps, size, digest)
		if err != nil {
			t.Fatal(err)
		}
		if err := CheckObjectTag(u.sk.Tag, u.id, ps, size, digest, tag); err != nil {
			t.Fatal(err)
		}
		for name, check := range map[string]error{
			"flipped chunk tag":            CheckObjectTag(u.sk.Tag, u.id, ps, size, TagsDigest(flip(tags, 20)), tag),
			"tags missing":                 CheckObjectTag(u.sk.Tag, u.id, ps, size, TagsDigest(tags[:48]), tag),
			"other id":                     CheckObjectTag(u.sk.Tag, "tamper-9", ps, size, digest, tag),
			"other part size":              CheckObjectTag(u.sk.Tag, u.id, 5<<20, size, digest, tag),
			"size cut at a chunk boundary": CheckObjectTag(u.sk.Tag, u.id, ps, 3*C, digest, tag),
			"size cut inside a chunk":      CheckObjectTag(u.sk.Tag, u.id, ps, size-1, digest, tag),
			"flipped object tag":           CheckObjectTag(u.sk.Tag, u.id, ps, size, digest, flip(tag, 0)),
			"other key":                    CheckObjectTag(other.sk.Tag, u.id, ps, size, digest, tag),
			"short digest":                 CheckObjectTag(u.sk.Tag, u.id, ps, size, digest[:31], tag),
		} {
			if !isAuth(check) {
				t.Errorf("%s: %v, want ErrAuth", name, check)
			}
		}
	})
}

// TestV2InterimTags: the tag a request stored for a partial chunk stops
// verifying the chunk once it is longer, and a non-final tag never passes
// for the final chunk (truncation at a boundary of a deferred upload).
func TestV2InterimTags(t *testing.T) {
	plain := detRand(51, 2*C)
	dek := detRand(52, KeySize)
	u := newV2Upload(t, "interim", dek)
	u.patch(t, plain[:C+10], false, 2*C, false)
	interim := bytes.Clone(u.tags[1])
	u.patch(t, plain[C+10:], true, 2*C, false)
	u.size = 2 * C
	c := u.cipher(t)
	if bytes.Equal(interim, u.tags[1]) {
		t.Fatal("completing the chunk kept its interim tag")
	}
	sealed := append(bytes.Clone(u.ct[C:]), interim...)
	if _, err := c.OpenChunk(sealed, 1, true); !isAuth(err) {
		t.Fatalf("interim tag opened the completed chunk: %v", err)
	}
	sealed = append(bytes.Clone(u.ct[C:C+10]), interim...)
	if _, err := c.OpenChunk(sealed, 1, false); err != nil {
		t.Fatalf("interim tag does not open the chunk it sealed: %v", err)
	}
	if _, err := c.OpenChunk(append(bytes.Clone(u.ct[C:]), u.tags[1]...), 1, false); !isAuth(err) {
		t.Fatal("final tag opened the chunk as not final")
	}
	checkV2(t, u, plain)
}

func TestSealChunkRejects(t *testing.T) {
	segs := []Segment{{Off: 0, IV: detRand(61, IVSize)}, {Off: 100, IV: detRand(62, IVSize)}}
	c, err := NewChunkCipher(detRand(63, KeySize), "rejects", segs)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SealChunk(make([]byte, 200, 216), 0, 50, false, nil); err == nil {
		t.Error("new bytes spanning two segments were sealed")
	}
	if _, err := c.SealChunk(make([]byte, 200, 216), 0, 150, false, nil); err == nil {
		t.Error("a piece sealed from its middle")
	}
	if _, err := c.SealChunk(make([]byte, 200), 0, 200, false, nil); err == nil {
		t.Error("a non-final chunk without new bytes was sealed")
	}
	if _, err := c.SealChunk(nil, 0, 0, true, nil); err == nil {
		t.Error("an empty chunk was sealed")
	}
	if _, err := c.SealChunk(make([]byte, C+1), 0, 0, false, nil); err == nil {
		t.Error("an oversized chunk was sealed")
	}
	if _, err := c.OpenChunk(make([]byte, 10), 0, false); !isAuth(err) {
		t.Errorf("a chunk shorter than a tag: %v", err)
	}
	if err := c.VerifyChunk(make([]byte, 10), make([]byte, 15), 0, false); !isAuth(err) {
		t.Errorf("a short tag: %v", err)
	}
	if _, err := NewChunkCipher(detRand(63, KeySize), "x", []Segment{{Off: 5, IV: detRand(1, IVSize)}}); err == nil {
		t.Error("segments not starting at 0 accepted")
	}
	// A small seal buffer is grown, not overrun.
	one, err := NewChunkCipher(detRand(63, KeySize), "x", segs[:1])
	if err != nil {
		t.Fatal(err)
	}
	in := detRand(64, 50)
	sealed, err := one.SealChunk(bytes.Clone(in), 0, 0, false, nil)
	if err != nil || len(sealed) != 50+ChunkTagSize {
		t.Fatalf("seal into a full buffer: %d bytes, %v", len(sealed), err)
	}
	got, err := one.OpenChunk(sealed, 0, false)
	if err != nil || !bytes.Equal(got, in) {
		t.Fatalf("open: %v", err)
	}
}

// TestV2CompletionChecksPrefix: a request that completes a chunk verifies
// the stored prefix first, so bytes altered in the tail (or a wrong
// interim tag) are refused instead of being sealed into a valid tag.
func TestV2CompletionChecksPrefix(t *testing.T) {
	plain := detRand(91, C)
	u := newV2Upload(t, "launder", detRand(92, KeySize))
	u.patch(t, plain[:1000], false, C, false)
	segs := AppendSegment(u.segs, 1000, detRand(93, IVSize))
	c, err := NewChunkCipher(u.sk.Chunk, u.id, segs)
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		prefix, tag []byte
	}{
		"flipped prefix byte": {func() []byte { b := bytes.Clone(u.ct); b[7] ^= 1; return b }(), u.tags[0]},
		"flipped interim tag": {u.ct, func() []byte { b := bytes.Clone(u.tags[0]); b[0] ^= 1; return b }()},
		"no interim tag":      {u.ct, nil},
	} {
		buf := append(append(make([]byte, 0, C+ChunkTagSize), tc.prefix...), plain[1000:]...)
		if _, err := c.SealChunk(buf, 0, 1000, false, tc.tag); !isAuth(err) {
			t.Errorf("%s: %v, want ErrAuth", name, err)
		}
	}
	buf := append(append(make([]byte, 0, C+ChunkTagSize), u.ct...), plain[1000:]...)
	if _, err := c.SealChunk(buf, 0, 1000, true, u.tags[0]); err != nil {
		t.Fatalf("the genuine prefix: %v", err)
	}
}

// TestV2PlainGCM: a chunk written by one request is plain AES-256-GCM under
// the segment key, and the last chunk's tag is a plain GMAC, so any GCM
// library checks them.
func TestV2PlainGCM(t *testing.T) {
	plain := detRand(71, C+1)
	u := writeV2(t, "plain-gcm", detRand(72, KeySize), plain, []v2Patch{{n: C + 1}}, false)
	key, err := SegmentKey(u.sk.Chunk, u.segs[0].IV)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := newGCM(key, "test")
	if err != nil {
		t.Fatal(err)
	}
	aad, err := ChunkAAD(u.id, 0, C, false, u.segs)
	if err != nil {
		t.Fatal(err)
	}
	n := ChunkNonce(0, C, false)
	got, err := aead.Open(nil, n[:], append(bytes.Clone(u.ct[:C]), u.tags[0]...), aad)
	if err != nil || !bytes.Equal(got, plain[:C]) {
		t.Fatalf("full chunk is not plain GCM: %v", err)
	}
	// Chunk 1, the last (1 byte): GCM ciphertext under (1, 1, 0), tag a
	// GMAC under (1, 1, 1) over the AAD and the chunk.
	n = ChunkNonce(1, 1, false)
	if ct := aead.Seal(nil, n[:], plain[C:], nil); ct[0] != u.ct[C] {
		t.Fatal("last chunk's byte is not GCM ciphertext under its piece nonce")
	}
	aad, _ = ChunkAAD(u.id, 1, 1, true, u.segs)
	n = ChunkNonce(1, 1, true)
	if _, err := aead.Open(nil, n[:], u.tags[1], append(aad, u.ct[C])); err != nil {
		t.Fatalf("last chunk's tag is not a GMAC: %v", err)
	}
}

func TestTagStateSeal(t *testing.T) {
	k := detRand(81, KeySize)
	st := detRand(82, StateSize)
	sealed, err := SealTagState(k, st, "ts", 10<<20, 4)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := OpenTagState(k, sealed, "ts", 10<<20, 4); err != nil || !bytes.Equal(got, st) {
		t.Fatalf("open: %v", err)
	}
	for name, err := range map[string]error{
		"other id":        func() error { _, err := OpenTagState(k, sealed, "tx", 10<<20, 4); return err }(),
		"other committed": func() error { _, err := OpenTagState(k, sealed, "ts", 20<<20, 4); return err }(),
		"other seq":       func() error { _, err := OpenTagState(k, sealed, "ts", 10<<20, 5); return err }(),
		"v1 state seal":   func() error { _, err := OpenState(k, sealed, "ts", 10<<20, 4); return err }(),
	} {
		if !isAuth(err) {
			t.Errorf("%s: %v, want ErrAuth", name, err)
		}
	}
}
