package crypt

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"fmt"
)

// ChunkCipher seals and opens the 64 KiB chunks of a format v2 upload.
//
// Every segment (one per PATCH, as in v1: offset and fresh random IV,
// persisted before use) has its own AES-256-GCM key (SegmentKey). The bytes
// a segment writes into chunk i are encrypted with the keystream of chunk
// i's data nonce under that segment's key, at their position in the chunk,
// exactly as GCM encrypts a whole chunk; a chunk written by one PATCH is
// therefore plain AES-256-GCM. A chunk written by several PATCHes is a
// mosaic: each piece keeps the ciphertext its PATCH stored, and the chunk's
// detached tag is the GCM tag of the whole mosaic under the key of the
// segment that wrote its last byte (the sealing segment) and the nonce
// ChunkNonce(i, n, final). Stored ciphertext is never rewritten.
//
// A ChunkCipher caches segment keys; it is not safe for concurrent use.
type ChunkCipher struct {
	kChunk   []byte
	uploadID string
	segs     []Segment
	keys     map[int]segKey // by segment index
	ps       []piece        // scratch for pieces
	aadBuf   []byte         // scratch for aad
	nonce    [NonceSize]byte
}

type segKey struct {
	block cipher.Block
	aead  cipher.AEAD
}

// NewChunkCipher returns a ChunkCipher for the chunk subkey, the upload id
// and its segment list, which must pass ValidateSegments. segs is copied.
func NewChunkCipher(kChunk []byte, uploadID string, segs []Segment) (*ChunkCipher, error) {
	if len(kChunk) != KeySize {
		return nil, errKeySize("chunk key", len(kChunk))
	}
	if len(uploadID) > MaxIDLen {
		return nil, fmt.Errorf("crypt: upload id of %d bytes is too long", len(uploadID))
	}
	if err := ValidateSegments(segs); err != nil {
		return nil, err
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
func (c *ChunkCipher) aad(i int64, n int, final bool, ps []piece) ([]byte, error) {
	b, err := appendChunkAAD(c.aadBuf[:0], c.uploadID, i, n, final, len(ps))
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		b = binary.BigEndian.AppendUint64(b, uint64(c.segs[p.seg].Off))
		b = append(b, c.segs[p.seg].IV...)
	}
	c.aadBuf = b
	return b, nil
}

// xorKeystream XORs b, the bytes at chunk position pos, with the GCM
// keystream of nonce under key: block j of the chunk uses counter block
// nonce ‖ u32 (2 + j). (cipher.NewCTR increments all 128 bits, GCM only
// the low 32; a chunk has 4096 blocks, so they never differ.)
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

// SealChunk encrypts and seals chunk i in place. buf holds the chunk's
// first len(buf) bytes: buf[:prefix] is its stored ciphertext (written by
// earlier PATCHes, left unchanged) and buf[prefix:] the new plaintext, all
// of it in the sealing segment (the one holding the chunk's last byte). It
// returns buf[:len(buf)+ChunkTagSize]: the chunk's ciphertext followed by
// its tag, appended in buf's spare capacity when there is enough. final
// says the chunk is the upload's last. Calling it again for the same
// chunk, length and final flag gives the same output; a longer version of
// the chunk, or its final version, is sealed under another nonce.
func (c *ChunkCipher) SealChunk(buf []byte, i int64, prefix int, final bool) ([]byte, error) {
	n := len(buf)
	if err := checkChunk(i, n); err != nil {
		return nil, err
	}
	if prefix < 0 || prefix > n {
		return nil, fmt.Errorf("crypt: seal chunk %d: bad prefix %d of %d", i, prefix, n)
	}
	ps, err := c.pieces(i, n)
	if err != nil {
		return nil, err
	}
	sealer := ps[len(ps)-1]
	if prefix < n && sealer.from > prefix {
		return nil, fmt.Errorf("crypt: seal chunk %d: new bytes from %d span segments", i, prefix)
	}
	k, err := c.key(sealer.seg)
	if err != nil {
		return nil, err
	}
	aad, err := c.aad(i, n, final, ps)
	if err != nil {
		return nil, err
	}
	dn, tn := dataNonce(i), ChunkNonce(i, n, final)
	if tn == dn {
		// The usual case, one pass: the stored prefix is turned into the
		// "plaintext" that GCM encrypts back into it.
		xorKeystream(k, dn, 0, buf[:prefix])
		c.nonce = tn // a field: a local would escape to the heap
		return k.aead.Seal(buf[:0], c.nonce[:], buf, aad), nil
	}
	// A partial or final chunk: encrypt the new bytes under the data nonce,
	// then compute the GCM tag of the whole ciphertext under the seal nonce.
	xorKeystream(k, dn, prefix, buf[prefix:])
	xorKeystream(k, tn, 0, buf)
	c.nonce = tn
	return k.aead.Seal(buf[:0], c.nonce[:], buf, aad), nil
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
	k, err := c.key(ps[len(ps)-1].seg)
	if err != nil {
		return nil, err
	}
	aad, err := c.aad(i, n, final, ps)
	if err != nil {
		return nil, fmt.Errorf("crypt: open chunk %d: %w", i, ErrAuth)
	}
	dn, tn := dataNonce(i), ChunkNonce(i, n, final)
	c.nonce = tn
	plain, err := k.aead.Open(sealed[:0], c.nonce[:], sealed, aad)
	if err != nil {
		clear(sealed)
		return nil, fmt.Errorf("crypt: open chunk %d: %w", i, ErrAuth)
	}
	// plain is the ciphertext under the seal nonce's keystream; a piece
	// that keystream did not encrypt is put back and decrypted under its
	// own segment's key.
	for _, p := range ps {
		if p.seg == ps[len(ps)-1].seg && tn == dn {
			continue
		}
		pk, err := c.key(p.seg)
		if err != nil {
			clear(sealed)
			return nil, err
		}
		b := plain[p.from:p.to]
		xorKeystream(k, tn, p.from, b)
		xorKeystream(pk, dn, p.from, b)
	}
	return plain, nil
}
