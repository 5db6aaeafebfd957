package crypt

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"fmt"

	"github.com/tusvault/tusvault/internal/failpoint"
)

// ChunkCipher seals and opens the 64 KiB chunks of a format v2 upload.
//
// Every segment (one per PATCH, as in v1: offset and fresh random IV,
// persisted before use) has its own AES-256-GCM key (SegmentKey). The bytes
// a segment writes into chunk i, its piece [a, b) of the chunk, are the
// GCM ciphertext of that plaintext under the segment's key and the nonce
// ChunkNonce(i, b, false). The chunk's detached tag is made by the segment
// that wrote its last byte (the sealing segment): the GCM tag of its piece
// with everything before it in the chunk (its stored ciphertext) appended
// to the chunk's AAD; for the upload's last chunk, a GMAC (GCM of an empty
// plaintext) over the AAD and the whole chunk, under ChunkNonce(i, n,
// true). A chunk written by one request is thus plain AES-256-GCM, and a
// chunk completed by a later request keeps the ciphertext stored before:
// only its tag is made again, under the new segment's key.
//
// A ChunkCipher caches segment keys and scratch buffers; it is not safe
// for concurrent use.
type ChunkCipher struct {
	kChunk   []byte
	uploadID string
	segs     []Segment
	keys     map[int]segKey // by segment index
	ps       []piece        // scratch for pieces
	aadBuf   []byte         // scratch for aad
	scratch  []byte         // scratch for VerifyChunk
	nonce    [NonceSize]byte
}

type segKey struct {
	block cipher.Block
	aead  cipher.AEAD
}

func NewChunkCipher(kChunk []byte, uploadID string, segs []Segment) (*ChunkCipher, error) {
	if err := ValidateSegments(segs); err != nil {
		return nil, err
	}
	return newChunkCipher(kChunk, uploadID, segs)
}

// NewChunkCipherFrom is NewChunkCipher over the segments of an upload from
// some offset on, as the write path of an unfinished upload holds them
// once older segments are paged out: the first may start above 0, and a
// chunk that starts below it cannot be sealed or opened.
func NewChunkCipherFrom(kChunk []byte, uploadID string, segs []Segment) (*ChunkCipher, error) {
	if err := validateSegments(segs, false); err != nil {
		return nil, err
	}
	return newChunkCipher(kChunk, uploadID, segs)
}

func newChunkCipher(kChunk []byte, uploadID string, segs []Segment) (*ChunkCipher, error) {
	if len(kChunk) != KeySize {
		return nil, errKeySize("chunk key", len(kChunk))
	}
	if len(uploadID) > MaxIDLen {
		return nil, fmt.Errorf("crypt: upload id of %d bytes is too long", len(uploadID))
	}
	cp := make([]Segment, len(segs))
	for i, s := range segs {
		cp[i] = Segment{Off: s.Off, IV: append([]byte(nil), s.IV...)}
	}
	return &ChunkCipher{kChunk: kChunk, uploadID: uploadID, segs: cp, keys: map[int]segKey{}}, nil
}

func (c *ChunkCipher) key(seg int) (segKey, error) {
	if k, ok := c.keys[seg]; ok {
		return k, nil
	}
	raw, err := SegmentKey(c.kChunk, c.segs[seg].IV)
	if err != nil {
		return segKey{}, err
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return segKey{}, fmt.Errorf("crypt: segment key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return segKey{}, fmt.Errorf("crypt: segment key: %w", err)
	}
	k := segKey{block: block, aead: aead}
	c.keys[seg] = k
	return k, nil
}

// piece is the part of a chunk written under one segment: chunk positions
// [from, to).
type piece struct{ seg, from, to int }

// pieces returns the segments holding bytes [0, n) of chunk i, in order.
func (c *ChunkCipher) pieces(i int64, n int) ([]piece, error) {
	start := ChunkStart(i)
	first := FindSegment(c.segs, start)
	if first < 0 {
		return nil, errNoSegment
	}
	ps := c.ps[:0]
	for s := first; s < len(c.segs) && c.segs[s].Off < start+int64(n); s++ {
		from, to := 0, n
		if s > first {
			from = int(c.segs[s].Off - start)
		}
		if s+1 < len(c.segs) && c.segs[s+1].Off < start+int64(n) {
			to = int(c.segs[s+1].Off - start)
		}
		ps = append(ps, piece{seg: s, from: from, to: to})
	}
	c.ps = ps
	return ps, nil
}

// aad returns ChunkAAD for the pieces ps, in a buffer reused by the next
// call.
// aad returns ChunkAAD for the pieces ps followed by prev, the chunk's
// ciphertext before the sealed piece (or the whole chunk, for a final
// tag), in a buffer reused by the next call.
func (c *ChunkCipher) aad(i int64, n int, final bool, ps []piece, prev []byte) ([]byte, error) {
	b, err := appendChunkAAD(c.aadBuf[:0], c.uploadID, i, n, final, len(ps))
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		b = binary.BigEndian.AppendUint64(b, uint64(c.segs[p.seg].Off))
		b = append(b, c.segs[p.seg].IV...)
	}
	b = append(b, prev...)
	c.aadBuf = b
	return b, nil
}

// xorKeystream XORs b, the bytes at position pos of a piece (counted from
// the piece's first byte), with the GCM keystream of nonce under key: block
// j of the piece uses counter block nonce ‖ u32 (2 + j), exactly as
// GCM-Seal encrypts a plaintext. (cipher.NewCTR increments all 128 bits,
// GCM only the low 32; a piece has at most 4096 blocks, so they agree.)
func xorKeystream(k segKey, nonce [NonceSize]byte, pos int, b []byte) {
	if len(b) == 0 {
		return
	}
	var ctr [16]byte
	copy(ctr[:], nonce[:])
	binary.BigEndian.PutUint32(ctr[NonceSize:], uint32(counterBase+pos/16))
	s := cipher.NewCTR(k.block, ctr[:])
	if skip := pos % 16; skip != 0 {
		var junk [16]byte
		s.XORKeyStream(junk[:skip], junk[:skip])
	}
	s.XORKeyStream(b, b)
}

func checkChunk(i int64, n int) error {
	if i < 0 || n < 1 || n > ChunkSize {
		return fmt.Errorf("crypt: chunk %d of %d bytes is out of range", i, n)
	}
	return nil
}

// pieceNonce is the nonce of a piece ending at chunk position b.
func pieceNonce(i int64, b int) [NonceSize]byte { return ChunkNonce(i, b, false) }

// SealChunk encrypts and seals chunk i in place. buf holds the chunk's
// first n = len(buf) bytes: buf[:prefix] is its stored ciphertext, written
// by earlier requests, and buf[prefix:] the new plaintext, which must be
// the sealing segment's whole piece (prefix is where that segment's bytes
// begin in the chunk). A stored prefix is first verified against
// prefixTag, the tag it was stored with (an interim tag: chunk i at length
// prefix, not final), so that tampered stored bytes are never sealed into
// a valid tag; a mismatch wraps ErrAuth. With prefix == n (no new bytes)
// and final, it re-seals a stored chunk as the upload's last, for a length
// declared late. It returns buf[:n+ChunkTagSize]: the chunk's ciphertext,
// the prefix unchanged, followed by its tag, appended in buf's spare
// capacity when there is enough. Sealing the same chunk, length and final
// flag again gives the same output.
func (c *ChunkCipher) SealChunk(buf []byte, i int64, prefix int, final bool, prefixTag []byte) ([]byte, error) {
	n := len(buf)
	if err := checkChunk(i, n); err != nil {
		return nil, err
	}
	if cap(buf) < n+ChunkTagSize {
		buf = append(make([]byte, 0, n+ChunkTagSize), buf...)
	}
	ps, err := c.pieces(i, n)
	if err != nil {
		return nil, err
	}
	sealer := ps[len(ps)-1]
	reseal := final && prefix == n
	if !reseal && prefix != sealer.from {
		return nil, fmt.Errorf("crypt: seal chunk %d: new bytes from %d, the sealing segment's from %d", i, prefix, sealer.from)
	}
	if prefix < 0 || prefix > n {
		return nil, fmt.Errorf("crypt: seal chunk %d: bad prefix %d of %d", i, prefix, n)
	}
	if prefix > 0 {
		if err := c.VerifyChunk(buf[:prefix], prefixTag, i, false); err != nil {
			return nil, fmt.Errorf("crypt: seal chunk %d: stored prefix: %w", i, err)
		}
		if ps, err = c.pieces(i, n); err != nil { // VerifyChunk reused c.ps
			return nil, err
		}
	}
	k, err := c.key(sealer.seg)
	if err != nil {
		return nil, err
	}
	aad, err := c.aad(i, n, final, ps, buf[:prefix])
	if err != nil {
		return nil, err
	}
	// For the chaos tests' nonce checker (failpoint builds only).
	failpoint.ChunkSealed(c.uploadID, c.segs[sealer.seg].IV, i, n, final, buf[prefix:], aad)
	if !final {
		c.nonce = pieceNonce(i, n) // a field: a local would escape to the heap
		k.aead.Seal(buf[prefix:prefix], c.nonce[:], buf[prefix:], aad)
		return buf[:n+ChunkTagSize], nil
	}
	// The last chunk: its new piece is encrypted as any piece, then the
	// tag is a GMAC over the whole chunk under the final nonce.
	xorKeystream(k, pieceNonce(i, n), 0, buf[prefix:])
	aad = append(aad, buf[prefix:]...)
	c.aadBuf = aad
	c.nonce = ChunkNonce(i, n, true)
	return k.aead.Seal(buf[:n], c.nonce[:], nil, aad), nil
}

// VerifyChunk checks tag against ct, the n = len(ct) bytes of chunk i
// (final or not), without decrypting or changing ct. A mismatch wraps
// ErrAuth.
func (c *ChunkCipher) VerifyChunk(ct, tag []byte, i int64, final bool) error {
	n := len(ct)
	if err := checkChunk(i, n); err != nil {
		return fmt.Errorf("%w: %w", err, ErrAuth)
	}
	if len(tag) != ChunkTagSize {
		return fmt.Errorf("crypt: chunk %d: tag is %d bytes: %w", i, len(tag), ErrAuth)
	}
	ps, err := c.pieces(i, n)
	if err != nil {
		return fmt.Errorf("crypt: chunk %d: %w: %w", i, err, ErrAuth)
	}
	last := ps[len(ps)-1]
	k, err := c.key(last.seg)
	if err != nil {
		return err
	}
	from := last.from
	if final {
		from = n // a GMAC over the whole chunk
	}
	aad, err := c.aad(i, n, final, ps, ct[:from])
	if err != nil {
		return fmt.Errorf("crypt: chunk %d: %w", i, ErrAuth)
	}
	c.scratch = append(append(c.scratch[:0], ct[from:]...), tag...)
	c.nonce = ChunkNonce(i, n, final)
	if _, err := k.aead.Open(c.scratch[:0], c.nonce[:], c.scratch, aad); err != nil {
		return fmt.Errorf("crypt: chunk %d: %w", i, ErrAuth)
	}
	clear(c.scratch)
	return nil
}

// OpenChunk verifies chunk i, n = len(sealed)-ChunkTagSize bytes long and
// final or not, and decrypts it in place: on success sealed[:n] is the
// plaintext. A mismatch gives an error wrapping ErrAuth, and sealed holds
// no plaintext then.
func (c *ChunkCipher) OpenChunk(sealed []byte, i int64, final bool) ([]byte, error) {
	n := len(sealed) - ChunkTagSize
	if err := checkChunk(i, n); err != nil {
		return nil, fmt.Errorf("%w: %w", err, ErrAuth)
	}
	ps, err := c.pieces(i, n)
	if err != nil {
		return nil, fmt.Errorf("crypt: open chunk %d: %w: %w", i, err, ErrAuth)
	}
	last := ps[len(ps)-1]
	k, err := c.key(last.seg)
	if err != nil {
		return nil, err
	}
	decrypted := last.from // pieces from here on are decrypted by Open
	if final {
		decrypted = n
	}
	aad, err := c.aad(i, n, final, ps, sealed[:decrypted])
	if err != nil {
		return nil, fmt.Errorf("crypt: open chunk %d: %w", i, ErrAuth)
	}
	c.nonce = ChunkNonce(i, n, final)
	if _, err := k.aead.Open(sealed[decrypted:decrypted], c.nonce[:], sealed[decrypted:], aad); err != nil {
		clear(sealed)
		return nil, fmt.Errorf("crypt: open chunk %d: %w", i, ErrAuth)
	}
	// Verified: decrypt the pieces GCM did not, each under its own key.
	for _, p := range ps {
		if p.from >= decrypted {
			break
		}
		pk, err := c.key(p.seg)
		if err != nil {
			clear(sealed)
			return nil, err
		}
		xorKeystream(pk, pieceNonce(i, p.to), 0, sealed[p.from:p.to])
	}
	return sealed[:n], nil
}
