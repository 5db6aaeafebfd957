// Package crypt implements tusvault's encryption formats v1 and v2 (see
// docs/FORMAT.md, and DESIGN.md, "Encryption format v1"): the primitives the
// store uses to keep upload contents and client metadata confidential and
// authenticated in third-party object storage, while uploads are appended
// in arbitrary pieces, across requests and processes.
//
// Keys. A Keyring maps short printable key ids (kids) to 32-byte key
// encryption keys (KEKs); one is primary and wraps the data encryption key
// (DEK) of new uploads. Each upload has its own random DEK, stored only as
// WrapDEK output (AES-256-GCM, bound to the upload id and kid). Four
// subkeys (enc, mac, state, meta) are derived from the DEK with HKDF-SHA256
// by DeriveSubkeys.
//
// CTR at offset. Data is AES-256-CTR under the enc subkey with no
// expansion: ciphertext offset equals plaintext offset. The keystream for
// the byte at absolute upload offset o is byte o%16 of the encrypted counter
// block IV+floor(o/16) (128-bit big-endian, with carry), so any range can be
// encrypted or decrypted on its own (NewStream, Cipher.XORAt,
// Cipher.NewReader).
//
// Segments. Every PATCH starts a new Segment with a fresh random IV at its
// starting offset, persisted before any byte is encrypted under it, so a
// rolled-back offset never reuses a counter for different bytes. A byte
// belongs to the segment with the greatest Off not above its offset
// (FindSegment); Cipher switches segment at the boundaries.
//
// Resumable MAC. Integrity is encrypt-then-MAC: HMAC-SHA256 under the mac
// subkey over the whole ciphertext followed by a Trailer that binds the
// upload id, part size, segment list and size. MAC is HMAC built from two
// crypto/sha256 digests so that its inner state can be marshaled (State),
// stored sealed, and resumed in another process (ResumeMAC).
//
// Sealing. The marshaled MAC state holds raw input and is secret
// equivalent; it is stored only as SealState output, bound to the upload id,
// the committed offset and a sequence number. Client metadata is stored
// only as SealMeta output. Both are nonce(12) ‖ AES-256-GCM ciphertext+tag.
// The oldest segments of an unfinished upload are kept in pages sealed
// by SealPage under the state subkey, each bound to the hash of the page
// before it.
//
// Format v2 (docs/FORMAT.md, sections 1 and 7 to 14; the format of new
// uploads, store.Config.Format). Data is cut
// into 64 KiB chunks with detached 16-byte tags, so every range can be
// verified. Segments are v1's, but each segment's IV selects its own
// AES-256-GCM key (SegmentKey); a segment's bytes of a chunk (its piece)
// are GCM ciphertext under ChunkNonce(chunk, piece end, false), and a
// chunk's tag is the GCM tag of its last piece with the chunk's earlier
// ciphertext as additional data (ChunkCipher.SealChunk, OpenChunk,
// OpenRange). A chunk completed by a later request keeps its stored bytes
// and is sealed again under the new segment's key, after the stored prefix
// was verified. The object-level tag (ObjectTag) is an HMAC over the id,
// sizes and the SHA-256 of the chunk tags. v2 lives in the v2*.go files and
// shares only helpers (seal, open, appendLP, MAC, segments) with v1.
//
// Every authentication failure (wrong key, wrong binding data, tampering)
// is reported as an error wrapping ErrAuth. Errors never contain key
// material.
package crypt
