package crypt

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
)

// Segment pages: while an upload is unfinished, runs of its segments that
// can no longer change are moved out of .info into immutable page objects
// (store/segments.go, docs/FORMAT.md section 6.1). A page is sealed under
// the state subkey and chained: its AAD holds the SHA-256 of the page
// before it, and .info keeps the SHA-256 of the last one, so a page that
// is altered, swapped with another (of this or another upload), dropped
// or replaced by an older copy does not verify.

// PageHashSize is the size of a page hash (SHA-256).
const PageHashSize = sha256.Size

// segmentSize is the encoding of one segment in a page and in the
// Trailer: u64 Off ‖ IV.
const segmentSize = 8 + IVSize

func pageAAD(uploadID string, index uint32, prev []byte) ([]byte, error) {
	b, err := appendLP([]byte("tusvault/v1/segs"), uploadID)
	if err != nil {
		return nil, err
	}
	b = binary.BigEndian.AppendUint32(b, index)
	if prev == nil {
		prev = make([]byte, PageHashSize)
	}
	if len(prev) != PageHashSize {
		return nil, fmt.Errorf("crypt: previous page hash is %d bytes, want %d", len(prev), PageHashSize)
	}
	return append(b, prev...), nil
}

// SealPage seals segs as page number index of an upload:
// nonce(12) ‖ AES-256-GCM-Seal(kState, nonce, for each segment
// (u64 Off ‖ IV), "tusvault/v1/segs" ‖ lp(uploadID) ‖ u32 index ‖ prev),
// with a random nonce. prev is the hash of page index-1 (nil, meaning 32
// zero bytes, for page 0). It returns the page and its hash (PageHash).
// Segment IVs must be IVSize bytes.
func SealPage(kState []byte, uploadID string, index uint32, prev []byte, segs []Segment) (page, hash []byte, err error) {
	aad, err := pageAAD(uploadID, index, prev)
	if err != nil {
		return nil, nil, err
	}
	plain := make([]byte, 0, len(segs)*segmentSize)
	for _, s := range segs {
		if len(s.IV) != IVSize {
			return nil, nil, fmt.Errorf("crypt: seal page: iv is %d bytes, want %d", len(s.IV), IVSize)
		}
		plain = binary.BigEndian.AppendUint64(plain, uint64(s.Off))
		plain = append(plain, s.IV...)
	}
	page, err = seal(kState, nil, plain, aad, "seal page")
	if err != nil {
		return nil, nil, err
	}
	return page, PageHash(page), nil
}

// PageHash is the SHA-256 of a sealed page, which chains it to the next.
func PageHash(page []byte) []byte {
	h := sha256.Sum256(page)
	return h[:]
}

// OpenPage reverses SealPage, given the hash of the page before (nil for
// page 0). A wrong key, upload id, index or previous hash, or tampering,
// gives an error wrapping ErrAuth. The segments are not validated
// (ValidateSegments, over the whole list).
func OpenPage(kState []byte, uploadID string, index uint32, prev, page []byte) ([]Segment, error) {
	aad, err := pageAAD(uploadID, index, prev)
	if err != nil {
		return nil, fmt.Errorf("crypt: open page: %w", ErrAuth)
	}
	plain, err := open(kState, page, aad, "open page")
	if err != nil {
		return nil, err
	}
	if len(plain)%segmentSize != 0 {
		return nil, fmt.Errorf("crypt: open page: %d bytes is not a whole number of segments", len(plain))
	}
	segs := make([]Segment, 0, len(plain)/segmentSize)
	for ; len(plain) > 0; plain = plain[segmentSize:] {
		off := binary.BigEndian.Uint64(plain)
		if off > 1<<63-1 {
			return nil, fmt.Errorf("crypt: open page: offset %d out of range", off)
		}
		segs = append(segs, Segment{Off: int64(off), IV: plain[8:segmentSize:segmentSize]})
	}
	return segs, nil
}
