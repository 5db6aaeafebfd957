package store

import (
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/tusvault/tusvault/store/crypt"
)

// Format v2 (docs/FORMAT.md) in the store: the .info fields and their
// check, and the keys. New uploads are v2 unless Config.Format says 1;
// the write path is in chunks.go and parts.go, completion in
// complete_v2.go, GETs and Decrypt in read_v2.go.

// v2 reports whether the upload is in format v2.
func (e *encInfo) v2() bool { return e.V == crypt.V2Version }

// checkFormat refuses a format this version does not know and the
// fields that do not belong to the upload's format (docs/FORMAT.md,
// section 6). offset is the upload's Offset.
func (e *encInfo) checkFormat(offset int64) error {
	switch {
	case e.V == crypt.Version && e.Alg == crypt.Alg:
		if e.TagState != nil || e.TailTags != nil || e.TagsSHA256 != nil {
			return errors.New("a v1 info has fields of format v2")
		}
		return nil
	case e.V == crypt.V2Version && e.Alg == crypt.V2Alg:
	default:
		return fmt.Errorf("unsupported format %d/%q", e.V, e.Alg)
	}
	tailTags := crypt.ChunkTagSize * (crypt.ChunkCount(offset) - crypt.ChunkCount(e.Committed))
	switch {
	case e.MacState != nil:
		return errors.New("a v2 info has a MAC state")
	case e.PartSize%crypt.ChunkSize != 0:
		return errors.New("a v2 info has a part size that is not a whole number of chunks")
	case e.Tag != nil:
		if len(e.Tag) != sha256.Size || len(e.TagsSHA256) != sha256.Size || e.TagState != nil || e.TailTags != nil {
			return errors.New("a finished v2 info has invalid tag fields")
		}
	case e.Layout != layout2:
		return errors.New("an unfinished v2 info is not in layout 2")
	case e.TagState == nil || e.TagsSHA256 != nil:
		return errors.New("an unfinished v2 info has invalid tag fields")
	case int64(len(e.TailTags)) != tailTags:
		return errors.New("the tail tags of a v2 info do not match its tail")
	}
	return nil
}

// uploadKeys are the keys of an upload, of its format: keys for v1,
// keys2 for v2.
type uploadKeys struct {
	keys  crypt.Subkeys
	keys2 crypt.SubkeysV2
}

// deriveKeys derives the subkeys of format v (crypt.Version or
// crypt.V2Version) from dek.
func deriveKeys(v int, dek []byte) (k uploadKeys, err error) {
	if v == crypt.V2Version {
		k.keys2, err = crypt.DeriveSubkeysV2(dek)
	} else {
		k.keys, err = crypt.DeriveSubkeys(dek)
	}
	return k, err
}

// wrapDEK wraps dek under kek with the AAD of format v.
func wrapDEK(v int, kek, dek []byte, id, kid string) ([]byte, error) {
	if v == crypt.V2Version {
		return crypt.WrapDEKV2(kek, dek, id, kid)
	}
	return crypt.WrapDEK(kek, dek, id, kid)
}

// unwrapDEK unwraps the DEK of info under kek with the AAD of its
// format: a v2 upload relabelled v1 (or the reverse) does not open.
func unwrapDEK(kek []byte, info *infoFile) ([]byte, error) {
	e := &info.Enc
	if e.v2() {
		return crypt.UnwrapDEKV2(kek, e.WrappedDEK, info.ID, e.Kid)
	}
	return crypt.UnwrapDEK(kek, e.WrappedDEK, info.ID, e.Kid)
}

// stateKey is the key that seals the upload's running state and its
// segment pages; metaKey the one that seals its metadata.
func (u *upload) stateKey() []byte {
	if u.info.Enc.v2() {
		return u.keys2.State
	}
	return u.keys.State
}

func (k *uploadKeys) metaKey(v int) []byte {
	if v == crypt.V2Version {
		return k.keys2.Meta
	}
	return k.keys.Meta
}

// initialState is the running state of an upload with no byte: an empty
// MAC (v1) or an empty digest of chunk tags (v2, docs/FORMAT.md,
// section 12).
func (k *uploadKeys) initialState(v int) ([]byte, error) {
	if v == crypt.V2Version {
		return newTagDigest().state()
	}
	return crypt.NewMAC(k.keys.MAC).State()
}

// sealState seals state, the running state of the upload's format, into
// next, about to be stored: v1's MAC state over macCovers() bytes, v2's
// tag state over Committed (none once the upload is finished).
func (u *upload) sealState(next *infoFile, state []byte) (err error) {
	e := &next.Enc
	switch {
	case !e.v2():
		e.MacState, err = crypt.SealState(u.keys.State, state, next.ID, e.macCovers(), e.Seq)
	case e.Tag == nil:
		e.TagState, err = crypt.SealTagState(u.keys2.State, state, next.ID, e.Committed, e.Seq)
	default:
		e.TagState = nil
	}
	return err
}

// runningState unseals the running state of the upload's format: v1's MAC
// state over Enc.macCovers() bytes, v2's tag state over Committed (nil
// once finished).
func (u *upload) runningState() ([]byte, error) {
	e := &u.info.Enc
	var state []byte
	var err error
	switch {
	case !e.v2():
		state, err = crypt.OpenState(u.keys.State, e.MacState, u.info.ID, e.macCovers(), e.Seq)
	case e.Tag == nil:
		state, err = crypt.OpenTagState(u.keys2.State, e.TagState, u.info.ID, e.Committed, e.Seq)
	}
	if err != nil {
		return nil, fmt.Errorf("open running state: %w", err)
	}
	return state, nil
}
