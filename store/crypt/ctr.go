package crypt

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"sort"
)

// Segment is a run of the upload encrypted under one IV: it covers the bytes
// from Off up to the next segment's Off. It encodes in JSON as
// {"Off":123,"IV":"<base64>"}.
type Segment struct {
	Off int64
	IV  []byte
}

// CounterBlock returns the counter block for absolute offset off:
// iv + floor(off/16) as a 128-bit big-endian integer, wrapping mod 2^128.
// It panics if iv is not IVSize bytes or off is negative.
func CounterBlock(iv []byte, off int64) [16]byte {
	if len(iv) != IVSize {
		panic("crypt: iv must be 16 bytes")
	}
	if off < 0 {
		panic("crypt: negative offset")
	}
	hi := binary.BigEndian.Uint64(iv[:8])
	lo := binary.BigEndian.Uint64(iv[8:])
	lo, carry := bits.Add64(lo, uint64(off)/16, 0)
	hi, _ = bits.Add64(hi, 0, carry)
	var ctr [16]byte
	binary.BigEndian.PutUint64(ctr[:8], hi)
	binary.BigEndian.PutUint64(ctr[8:], lo)
	return ctr
}

// FindSegment returns the index of the segment with the greatest Off <= off,
// or -1 if there is none. segs must be sorted by Off.
func FindSegment(segs []Segment, off int64) int {
	return sort.Search(len(segs), func(i int) bool { return segs[i].Off > off }) - 1
}

// NewStream returns a CTR keystream under iv positioned at absolute byte
// offset off. It panics if iv is not IVSize bytes or off is negative.
func NewStream(block cipher.Block, iv []byte, off int64) cipher.Stream {
	ctr := CounterBlock(iv, off)
	s := cipher.NewCTR(block, ctr[:])
	if skip := off % 16; skip != 0 {
		var junk [16]byte
		s.XORKeyStream(junk[:skip], junk[:skip])
	}
	return s
}

// ValidateSegments checks a segment list: every IV is IVSize bytes, offsets
// are non-negative and strictly increasing, and the first (if any) is at 0.
func ValidateSegments(segs []Segment) error { return validateSegments(segs, true) }

// validateSegments is ValidateSegments, the first offset at 0 only if
// fromZero (and non-negative always).
func validateSegments(segs []Segment, fromZero bool) error {
	for i, s := range segs {
		if len(s.IV) != IVSize {
			return fmt.Errorf("crypt: segment %d: iv is %d bytes, want %d", i, len(s.IV), IVSize)
		}
		if i == 0 && (s.Off < 0 || fromZero && s.Off != 0) {
			return fmt.Errorf("crypt: first segment starts at %d, want 0", s.Off)
		}
		if i > 0 && s.Off <= segs[i-1].Off {
			return fmt.Errorf("crypt: segment %d: offset %d not above previous %d", i, s.Off, segs[i-1].Off)
		}
	}
	return nil
}

// SegmentsBefore drops the segments that start at or after off: none of
// their bytes were committed, so they may be replaced (a later segment at
// the same or a lower offset) or forgotten (nothing encrypted under them
// lies before off). The result has no spare capacity, so appending to it
// never writes into segs.
func SegmentsBefore(segs []Segment, off int64) []Segment {
	i := sort.Search(len(segs), func(i int) bool { return segs[i].Off >= off })
	return segs[:i:i]
}

// AppendSegment returns segs with a new segment {off, iv} appended after
// dropping every segment at or above off (see SegmentsBefore).
func AppendSegment(segs []Segment, off int64, iv []byte) []Segment {
	return append(SegmentsBefore(segs, off), Segment{Off: off, IV: iv})
}

// Cipher encrypts and decrypts bytes at absolute upload offsets under the
// enc subkey and a segment list. It is immutable and safe for concurrent use.
type Cipher struct {
	block cipher.Block
	segs  []Segment
}

// NewCipher returns a Cipher for kEnc (32 bytes) and segs, which must pass
// ValidateSegments. segs is copied.
func NewCipher(kEnc []byte, segs []Segment) (*Cipher, error) {
	if len(kEnc) != KeySize {
		return nil, errKeySize("enc key", len(kEnc))
	}
	if err := ValidateSegments(segs); err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(kEnc)
	if err != nil {
		return nil, fmt.Errorf("crypt: enc key: %w", err)
	}
	cp := make([]Segment, len(segs))
	for i, s := range segs {
		cp[i] = Segment{Off: s.Off, IV: append([]byte(nil), s.IV...)}
	}
	return &Cipher{block: block, segs: cp}, nil
}

// span returns the segment index for off and how many bytes from off stay
// in that segment (math.MaxInt64 for the last one); index -1 if uncovered.
func (c *Cipher) span(off int64) (int, int64) {
	i := FindSegment(c.segs, off)
	if i < 0 {
		return -1, 0
	}
	if i+1 < len(c.segs) {
		return i, c.segs[i+1].Off - off
	}
	return i, math.MaxInt64
}

// XORAt XORs src, the bytes at absolute offsets [off, off+len(src)), with
// the keystream into dst, switching segment at segment boundaries. dst must
// be at least as long as src; dst and src may overlap exactly. It panics if
// off is negative or a byte is not covered by a segment (no segments).
func (c *Cipher) XORAt(dst, src []byte, off int64) {
	if len(dst) < len(src) {
		panic("crypt: output smaller than input")
	}
	if off < 0 || off > math.MaxInt64-int64(len(src)) {
		panic("crypt: offset out of range")
	}
	for len(src) > 0 {
		i, room := c.span(off)
		if i < 0 {
			panic("crypt: offset not covered by any segment")
		}
		n := len(src)
		if int64(n) > room {
			n = int(room)
		}
		NewStream(c.block, c.segs[i].IV, off).XORKeyStream(dst[:n], src[:n])
		dst, src, off = dst[n:], src[n:], off+int64(n)
	}
}

var errNoSegment = errors.New("crypt: offset not covered by any segment")

// NewReader returns a reader yielding the XOR of r's bytes, which start at
// absolute offset off, with the keystream: it decrypts (or encrypts) a
// stream. It keeps its keystream between reads and allocates only when it
// crosses into a new segment.
func (c *Cipher) NewReader(r io.Reader, off int64) io.Reader {
	return &reader{c: c, r: r, off: off}
}

type reader struct {
	c      *Cipher
	r      io.Reader
	off    int64         // absolute offset of the next byte
	stream cipher.Stream // positioned at off; nil if not yet built
	room   int64         // bytes left in the current segment
	err    error         // sticky decryption error
}

func (rd *reader) Read(p []byte) (int, error) {
	if rd.err != nil {
		return 0, rd.err
	}
	n, err := rd.r.Read(p)
	if n > 0 {
		if xerr := rd.xor(p[:n]); xerr != nil {
			// Never hand out bytes that were not transformed.
			rd.err = xerr
			return 0, xerr
		}
	}
	return n, err
}

func (rd *reader) xor(b []byte) error {
	if rd.off < 0 || rd.off > math.MaxInt64-int64(len(b)) {
		return errors.New("crypt: offset out of range")
	}
	for len(b) > 0 {
		if rd.stream == nil || rd.room == 0 {
			i, room := rd.c.span(rd.off)
			if i < 0 {
				return errNoSegment
			}
			rd.stream, rd.room = NewStream(rd.c.block, rd.c.segs[i].IV, rd.off), room
		}
		n := len(b)
		if int64(n) > rd.room {
			n = int(rd.room)
		}
		rd.stream.XORKeyStream(b[:n], b[:n])
		b, rd.off, rd.room = b[n:], rd.off+int64(n), rd.room-int64(n)
	}
	return nil
}
