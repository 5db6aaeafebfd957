package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"

	"github.com/tus/tusd/v2/pkg/handler"

	"github.com/tusvault/tusvault/internal/failpoint"
)

// upload is one request's view of an upload: its .info and unsealed keys.
// tusd holds the upload's lock while it uses one.
type upload struct {
	s    *Store
	key  string
	info *infoFile
	// raw is .info as loaded or last stored; info always describes it.
	raw []byte
	uploadKeys
	meta handler.MetaData
}

func encodeB64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// GetInfo implements handler.Upload.
func (u *upload) GetInfo(ctx context.Context) (handler.FileInfo, error) {
	storage := make(map[string]string, len(u.info.Storage))
	for k, v := range u.info.Storage {
		storage[k] = v
	}
	if tag := u.info.Enc.Tag; tag != nil {
		storage["Tag"] = encodeB64(tag)
	}
	return handler.FileInfo{
		ID:             u.info.ID,
		Size:           u.info.Size,
		SizeIsDeferred: u.info.SizeIsDeferred,
		Offset:         u.info.Offset,
		MetaData:       u.meta,
		Storage:        storage,
	}, nil
}

// update stores a changed .info: change edits a copy of the current one,
// which gets a fresh Seq, the running state resealed under it and Offset =
// Committed + TailLen, and becomes u.info only once it is stored. So u.info
// always says what the backend holds, even after a failed write. state is
// the running state of the upload's format (sealState): in v1 the MAC
// state over exactly the new macCovers() bytes, Committed in layout 1 and
// Offset in layout 2; in v2 the tag state over Committed.
func (u *upload) update(ctx context.Context, state []byte, change func(*infoFile)) error {
	// A shallow copy: change replaces fields, never edits the maps and
	// byte slices it shares with u.info; the segments are copied since
	// they are appended to.
	next := *u.info
	next.Enc.Segments = slices.Clone(u.info.Enc.Segments)
	if change != nil {
		change(&next)
	}
	if err := u.pageOut(ctx, &next); err != nil {
		return err
	}
	e := &next.Enc
	e.Seq++
	next.Offset = e.Committed + e.TailLen
	if err := u.sealState(&next, state); err != nil {
		return err
	}
	raw, err := next.encode()
	if err != nil {
		return err
	}
	if err := u.s.putRaw(ctx, u.key, raw); err != nil {
		return err
	}
	*u.info, u.raw = next, raw
	return nil
}

// restore writes back orig, the .info bytes loaded before this request,
// undoing a request that stored nothing (its unused segment is dropped;
// its IV is never reused).
func (u *upload) restore(ctx context.Context, orig []byte) error {
	var info infoFile
	if err := json.Unmarshal(orig, &info); err != nil {
		return err
	}
	if err := u.s.putRaw(ctx, u.key, orig); err != nil {
		return err
	}
	*u.info, u.raw = info, orig
	return nil
}

// DeclareLength implements handler.LengthDeclarableUpload.
func (u *upload) DeclareLength(ctx context.Context, length int64) error {
	if limit := u.info.Enc.PartSize * u.s.cfg.maxParts; length > limit {
		return errTooLarge(limit)
	}
	state, err := u.runningState()
	if err != nil {
		return u.s.internal(ctx, "declare-length", u.info.ID, err)
	}
	err = u.update(ctx, state, func(info *infoFile) {
		info.Size = length
		info.SizeIsDeferred = false
	})
	if err != nil {
		return u.s.internal(ctx, "declare-length", u.info.ID, err)
	}
	return nil
}

// Terminate implements handler.TerminatableUpload.
func (u *upload) Terminate(ctx context.Context) error {
	if err := u.remove(ctx); err != nil {
		return u.s.internal(ctx, "terminate", u.info.ID, err)
	}
	return nil
}

// remove deletes the upload: the data object, the tail (<key>.part, the
// fragments, listed or not, and the cached spool), the segment pages, the
// tag objects and the multipart upload first and .info last, and .info only if the rest
// is gone, so a removal cut short leaves an upload that a retry (or the
// next sweep) removes, never ciphertext that nothing refers to.
func (u *upload) remove(ctx context.Context) error {
	b := u.s.cfg.Backend
	err := errors.Join(
		b.Delete(ctx, u.key),
		u.deleteTail(ctx),
	)
	if u.info.MultipartID != "" {
		err = errors.Join(err, b.AbortMultipart(ctx, u.key, u.info.MultipartID))
	}
	// Every page, those a crash left uncounted included.
	err = errors.Join(err, u.s.deleteAllPages(ctx, u.key), u.s.deleteAllTagObjects(ctx, u.key))
	if err != nil {
		return err
	}
	failpoint.Hit("remove")
	return b.Delete(ctx, u.key+infoSuffix)
}
