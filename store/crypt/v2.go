package crypt

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
)

// Format v2 constants (docs/FORMAT.md, sections 6 to 12).
const (
	V2Version    = 2
	V2Alg        = "A256GCM-C64K" // AES-256-GCM chunks of 64 KiB, detached tags
	ChunkSize    = 64 << 10       // plaintext (= ciphertext) bytes per chunk but the last
	ChunkTagSize = 16             // detached GCM tag per chunk
	// counterBase is GCM's first data counter: J0 = nonce ‖ 1 masks the tag,
	// block j of a chunk is encrypted under nonce ‖ u32 (2 + j).
	counterBase = 2
)

// ChunkIndex returns the index of the chunk holding absolute offset off.
func ChunkIndex(off int64) int64 { return off / ChunkSize }

// ChunkStart returns the absolute offset of chunk i's first byte.
func ChunkStart(i int64) int64 { return i * ChunkSize }

// ChunkCount returns the number of chunks of an upload of size bytes:
// ceil(size / ChunkSize), 0 for an empty upload.
func ChunkCount(size int64) int64 { return (size + ChunkSize - 1) / ChunkSize }

// ChunkLen returns the length of chunk i of an upload of size bytes
// (ChunkSize but for the last chunk), or 0 if the upload has no chunk i.
func ChunkLen(i, size int64) int {
	n := size - ChunkStart(i)
	switch {
	case i < 0 || n <= 0:
		return 0
	case n > ChunkSize:
		return ChunkSize
	}
	return int(n)
}

// EnclosingChunks returns the first and last chunk holding bytes of the
// range [off, off+n) of an upload of size bytes; ok is false if the range
// is empty or not inside the upload.
func EnclosingChunks(off, n, size int64) (first, last int64, ok bool) {
	if off < 0 || n <= 0 || off > size-n {
		return 0, 0, false
	}
	return ChunkIndex(off), ChunkIndex(off + n - 1), true
}

// ChunkNonce returns the 12-byte GCM nonce u64 i ‖ u8 final ‖ u24 n. Under
// a segment's key, ChunkNonce(i, b, false) encrypts the segment's piece of
// chunk i that ends at chunk position b, and seals the chunk's tag when the
// chunk is n = b bytes long; ChunkNonce(i, n, true) seals the upload's last
// chunk. A segment has one piece per chunk, so each is used once.
func ChunkNonce(i int64, n int, final bool) [NonceSize]byte {
	if i < 0 || n < 0 || n > ChunkSize {
		panic("crypt: chunk nonce out of range")
	}
	var b [NonceSize]byte
	binary.BigEndian.PutUint64(b[:8], uint64(i))
	binary.BigEndian.PutUint32(b[8:], uint32(n))
	if final {
		b[8] = 1
	}
	return b
}

// ChunkAAD returns the additional data that a chunk's tag authenticates:
// "tusvault/v2/chunk" ‖ lp(uploadID) ‖ u64 i ‖ u32 n ‖ u8 final ‖ u32 m ‖
// m × (u64 Off ‖ IV), the m segments holding bytes of the chunk, in order.
func ChunkAAD(uploadID string, i int64, n int, final bool, segs []Segment) ([]byte, error) {
	b := make([]byte, 0, 17+2+len(uploadID)+8+4+1+4+len(segs)*(8+IVSize))
	b, err := appendChunkAAD(b, uploadID, i, n, final, len(segs))
	if err != nil {
		return nil, err
	}
	for _, s := range segs {
		b = binary.BigEndian.AppendUint64(b, uint64(s.Off))
		b = append(b, s.IV...)
	}
	return b, nil
}

// appendChunkAAD appends ChunkAAD up to and including u32 m.
func appendChunkAAD(b []byte, uploadID string, i int64, n int, final bool, m int) ([]byte, error) {
	b, err := appendLP(append(b, "tusvault/v2/chunk"...), uploadID)
	if err != nil {
		return nil, err
	}
	b = binary.BigEndian.AppendUint64(b, uint64(i))
	b = binary.BigEndian.AppendUint32(b, uint32(n))
	if final {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	return binary.BigEndian.AppendUint32(b, uint32(m)), nil
}

// SubkeysV2 are the per-upload keys of format v2, derived from the DEK.
type SubkeysV2 struct {
	Chunk []byte // root of the per-segment AES-256-GCM keys (SegmentKey)
	Tag   []byte // HMAC-SHA256 key of the object-level tag
	State []byte // AES-256-GCM key sealing the running object-tag state
	Meta  []byte // AES-256-GCM key sealing client metadata
}

// DeriveSubkeysV2 derives K_x = HKDF-SHA256(secret = dek, salt = empty,
// info = "tusvault/v2/" ‖ x) for x in chunk, tag, state, meta.
func DeriveSubkeysV2(dek []byte) (SubkeysV2, error) {
	if len(dek) != KeySize {
		return SubkeysV2{}, errKeySize("dek", len(dek))
	}
	var sk SubkeysV2
	for _, d := range []struct {
		dst  *[]byte
		info string
	}{{&sk.Chunk, "chunk"}, {&sk.Tag, "tag"}, {&sk.State, "state"}, {&sk.Meta, "meta"}} {
		k, err := hkdf.Key(sha256.New, dek, nil, "tusvault/v2/"+d.info, KeySize)
		if err != nil {
			return SubkeysV2{}, fmt.Errorf("crypt: derive v2 %s key: %w", d.info, err)
		}
		*d.dst = k
	}
	return sk, nil
}

// SegmentKey returns the AES-256-GCM key of the segment with IV iv:
// HKDF-SHA256(secret = kChunk, salt = empty, info = "tusvault/v2/seg" ‖ iv).
// The IV is the segment's fresh random value, persisted before first use.
func SegmentKey(kChunk, iv []byte) ([]byte, error) {
	if len(kChunk) != KeySize {
		return nil, errKeySize("chunk key", len(kChunk))
	}
	if len(iv) != IVSize {
		return nil, fmt.Errorf("crypt: segment iv is %d bytes, want %d", len(iv), IVSize)
	}
	k, err := hkdf.Key(sha256.New, kChunk, nil, "tusvault/v2/seg"+string(iv), KeySize)
	if err != nil {
		return nil, fmt.Errorf("crypt: derive segment key: %w", err)
	}
	return k, nil
}

func dekAADV2(uploadID, kid string) ([]byte, error) {
	b, err := appendLP([]byte("tusvault/v2/dek"), uploadID)
	if err != nil {
		return nil, err
	}
	return appendLP(b, kid)
}

// WrapDEKV2 encrypts dek under kek for a v2 upload: as WrapDEK, with AAD
// "tusvault/v2/dek" ‖ lp(uploadID) ‖ lp(kid), so that a v2 upload's .info
// relabelled as v1 (whose ranges are not authenticated) does not unwrap.
func WrapDEKV2(kek, dek []byte, uploadID, kid string) ([]byte, error) {
	return wrapDEKV2(kek, nil, dek, uploadID, kid)
}

func wrapDEKV2(kek, nonce, dek []byte, uploadID, kid string) ([]byte, error) {
	if len(dek) != KeySize {
		return nil, errKeySize("dek", len(dek))
	}
	aad, err := dekAADV2(uploadID, kid)
	if err != nil {
		return nil, err
	}
	return seal(kek, nonce, dek, aad, "wrap dek")
}

// UnwrapDEKV2 reverses WrapDEKV2; failures wrap ErrAuth.
func UnwrapDEKV2(kek, wrapped []byte, uploadID, kid string) ([]byte, error) {
	if len(kek) != KeySize {
		return nil, errKeySize("kek", len(kek))
	}
	if len(wrapped) != WrappedDEKSize {
		return nil, fmt.Errorf("crypt: unwrap dek: wrapped dek is %d bytes, want %d: %w",
			len(wrapped), WrappedDEKSize, ErrAuth)
	}
	aad, err := dekAADV2(uploadID, kid)
	if err != nil {
		return nil, fmt.Errorf("crypt: unwrap dek: %w", ErrAuth)
	}
	return open(kek, wrapped, aad, "unwrap dek")
}

// TagInput returns the bytes the object-level tag MACs:
// "tusvault/v2/tag" ‖ lp(uploadID) ‖ u64 partSize ‖ u32 ChunkSize ‖
// u64 ChunkCount(size) ‖ u64 size ‖ tagsDigest, where tagsDigest is
// TagsDigest of the upload's chunk tags. It panics on an id longer than
// MaxIDLen or a digest that is not 32 bytes.
func TagInput(uploadID string, partSize, size int64, tagsDigest []byte) []byte {
	if len(tagsDigest) != sha256.Size {
		panic("crypt: tags digest must be 32 bytes")
	}
	b := make([]byte, 0, 15+2+len(uploadID)+8+4+8+8+sha256.Size)
	b, err := appendLP(append(b, "tusvault/v2/tag"...), uploadID)
	if err != nil {
		panic(err)
	}
	b = binary.BigEndian.AppendUint64(b, uint64(partSize))
	b = binary.BigEndian.AppendUint32(b, ChunkSize)
	b = binary.BigEndian.AppendUint64(b, uint64(ChunkCount(size)))
	b = binary.BigEndian.AppendUint64(b, uint64(size))
	return append(b, tagsDigest...)
}

// TagsDigest returns SHA-256 of the concatenated chunk tags of an upload,
// in chunk order (ChunkCount(size) × ChunkTagSize bytes). .info stores it
// beside the object-level tag, so that a ranged read checks the tag (and
// with it the size) without fetching every chunk tag. A store computes it
// incrementally with crypto/sha256 as chunk tags become final.
func TagsDigest(tags []byte) []byte {
	sum := sha256.Sum256(tags)
	return sum[:]
}

// ObjectTag returns the object-level tag of a finished v2 upload:
// HMAC-SHA256(kTag, TagInput(uploadID, partSize, size, tagsDigest)).
func ObjectTag(kTag []byte, uploadID string, partSize, size int64, tagsDigest []byte) ([]byte, error) {
	if len(kTag) != KeySize {
		return nil, errKeySize("tag key", len(kTag))
	}
	if len(tagsDigest) != sha256.Size {
		return nil, fmt.Errorf("crypt: object tag: tags digest is %d bytes, want %d", len(tagsDigest), sha256.Size)
	}
	m := hmac.New(sha256.New, kTag)
	m.Write(TagInput(uploadID, partSize, size, tagsDigest))
	return m.Sum(nil), nil
}

// CheckObjectTag verifies tag, the object-level tag stored in .info, against
// the upload's id, part size, size and tags digest (all from .info). It is
// cheap, so every read, ranged or whole, does it first: it authenticates the
// size, so a read cannot be served from an upload truncated (or extended)
// with a rewritten .info. A whole read also checks that TagsDigest of the
// tags it verified equals tagsDigest. A mismatch wraps ErrAuth.
func CheckObjectTag(kTag []byte, uploadID string, partSize, size int64, tagsDigest, tag []byte) error {
	if len(tagsDigest) != sha256.Size {
		return fmt.Errorf("crypt: object tag: bad tags digest: %w", ErrAuth)
	}
	want, err := ObjectTag(kTag, uploadID, partSize, size, tagsDigest)
	if err != nil {
		return err
	}
	if !hmac.Equal(want, tag) {
		return fmt.Errorf("crypt: object tag mismatch: %w", ErrAuth)
	}
	return nil
}

func tagStateAAD(uploadID string, committed int64, seq uint64) ([]byte, error) {
	b, err := appendLP([]byte("tusvault/v2/state"), uploadID)
	if err != nil {
		return nil, err
	}
	b = binary.BigEndian.AppendUint64(b, uint64(committed))
	return binary.BigEndian.AppendUint64(b, seq), nil
}

// SealTagState seals the marshaled running SHA-256 over the final chunk
// tags of the committed bytes (crypto/sha256 MarshalBinary, StateSize
// bytes) under the v2 state key: nonce(12) ‖ AES-256-GCM-Seal(kState,
// nonce, state, "tusvault/v2/state" ‖ lp(uploadID) ‖ u64 committed ‖
// u64 seq), with a random nonce. The tags are public, but the state must
// not be forged: the object-level tag signs the digest it ends in.
func SealTagState(kState, state []byte, uploadID string, committed int64, seq uint64) ([]byte, error) {
	aad, err := tagStateAAD(uploadID, committed, seq)
	if err != nil {
		return nil, err
	}
	return seal(kState, nil, state, aad, "seal tag state")
}

// OpenTagState reverses SealTagState; any mismatch wraps ErrAuth.
func OpenTagState(kState, sealed []byte, uploadID string, committed int64, seq uint64) ([]byte, error) {
	aad, err := tagStateAAD(uploadID, committed, seq)
	if err != nil {
		return nil, fmt.Errorf("crypt: open tag state: %w", ErrAuth)
	}
	return open(kState, sealed, aad, "open tag state")
}
