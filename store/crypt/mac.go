package crypt

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
)

const (
	blockSize = sha256.BlockSize
	// StateSize is the length of a marshaled MAC state (crypto/sha256's
	// marshaled digest).
	StateSize = 108
	// maxHashed bounds the bytes a MAC state may have hashed, key block
	// included: far above any upload (an int64 size, and the store's
	// limit of about 2^46), far below SHA-256's limit of 2^61 bytes.
	maxHashed = 1 << 60
)

// ErrMACTooLong is State's answer for a MAC over more than maxHashed
// bytes, which ResumeMAC would refuse.
var ErrMACTooLong = errors.New("crypt: mac: more data than a state can hold")

// MAC is HMAC-SHA256 built from two crypto/sha256 digests, so that its
// state can be saved (State) and resumed in another process (ResumeMAC).
// Its output equals crypto/hmac with sha256.New.
type MAC struct {
	inner hash.Hash
	opad  [blockSize]byte // key ⊕ 0x5c, hashed before the inner sum
}

// hmacPads returns the key blocks key⊕ipad and key⊕opad (HMAC, RFC 2104).
func hmacPads(key []byte) (ipad, opad [blockSize]byte) {
	if len(key) > blockSize {
		sum := sha256.Sum256(key)
		key = sum[:]
	}
	copy(ipad[:], key)
	copy(opad[:], key)
	for i := range ipad {
		ipad[i] ^= 0x36
		opad[i] ^= 0x5c
	}
	return ipad, opad
}

// NewMAC returns a MAC keyed with kMac with no data written.
func NewMAC(kMac []byte) *MAC {
	ipad, opad := hmacPads(kMac)
	m := &MAC{inner: sha256.New(), opad: opad}
	m.inner.Write(ipad[:])
	return m
}

// Write adds p to the MAC'd data. It never fails.
func (m *MAC) Write(p []byte) (int, error) { return m.inner.Write(p) }

// State returns the marshaled inner sha256 state (StateSize bytes). It is
// secret equivalent and holds raw input: store it only sealed (SealState).
// A MAC over more than maxHashed bytes has none (ErrMACTooLong).
func (m *MAC) State() ([]byte, error) {
	st, err := m.inner.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("crypt: mac state: %w", err)
	}
	if hashedLen(st) > maxHashed {
		return nil, ErrMACTooLong
	}
	return st, nil
}

// hashedLen is the number of bytes a marshaled state has hashed: its
// last 8 bytes.
func hashedLen(state []byte) uint64 { return binary.BigEndian.Uint64(state[len(state)-8:]) }

// ResumeMAC rebuilds a MAC from kMac and a state returned by State. A state
// that does not decode, or cannot come from a MAC, gives an error wrapping
// ErrAuth. A valid state under another key is not detected here: the tag
// will simply not match.
func ResumeMAC(kMac, state []byte) (*MAC, error) {
	if len(state) != StateSize {
		return nil, fmt.Errorf("crypt: resume mac: state is %d bytes, want %d: %w", len(state), StateSize, ErrAuth)
	}
	// The key block comes first, and no upload comes near maxHashed.
	if n := hashedLen(state); n < blockSize || n > maxHashed {
		return nil, fmt.Errorf("crypt: resume mac: state has an impossible length: %w", ErrAuth)
	}
	inner := sha256.New()
	if err := inner.(encoding.BinaryUnmarshaler).UnmarshalBinary(state); err != nil {
		return nil, fmt.Errorf("crypt: resume mac: bad state: %w", ErrAuth)
	}
	_, opad := hmacPads(kMac)
	return &MAC{inner: inner, opad: opad}, nil
}

// Tag returns HMAC(kMac, data written so far ‖ trailer) without changing m.
func (m *MAC) Tag(trailer []byte) []byte {
	c, err := m.inner.(hash.Cloner).Clone()
	if err != nil {
		panic("crypt: sha256 cannot be cloned: " + err.Error())
	}
	c.Write(trailer)
	var sum [sha256.Size]byte
	outer := sha256.New()
	outer.Write(m.opad[:])
	outer.Write(c.Sum(sum[:0]))
	return outer.Sum(nil)
}

// Trailer returns the bytes MAC'd after the ciphertext:
// "tusvault/v1/tag" ‖ lp(uploadID) ‖ u64 partSize ‖ u32 len(segs) ‖
// for each segment (u64 Off ‖ IV) ‖ u64 size. Segment IVs must be IVSize
// bytes (ValidateSegments); uploadID must be at most MaxIDLen bytes, or
// Trailer panics (WrapDEK refuses such ids, so no upload can have one).
func Trailer(uploadID string, partSize int64, segs []Segment, size int64) []byte {
	b := make([]byte, 0, 15+2+len(uploadID)+8+4+len(segs)*(8+IVSize)+8)
	b, err := appendLP(append(b, "tusvault/v1/tag"...), uploadID)
	if err != nil {
		panic(err)
	}
	b = binary.BigEndian.AppendUint64(b, uint64(partSize))
	b = binary.BigEndian.AppendUint32(b, uint32(len(segs)))
	for _, s := range segs {
		b = binary.BigEndian.AppendUint64(b, uint64(s.Off))
		b = append(b, s.IV...)
	}
	return binary.BigEndian.AppendUint64(b, uint64(size))
}

// TagEqual reports whether two tags are equal, in constant time.
func TagEqual(a, b []byte) bool { return hmac.Equal(a, b) }
