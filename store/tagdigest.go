package store

import (
	"bytes"
	"crypto/sha256"
	"encoding"
	"errors"
	"hash"

	"github.com/tusvault/tusvault/store/crypt"
)

// tagDigest is the running state of a format v2 upload, sealed in .info
// as TagState (docs/FORMAT.md, section 12): the SHA-256 over the tags
// of the committed chunks but the last, and that last tag held back with
// whether it was sealed as the upload's last chunk. It is held back
// because completion re-seals it as final when a deferred length was
// declared after data that ended on a part boundary; completion then
// sums without reading any tag object. The part writer commits each
// part's tags through it (partWriter.seal).
type tagDigest struct {
	h hash.Hash
	// last is the held-back tag, nil while nothing is committed.
	last  []byte
	final bool
}

// The encoding of a tagDigest: the marshaled SHA-256 (crypt.StateSize
// bytes), then, once a chunk is committed, its last tag and a flag byte.
const tagDigestHeld = crypt.ChunkTagSize + 1

var errBadTagState = errors.New("the tag state of the upload is malformed")

func newTagDigest() *tagDigest { return &tagDigest{h: sha256.New()} }

// openTagDigest decodes a state that tagDigest.state returned (after
// crypt.OpenTagState has authenticated it).
func openTagDigest(state []byte) (*tagDigest, error) {
	if len(state) != crypt.StateSize && len(state) != crypt.StateSize+tagDigestHeld {
		return nil, errBadTagState
	}
	d := newTagDigest()
	if err := d.h.(encoding.BinaryUnmarshaler).UnmarshalBinary(state[:crypt.StateSize]); err != nil {
		return nil, errBadTagState
	}
	if held := state[crypt.StateSize:]; len(held) > 0 {
		if held[crypt.ChunkTagSize] > 1 {
			return nil, errBadTagState
		}
		d.last, d.final = bytes.Clone(held[:crypt.ChunkTagSize]), held[crypt.ChunkTagSize] == 1
	}
	return d, nil
}

// state encodes d for crypt.SealTagState.
func (d *tagDigest) state() ([]byte, error) {
	b, err := d.h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil || d.last == nil {
		return b, err
	}
	flag := byte(0)
	if d.final {
		flag = 1
	}
	return append(append(b, d.last...), flag), nil
}

// commit takes the tags of a part about to be committed, in chunk order:
// the held-back tag and all of them but the last go into the digest, the
// last is held back; final says it was sealed as the upload's last chunk.
func (d *tagDigest) commit(tags []byte, final bool) error {
	if len(tags) == 0 || len(tags)%crypt.ChunkTagSize != 0 {
		return errors.New("a part's chunk tags are not a whole number of tags")
	}
	d.h.Write(d.last)
	cut := len(tags) - crypt.ChunkTagSize
	d.h.Write(tags[:cut])
	d.last, d.final = bytes.Clone(tags[cut:]), final
	return nil
}

// resealed replaces the held-back tag by the final tag of the same chunk,
// re-sealed at completion.
func (d *tagDigest) resealed(tag []byte) {
	d.last, d.final = bytes.Clone(tag), true
}

// sum returns TagsSHA256 of a complete upload: the digest with the
// held-back tag, which must be final by then (none for an empty upload).
// d is unchanged.
func (d *tagDigest) sum() ([]byte, error) {
	if d.last != nil && !d.final {
		return nil, errors.New("the last chunk tag of the upload is not final")
	}
	h, err := d.h.(hash.Cloner).Clone()
	if err != nil {
		return nil, err
	}
	h.Write(d.last)
	return h.Sum(nil), nil
}
