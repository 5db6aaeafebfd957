package crypt

import (
	"bytes"
	"crypto/aes"
	"encoding/json"
	"fmt"
	"io"
	"testing"
	"testing/iotest"
)

// NIST SP 800-38A F.5.5 (CTR-AES256.Encrypt) and F.5.6 (Decrypt).
const (
	nistKey = "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4"
	nistIV  = "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"
	nistPT  = "6bc1bee22e409f96e93d7e117393172a" + "ae2d8a571e03ac9c9eb76fac45af8e51" +
		"30c81c46a35ce411e5fbc1191a0a52ef" + "f69f2445df4f9b17ad2b417be66c3710"
	nistCT = "601ec313775789a5b7a7f504bbf3d228" + "f443e3ca4d62b59aca84e990cacaf5c5" +
		"2b0930daa23de94ce87017ba2d84988d" + "dfc9c58db67aada613c2dd08457941a6"
)

func TestNISTCTRAES256(t *testing.T) {
	key, iv := mustHex(t, nistKey), mustHex(t, nistIV)
	pt, ct := mustHex(t, nistPT), mustHex(t, nistCT)
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []struct {
		name     string
		in, want []byte
	}{{"F.5.5 encrypt", pt, ct}, {"F.5.6 decrypt", ct, pt}} {
		got := make([]byte, len(dir.in))
		NewStream(block, iv, 0).XORKeyStream(got, dir.in)
		if !bytes.Equal(got, dir.want) {
			t.Errorf("%s via NewStream: got %x", dir.name, got)
		}
		if r := refXOR(t, key, []Segment{{0, iv}}, dir.in, 0); !bytes.Equal(r, dir.want) {
			t.Errorf("%s via reference: got %x", dir.name, r)
		}
		c, err := NewCipher(key, []Segment{{Off: 0, IV: iv}})
		if err != nil {
			t.Fatal(err)
		}
		for split := 0; split <= len(dir.in); split++ {
			got := make([]byte, len(dir.in))
			c.XORAt(got[:split], dir.in[:split], 0)
			c.XORAt(got[split:], dir.in[split:], int64(split))
			if !bytes.Equal(got, dir.want) {
				t.Errorf("%s via XORAt split at %d: got %x", dir.name, split, got)
			}
			// NewStream positioned mid-stream must continue the same keystream.
			tail := make([]byte, len(dir.in)-split)
			NewStream(block, iv, int64(split)).XORKeyStream(tail, dir.in[split:])
			if !bytes.Equal(tail, dir.want[split:]) {
				t.Errorf("%s via NewStream at %d: got %x", dir.name, split, tail)
			}
		}
	}
}

func TestCounterBlock(t *testing.T) {
	for _, tc := range []struct {
		iv   string
		off  int64
		want string
	}{
		{"00000000000000000000000000000000", 0, "00000000000000000000000000000000"},
		{"00000000000000000000000000000000", 15, "00000000000000000000000000000000"},
		{"00000000000000000000000000000000", 16, "00000000000000000000000000000001"},
		{"0000000000000000fffffffffffffffe", 16, "0000000000000000ffffffffffffffff"},
		{"0000000000000000fffffffffffffffe", 32, "00000000000000010000000000000000"},
		{"0123456789abcdefffffffffffffffff", 47, "0123456789abcdf00000000000000001"},
		{"ffffffffffffffffffffffffffffffff", 16, "00000000000000000000000000000000"},
		{"ffffffffffffffffffffffffffffffff", 1 << 62, "000000000000000003ffffffffffffff"},
	} {
		got := CounterBlock(mustHex(t, tc.iv), tc.off)
		if fmt.Sprintf("%x", got) != tc.want {
			t.Errorf("CounterBlock(%s, %d) = %x, want %s", tc.iv, tc.off, got, tc.want)
		}
	}
}

func TestFindSegment(t *testing.T) {
	segs := []Segment{{Off: 0}, {Off: 10}, {Off: 11}, {Off: 100}}
	for off, want := range map[int64]int{0: 0, 9: 0, 10: 1, 11: 2, 99: 2, 100: 3, 1 << 40: 3} {
		if got := FindSegment(segs, off); got != want {
			t.Errorf("FindSegment(%d) = %d, want %d", off, got, want)
		}
	}
	if got := FindSegment(segs[1:], 5); got != -1 {
		t.Errorf("FindSegment before first = %d, want -1", got)
	}
	if got := FindSegment(nil, 0); got != -1 {
		t.Errorf("FindSegment(nil) = %d, want -1", got)
	}
}

var splitOffsets = []int64{0, 1, 15, 16, 17, 31, 32, 33, 1<<20 + 3, 1<<40 - 1}

// readAll drains r through the given reader wrapper into a fresh buffer.
func readAll(t *testing.T, r io.Reader) []byte {
	t.Helper()
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// checkSplits verifies that XORAt and NewReader agree with the reference
// for the whole buffer, for every two-way split, and for several readers.
func checkSplits(t *testing.T, key []byte, segs []Segment, data []byte, off int64) {
	t.Helper()
	c, err := NewCipher(key, segs)
	if err != nil {
		t.Fatal(err)
	}
	want := refXOR(t, key, segs, data, off)
	whole := make([]byte, len(data))
	c.XORAt(whole, data, off)
	if !bytes.Equal(whole, want) {
		t.Fatalf("off %d: one-call XORAt differs from reference", off)
	}
	inPlace := bytes.Clone(data)
	c.XORAt(inPlace, inPlace, off)
	if !bytes.Equal(inPlace, want) {
		t.Fatalf("off %d: in-place XORAt differs", off)
	}
	for split := 0; split <= len(data); split++ {
		got := make([]byte, len(data))
		c.XORAt(got[:split], data[:split], off)
		c.XORAt(got[split:], data[split:], off+int64(split))
		if !bytes.Equal(got, want) {
			t.Fatalf("off %d: XORAt split at %d differs", off, split)
		}
	}
	// Pieces of every size 1..40, consecutively.
	for step := 1; step <= 40; step++ {
		got := make([]byte, len(data))
		for i := 0; i < len(data); i += step {
			j := min(i+step, len(data))
			c.XORAt(got[i:j], data[i:j], off+int64(i))
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("off %d: XORAt in steps of %d differs", off, step)
		}
	}
	readers := map[string]func(io.Reader) io.Reader{
		"plain":    func(r io.Reader) io.Reader { return r },
		"one-byte": iotest.OneByteReader,
		"half":     iotest.HalfReader,
		"data-err": iotest.DataErrReader,
	}
	for name, wrap := range readers {
		if got := readAll(t, c.NewReader(wrap(bytes.NewReader(data)), off)); !bytes.Equal(got, want) {
			t.Fatalf("off %d: NewReader with %s reader differs", off, name)
		}
	}
	for split := 0; split <= len(data); split += 7 {
		r := io.MultiReader(bytes.NewReader(data[:split]), iotest.HalfReader(bytes.NewReader(data[split:])))
		if got := readAll(t, c.NewReader(r, off)); !bytes.Equal(got, want) {
			t.Fatalf("off %d: NewReader with reads split at %d differs", off, split)
		}
	}
	if err := iotest.TestReader(c.NewReader(bytes.NewReader(data), off), want); err != nil {
		t.Fatalf("off %d: iotest.TestReader: %v", off, err)
	}
}

func TestSplitEquivalence(t *testing.T) {
	key := detRand(2, KeySize)
	data := detRand(3, 150)
	for name, iv := range carryIVs(t) {
		t.Run(name, func(t *testing.T) {
			for _, off := range splitOffsets {
				checkSplits(t, key, []Segment{{Off: 0, IV: iv}}, data, off)
			}
		})
	}
}

func TestMultiSegment(t *testing.T) {
	key := detRand(4, KeySize)
	ivs := carryIVs(t)
	segs := []Segment{
		{Off: 0, IV: ivs["low-ffff"]},
		{Off: 37, IV: ivs["random"]},
		{Off: 48, IV: ivs["all-ones"]},
		{Off: 49, IV: ivs["low-fffe"]},
		{Off: 100, IV: detRand(5, 16)},
	}
	data := detRand(6, 160)
	checkSplits(t, key, segs, data, 0)
	checkSplits(t, key, segs, data[:120], 30)
	checkSplits(t, key, segs, data[:20], 95)

	// Each segment's bytes equal a single-segment cipher under its IV.
	c, _ := NewCipher(key, segs)
	got := make([]byte, len(data))
	c.XORAt(got, data, 0)
	for i, s := range segs {
		end := int64(len(data))
		if i+1 < len(segs) {
			end = segs[i+1].Off
		}
		one, _ := NewCipher(key, []Segment{{Off: 0, IV: s.IV}})
		want := make([]byte, end-s.Off)
		one.XORAt(want, data[s.Off:end], s.Off)
		if !bytes.Equal(got[s.Off:end], want) {
			t.Errorf("segment %d bytes differ from a single-segment cipher", i)
		}
	}
}

func TestNewCipherRejects(t *testing.T) {
	iv := detRand(7, 16)
	key := detRand(8, KeySize)
	for name, segs := range map[string][]Segment{
		"short iv":       {{Off: 0, IV: iv[:15]}},
		"first not zero": {{Off: 1, IV: iv}},
		"not increasing": {{Off: 0, IV: iv}, {Off: 5, IV: iv}, {Off: 5, IV: iv}},
		"decreasing":     {{Off: 0, IV: iv}, {Off: 5, IV: iv}, {Off: 3, IV: iv}},
	} {
		if _, err := NewCipher(key, segs); err == nil {
			t.Errorf("%s: NewCipher accepted bad segments", name)
		}
	}
	if _, err := NewCipher(key[:16], []Segment{{Off: 0, IV: iv}}); err == nil {
		t.Error("NewCipher accepted a 16-byte key")
	}
	c, err := NewCipher(key, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.XORAt(nil, nil, 0) // empty upload: nothing to do
	if _, err := io.ReadAll(c.NewReader(bytes.NewReader([]byte{1}), 0)); err == nil {
		t.Error("reader without segments returned bytes without error")
	}
}

func TestAppendSegment(t *testing.T) {
	a, b, c := []byte("a"), []byte("b"), []byte("c")
	segs := AppendSegment(nil, 0, a)
	segs = AppendSegment(segs, 10, b)
	segs = AppendSegment(segs, 10, c) // replaces the uncommitted one at 10
	segs = AppendSegment(segs, 20, b)
	segs = AppendSegment(segs, 15, a) // drops 20
	got, _ := json.Marshal(segs)
	want := `[{"Off":0,"IV":"YQ=="},{"Off":10,"IV":"Yw=="},{"Off":15,"IV":"YQ=="}]`
	if string(got) != want {
		t.Errorf("segments = %s, want %s", got, want)
	}
}

func TestSegmentsBefore(t *testing.T) {
	segs := []Segment{{Off: 0}, {Off: 10}, {Off: 20}}
	for _, tc := range []struct {
		off  int64
		want int
	}{{0, 0}, {5, 1}, {10, 1}, {11, 2}, {20, 2}, {21, 3}} {
		got := SegmentsBefore(segs, tc.off)
		if len(got) != tc.want {
			t.Errorf("SegmentsBefore(%d) kept %d, want %d", tc.off, len(got), tc.want)
		}
		got = append(got, Segment{Off: 99})
		if segs[len(segs)-1].Off == 99 {
			t.Fatal("append after SegmentsBefore wrote into the original slice")
		}
	}
}

func TestReaderAllocs(t *testing.T) {
	key := detRand(9, KeySize)
	c, _ := NewCipher(key, []Segment{{Off: 0, IV: detRand(10, 16)}})
	r := c.NewReader(zeroReader{}, 5)
	buf := make([]byte, 1000)
	r.Read(buf) // build the stream
	if n := testing.AllocsPerRun(100, func() { r.Read(buf) }); n != 0 {
		t.Errorf("Read allocates %v times per call, want 0", n)
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
