package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tus/tusd/v2/pkg/handler"

	"github.com/tusvault/tusvault/internal/failpoint"
	"github.com/tusvault/tusvault/store/crypt"
)

// Completion: once every byte of an upload is committed in parts, the
// parts are assembled into the data object and the tag goes into .info.
// tusd asks for it once, through FinishUpload, and reports the upload as
// finished (HEAD offset == length) whatever the outcome; it never asks
// again. So the store also completes such an upload itself whenever it
// meets one (settle): when a later request loads it, in Settle, and in a
// Cleanup sweep, and reports it through Config.OnComplete.

// Retries of a completion's backend calls. A completion is idempotent, so
// retrying a transient error (a timeout, a 5xx of the object store) is
// safe; backoff doubles after each attempt.
const (
	completeAttempts = 4
	completeBackoff  = 250 * time.Millisecond
	// completeTimeout bounds one completion. It runs on its own, after the
	// request's cancellation: a proxy that dropped a long completion
	// must not cut it short.
	completeTimeout = 5 * time.Minute
)

// FinishUpload implements handler.Upload: once every byte is committed it
// assembles the data object and records the tag. tusd emits the
// post-finish event itself afterwards.
func (u *upload) FinishUpload(ctx context.Context) error {
	if _, err := u.complete(ctx); err != nil {
		return u.s.internal(ctx, "finish", u.info.ID, err)
	}
	return nil
}

// completable reports whether every byte is committed (or stored, and
// the length known: see sendLastPart) but the upload is not complete yet.
func (u *upload) completable() bool {
	i := u.info
	return i.Enc.Tag == nil && !i.SizeIsDeferred && (i.Enc.Committed == i.Size || i.Offset == i.Size)
}

// sendLastPart commits the tail of an upload whose length a request
// without data declared after data that ended in the tail, but which
// ended (a crash, a backend error) before it sent the tail as the final
// part: tusd counts such an upload as finished (offset = length) and
// never passes a request for it to the store again, so the store sends
// the final part itself, as that request would have (for v2, re-sealing
// the last chunk as final first).
func (u *upload) sendLastPart(ctx context.Context) error {
	if u.info.Enc.Committed == u.info.Size {
		return nil
	}
	_, err := u.writeChunk(ctx, u.info.Offset, bytes.NewReader(nil))
	return err
}

// settle completes a completable upload that tusd will not finish, logs
// it and reports it through Config.OnComplete. The caller holds the lock.
func (u *upload) settle(ctx context.Context) error {
	done, err := u.complete(ctx)
	if err != nil || !done {
		return err
	}
	u.s.cfg.Logger.InfoContext(ctx, "upload completed by the store", "id", u.info.ID, "route", u.info.Storage["Route"], "size", u.info.Size)
	if f := u.s.cfg.OnComplete; f != nil {
		info, _ := u.GetInfo(ctx)
		f(context.WithoutCancel(ctx), info)
	}
	return nil
}

// Settle makes sure the upload id is complete, for readers who must not
// cut its writer short: nil for a complete upload, after completing one
// whose bytes are all committed (see GetUpload) if nobody holds its lock;
// a 423 handler.Error while a request holds it, interrupting nothing; and
// errNotFinished (400) while bytes are missing.
func (s *Store) Settle(ctx context.Context, id string) error {
	if !validID(id) {
		return handler.ErrNotFound
	}
	if err := s.settle(ctx, id); err != nil {
		return s.internal(ctx, "settle", id, err)
	}
	return nil
}

func (s *Store) settle(ctx context.Context, id string) error {
	u, err := s.load(ctx, id)
	if errors.Is(err, ErrObjectNotFound) {
		return handler.ErrNotFound
	}
	if err != nil || u.info.Enc.Tag != nil {
		return err
	}
	release, ok, err := s.cfg.Locker.TryLock(id)
	if err != nil {
		return err
	}
	if !ok {
		return errBusy
	}
	defer release()
	if u, err = s.load(ctx, id); errors.Is(err, ErrObjectNotFound) {
		return handler.ErrNotFound
	} else if err != nil {
		return err
	}
	if u.info.Enc.Tag == nil && !u.completable() {
		return errNotFinished
	}
	return u.settle(ctx)
}

// complete assembles the data object of a fully committed upload and
// stores its tag, retrying transient failures. It is idempotent: done is
// false when the upload was complete already.
func (u *upload) complete(ctx context.Context) (done bool, err error) {
	if u.info.Enc.Tag != nil {
		return false, nil
	}
	if !u.completable() {
		return false, errNotFinished
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), completeTimeout)
	defer cancel()
	if err := u.sendLastPart(ctx); err != nil {
		return false, err
	}
	pages := u.info.Enc.Pages
	wait := completeBackoff
	for attempt := 1; ; attempt++ {
		err = u.completeOnce(ctx)
		if err == nil || attempt == completeAttempts || ctx.Err() != nil {
			break
		}
		u.s.cfg.Logger.WarnContext(ctx, "completing the upload failed; retrying", "id", u.info.ID, "attempt", attempt, "error", err)
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		wait *= 2
	}
	if err != nil {
		return false, err
	}
	u.s.stats.Finished[routeIndex(u.info.Storage["Route"])].Add(1)
	u.s.cfg.Logger.InfoContext(ctx, "upload assembled", "id", u.info.ID, "route", u.info.Storage["Route"],
		"size", u.info.Size, "duration", time.Since(start).Round(time.Millisecond))
	if err := u.deleteTail(ctx); err != nil {
		u.s.cfg.Logger.WarnContext(ctx, "could not delete the tail objects; the sweep will", "id", u.info.ID, "error", err)
	}
	if err := u.s.deletePages(ctx, u.key, pages); err != nil {
		u.s.cfg.Logger.WarnContext(ctx, "could not delete segment pages", "id", u.info.ID, "error", err)
	}
	return true, nil
}

// completeOnce is one attempt of complete.
func (u *upload) completeOnce(ctx context.Context) error {
	info := u.info
	b := u.s.cfg.Backend
	// The finished .info has the v1 layout, every segment inline; the
	// pages are read (and checked) before anything is assembled.
	segs, err := u.allSegments(ctx)
	if err != nil {
		return err
	}
	if info.Size == 0 {
		if err := b.Put(ctx, u.key, bytes.NewReader(nil), 0); err != nil {
			return err
		}
		if info.MultipartID != "" {
			if err := b.AbortMultipart(ctx, u.key, info.MultipartID); err != nil {
				return err
			}
		}
	} else if err := u.completeMultipart(ctx); err != nil {
		return err
	}
	failpoint.Hit("multipart-completed")
	state, err := u.runningState()
	if err != nil {
		return err
	}
	segs = crypt.SegmentsBefore(segs, info.Size)
	var tag, digest []byte
	if info.Enc.v2() {
		tag, digest, err = u.objectTagV2(ctx, segs, state)
	} else {
		tag, err = u.macTag(segs, state)
	}
	if err != nil {
		return err
	}
	return u.update(ctx, state, func(next *infoFile) {
		next.Enc.Segments, next.Enc.Tag, next.MultipartID = segs, tag, ""
		next.Enc.TagsSHA256, next.Enc.TailTags = digest, nil
		next.Enc.Layout, next.Enc.Tail = layoutV1, nil
		next.Enc.Pages, next.Enc.Paged, next.Enc.PagesHash = 0, 0, nil
	})
}

// macTag returns the tag of a v1 upload being completed, from its
// running MAC state and all its segments.
func (u *upload) macTag(segs []crypt.Segment, state []byte) ([]byte, error) {
	mac, err := crypt.ResumeMAC(u.keys.MAC, state)
	if err != nil {
		return nil, err
	}
	info := u.info
	return mac.Tag(crypt.Trailer(info.ID, info.Enc.PartSize, segs, info.Size)), nil
}

// completeMultipart checks the confirmed parts against the committed size
// and assembles them. A multipart upload that is already gone is accepted
// when the data object has the right size (a completion cut short after
// the backend assembled it).
func (u *upload) completeMultipart(ctx context.Context) error {
	info := u.info
	b := u.s.cfg.Backend
	if info.MultipartID == "" {
		return u.assembled(ctx, errors.New("no multipart upload"))
	}
	parts, err := b.ListParts(ctx, u.key, info.MultipartID)
	if errors.Is(err, ErrObjectNotFound) {
		return u.assembled(ctx, err)
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
	failpoint.Hit("complete-multipart")
	err = b.CompleteMultipart(ctx, u.key, info.MultipartID, parts)
	if errors.Is(err, ErrObjectNotFound) {
		// Assembled by an earlier attempt whose answer was lost.
		return u.assembled(ctx, err)
	}
	return err
}

// assembled accepts a data object of the upload's size in place of a
// multipart upload that is gone, and returns cause otherwise.
func (u *upload) assembled(ctx context.Context, cause error) error {
	if oi, err := u.s.cfg.Backend.Head(ctx, u.key); err == nil && oi.Size == u.info.Size {
		return nil
	}
	return cause
}

// partCount is the number of parts of an upload of size bytes.
func partCount(size, partSize int64) int64 { return (size + partSize - 1) / partSize }

// partLen is the length of part number num (1-based) of an upload.
func partLen(num, size, partSize int64) int64 {
	return min(partSize, size-(num-1)*partSize)
}
