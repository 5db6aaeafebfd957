package store

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/tus/tusd/v2/pkg/handler"

	"github.com/tusvault/tusvault/store/crypt"
)

// upload is one request's view of an upload: its .info and unsealed keys.
// tusd holds the upload's lock while it uses one.
type upload struct {
	s    *Store
	key  string
	info *infoFile
	// raw is .info as loaded, written back verbatim when a request ends
	// without changing what is stored.
	raw  []byte
	keys crypt.Subkeys
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

// save rewrites .info with a fresh Seq and the MAC state resealed under it.
// state is the MAC state over exactly Enc.Committed bytes.
func (u *upload) save(ctx context.Context, state []byte) error {
	e := &u.info.Enc
	var err error
	e.Seq++
	e.MacState, err = crypt.SealState(u.keys.State, state, u.info.ID, e.Committed, e.Seq)
	if err != nil {
		return err
	}
	u.info.Offset = e.Committed + e.TailLen
	raw, err := u.info.encode()
	if err != nil {
		return err
	}
	if err := u.s.putRaw(ctx, u.key, raw); err != nil {
		return err
	}
	u.raw = raw
	return nil
}

// macState unseals the running MAC state, which covers Enc.Committed bytes.
func (u *upload) macState() ([]byte, error) {
	e := &u.info.Enc
	state, err := crypt.OpenState(u.keys.State, e.MacState, u.info.ID, e.Committed, e.Seq)
	if err != nil {
		return nil, fmt.Errorf("open mac state: %w", err)
	}
	return state, nil
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
	if length > u.info.Enc.PartSize*MaxParts {
		return errUploadTooLarge
	}
	state, err := u.macState()
	if err != nil {
		return u.s.internal(ctx, "declare-length", u.info.ID, err)
	}
	u.info.Size = length
	u.info.SizeIsDeferred = false
	if err := u.save(ctx, state); err != nil {
		return u.s.internal(ctx, "declare-length", u.info.ID, err)
	}
	return nil
}

// Terminate implements handler.TerminatableUpload: the .info goes first so
// the upload disappears at once, then the data, the tail and the parts.
func (u *upload) Terminate(ctx context.Context) error {
	if err := u.terminate(ctx); err != nil {
		return u.s.internal(ctx, "terminate", u.info.ID, err)
	}
	return nil
}

func (u *upload) terminate(ctx context.Context) error {
	b := u.s.cfg.Backend
	err := errors.Join(
		b.Delete(ctx, u.key+infoSuffix),
		b.Delete(ctx, u.key+tailSuffix),
		b.Delete(ctx, u.key),
	)
	if u.info.MultipartID != "" {
		err = errors.Join(err, b.AbortMultipart(ctx, u.key, u.info.MultipartID))
	}
	return err
}

// FinishUpload implements handler.Upload: once every byte is committed it
// assembles the data object and records the tag.
func (u *upload) FinishUpload(ctx context.Context) error {
	if err := u.complete(ctx); err != nil {
		return u.s.internal(ctx, "finish", u.info.ID, err)
	}
	return nil
}

// complete assembles the data object of a fully committed upload and
// stores its tag. It is idempotent, and also used lazily by downloads to
// finish an upload whose completion was interrupted.
func (u *upload) complete(ctx context.Context) error {
	info, e := u.info, &u.info.Enc
	if e.Tag != nil {
		return nil
	}
	if info.SizeIsDeferred || e.Committed != info.Size {
		return errNotFinished
	}
	b := u.s.cfg.Backend
	if info.Size == 0 {
		if err := b.Put(ctx, u.key, bytes.NewReader(nil), 0); err != nil {
			return err
		}
	} else if err := u.completeMultipart(ctx); err != nil {
		return err
	}
	if info.MultipartID != "" && info.Size == 0 {
		if err := b.AbortMultipart(ctx, u.key, info.MultipartID); err != nil {
			return err
		}
	}
	state, err := u.macState()
	if err != nil {
		return err
	}
	mac, err := crypt.ResumeMAC(u.keys.MAC, state)
	if err != nil {
		return err
	}
	e.Segments = crypt.SegmentsBefore(e.Segments, info.Size)
	e.Tag = mac.Tag(crypt.Trailer(info.ID, e.PartSize, e.Segments, info.Size))
	info.MultipartID = ""
	if err := u.save(ctx, state); err != nil {
		return err
	}
	if err := b.Delete(ctx, u.key+tailSuffix); err != nil {
		u.s.cfg.Logger.WarnContext(ctx, "could not delete tail object", "id", info.ID, "error", err)
	}
	return nil
}

// completeMultipart checks the confirmed parts against the committed size
// and assembles them. A multipart upload that is already gone is accepted
// when the data object has the right size (a completion cut short).
func (u *upload) completeMultipart(ctx context.Context) error {
	info := u.info
	b := u.s.cfg.Backend
	parts, err := b.ListParts(ctx, u.key, info.MultipartID)
	if errors.Is(err, ErrObjectNotFound) {
		if oi, herr := b.Head(ctx, u.key); herr == nil && oi.Size == info.Size {
			return nil
		}
		return err
	}
	if err != nil {
		return err
	}
	want := partCount(info.Size, info.Enc.PartSize)
	if int64(len(parts)) < want {
		return fmt.Errorf("have %d parts, want %d", len(parts), want)
	}
	parts = parts[:want]
	for i, p := range parts {
		if p.Number != int32(i+1) || p.Size != partLen(int64(i+1), info.Size, info.Enc.PartSize) {
			return fmt.Errorf("part %d has number %d and size %d", i+1, p.Number, p.Size)
		}
	}
	return b.CompleteMultipart(ctx, u.key, info.MultipartID, parts)
}

// partCount is the number of parts of an upload of size bytes.
func partCount(size, partSize int64) int64 { return (size + partSize - 1) / partSize }

// partLen is the length of part number num (1-based) of an upload.
func partLen(num, size, partSize int64) int64 {
	return min(partSize, size-(num-1)*partSize)
}
