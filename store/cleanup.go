package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tusvault/tusvault/internal/failpoint"
)

// MultipartLister is implemented by backends that can list their
// multipart uploads in progress, so a sweep can abort orphaned ones.
type MultipartLister interface {
	ListMultipartUploads(ctx context.Context, prefix string, fn func(key, id string, initiated time.Time) error) error
}

// CleanupReport says what a sweep did.
type CleanupReport struct {
	// Uploads lists the ids of unfinished uploads that were removed.
	Uploads []string
	// Completed lists the ids of uploads whose bytes were all committed
	// but that had never been completed: the sweep completed them.
	Completed []string
	// Skipped lists the ids of uploads whose .info could not be read
	// (a transient error, a key missing from the keyring): nothing of
	// theirs was touched.
	Skipped []string
	// Multiparts counts multipart uploads aborted because no .info
	// refers to them any more.
	Multiparts int
	// Tails counts tail objects (<key>.part and the fragments of
	// layout 2) deleted because no .info refers to them: their .info is
	// gone, or does not list them (a request cut short, a part that
	// absorbed them, a complete upload).
	Tails int
	// Pages counts segment pages deleted because their .info is gone or
	// finished (a completion or removal cut short).
	Pages int
	// TagObjects counts the tag objects of format v2 deleted because
	// their .info is gone, or because they lie past the last part of a
	// finished upload.
	TagObjects int
}

// Cleanup sweeps the store. It completes every upload whose bytes are all
// committed but that was never completed, removes unfinished uploads whose
// .info was last written before cutoff, aborts multipart uploads older
// than cutoff that no .info names, and deletes orphaned tail objects and
// tag objects (format v2).
//
// It never destroys live data. An upload is completed or removed only
// under its lock, taken with TryLock (an upload a request holds is left
// for the next sweep, and its request is never interrupted), and only
// after its .info is read again under the lock. An upload whose .info
// cannot be read is skipped and logged, and its multipart upload and tail
// are kept. Removal deletes .info last, so one cut short is retried by the
// next sweep. Finished uploads are never touched (but for tag objects past
// their last part, which no read uses), and a data object is
// never deleted without its .info: the object metadata keeps its wrapped
// DEK, but the segment IVs and the tag live only in .info.
func (s *Store) Cleanup(ctx context.Context, cutoff time.Time) (CleanupReport, error) {
	var rep CleanupReport
	infos := map[string]time.Time{}
	// tails are the tail objects by upload key.
	tails := map[string][]ObjectInfo{}
	pages := map[string][]string{}
	tagObjs := map[string][]ObjectInfo{}
	err := s.cfg.Backend.List(ctx, "", func(oi ObjectInfo) error {
		if k, ok := strings.CutSuffix(oi.Key, infoSuffix); ok && validID(k) {
			infos[k] = oi.ModTime
		} else if k, ok := strings.CutSuffix(oi.Key, tailSuffix); ok && validID(k) {
			tails[k] = append(tails[k], oi)
		} else if k, _, ok := splitFragmentKey(oi.Key); ok {
			tails[k] = append(tails[k], oi)
		} else if k, ok := cutPageKey(oi.Key); ok && oi.ModTime.Before(cutoff) {
			pages[k] = append(pages[k], oi.Key)
		} else if k, _, ok := cutTagKey(oi.Key); ok {
			tagObjs[k] = append(tagObjs[k], oi)
		}
		return nil
	})
	if err != nil {
		return rep, fmt.Errorf("list uploads: %w", err)
	}
	// multiparts are the multipart ids the .info objects name; unread
	// are the keys whose .info could not be read; finished those whose
	// .info has a tag.
	multiparts, unread, finished := map[string]bool{}, map[string]bool{}, map[string]bool{}
	var errs []error
	keys := make([]string, 0, len(infos))
	for k := range infos {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, key := range keys {
		s.progress(i, len(keys))
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
		u, err := s.load(ctx, key)
		if errors.Is(err, ErrObjectNotFound) {
			continue
		}
		if err != nil {
			unread[key] = true
			rep.Skipped = append(rep.Skipped, key)
			s.stats.SweepSkipped.Add(1)
			s.cfg.Logger.WarnContext(ctx, "sweep: skipped an upload whose .info could not be read; its data is kept", "id", key, "error", err)
			continue
		}
		multiparts[u.info.MultipartID] = true
		if u.info.Enc.Tag != nil {
			finished[key] = true
			n, err := s.deleteCounted(ctx, key, u.strayTagObjects(objectKeys(tagObjs[key])))
			rep.TagObjects += n
			errs = append(errs, err)
		} else if u.completable() || infos[key].Before(cutoff) {
			switch outcome, err := s.sweepUpload(ctx, key, cutoff); {
			case err != nil:
				errs = append(errs, fmt.Errorf("upload %s: %w", key, err))
				continue
			case outcome == swept:
				rep.Uploads = append(rep.Uploads, key)
				s.stats.SweepRemoved.Add(1)
				continue
			case outcome == completed:
				finished[key] = true
				rep.Completed = append(rep.Completed, key)
				s.stats.SweepCompleted.Add(1)
				continue
			}
		}
		if len(u.unreferenced(objectKeys(tails[key]))) > 0 {
			n, err := s.sweepTail(ctx, key, objectKeys(tails[key]))
			rep.Tails += n
			if err != nil {
				errs = append(errs, fmt.Errorf("upload %s: %w", key, err))
			}
		}
	}
	s.progress(len(keys), len(keys))
	for key, objs := range tails {
		if _, ok := infos[key]; ok {
			continue
		}
		for _, oi := range objs {
			if !oi.ModTime.Before(cutoff) {
				continue
			}
			if err := s.cfg.Backend.Delete(ctx, oi.Key); err != nil {
				errs = append(errs, err)
				continue
			}
			s.cfg.Logger.InfoContext(ctx, "orphaned tail removed", "key", oi.Key)
			rep.Tails++
		}
	}
	for key, objs := range tagObjs {
		if _, ok := infos[key]; ok {
			continue
		}
		var old []string
		for _, oi := range objs {
			if oi.ModTime.Before(cutoff) {
				old = append(old, oi.Key)
			}
		}
		n, err := s.deleteCounted(ctx, key, old)
		rep.TagObjects += n
		errs = append(errs, err)
	}
	for key, names := range pages {
		// A page of an unfinished upload (or of one whose .info could
		// not be read) may be one a request is writing, or will count:
		// kept.
		if _, ok := infos[key]; ok && !finished[key] {
			continue
		}
		for _, name := range names {
			if err := s.cfg.Backend.Delete(ctx, name); err != nil {
				errs = append(errs, err)
				continue
			}
			rep.Pages++
		}
		s.cfg.Logger.InfoContext(ctx, "orphaned segment pages removed", "id", key, "pages", len(names))
	}
	if ml, ok := s.cfg.Backend.(MultipartLister); ok {
		err := ml.ListMultipartUploads(ctx, "", func(key, id string, initiated time.Time) error {
			if multiparts[id] || unread[key] || !initiated.Before(cutoff) {
				return nil
			}
			if err := s.cfg.Backend.AbortMultipart(ctx, key, id); err != nil {
				errs = append(errs, err)
				return nil
			}
			s.cfg.Logger.InfoContext(ctx, "orphaned multipart upload aborted", "key", key, "initiated", initiated)
			rep.Multiparts++
			return nil
		})
		errs = append(errs, err)
	}
	return rep, errors.Join(errs...)
}

// What sweepUpload did.
type sweepOutcome int

const (
	untouched sweepOutcome = iota
	swept
	completed
)

// sweepUpload completes or removes one upload under its lock, after
// reading its .info again: a request may have written it since it was
// listed. A held lock leaves the upload alone.
func (s *Store) sweepUpload(ctx context.Context, key string, cutoff time.Time) (sweepOutcome, error) {
	release, ok, err := s.cfg.Locker.TryLock(key)
	if err != nil {
		return untouched, err
	}
	if !ok {
		s.cfg.Logger.DebugContext(ctx, "sweep: upload in use, left for the next sweep", "id", key)
		return untouched, nil
	}
	defer release()
	failpoint.Hit("sweep-upload")
	oi, err := s.cfg.Backend.Head(ctx, key+infoSuffix)
	if errors.Is(err, ErrObjectNotFound) {
		return untouched, nil
	}
	if err != nil {
		return untouched, err
	}
	u, err := s.load(ctx, key)
	if err != nil {
		return untouched, err
	}
	switch {
	case u.info.Enc.Tag != nil:
		return untouched, nil
	case u.completable():
		if err := u.settle(ctx); err != nil {
			return untouched, err
		}
		return completed, nil
	case !oi.ModTime.Before(cutoff):
		return untouched, nil
	}
	if err := u.remove(ctx); err != nil {
		return untouched, err
	}
	s.cfg.Logger.InfoContext(ctx, "expired upload removed", "id", key, "offset", u.info.Offset, "size", u.info.Size, "last_write", oi.ModTime)
	return swept, nil
}

// sweepTail deletes, under the upload's lock and after reading its .info
// again, the tail objects among objs that it does not refer to, and
// returns how many. A held lock leaves them for the next sweep.
func (s *Store) sweepTail(ctx context.Context, key string, objs []string) (int, error) {
	release, ok, err := s.cfg.Locker.TryLock(key)
	if err != nil || !ok {
		return 0, err
	}
	defer release()
	u, err := s.load(ctx, key)
	if err != nil {
		return 0, err
	}
	stray := u.unreferenced(objs)
	if err := s.deleteObjects(ctx, stray); err != nil {
		return 0, err
	}
	s.cfg.Logger.InfoContext(ctx, "stray tail objects removed", "id", key, "objects", len(stray))
	return len(stray), nil
}

// deleteCounted deletes keys, stray tag objects of the upload id, one by
// one and returns how many are gone.
func (s *Store) deleteCounted(ctx context.Context, id string, keys []string) (int, error) {
	var errs []error
	n := 0
	for _, k := range keys {
		if err := s.cfg.Backend.Delete(ctx, k); err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	if n > 0 {
		s.cfg.Logger.InfoContext(ctx, "stray tag objects removed", "id", id, "objects", n)
	}
	return n, errors.Join(errs...)
}

// objectKeys returns the keys of objs.
func objectKeys(objs []ObjectInfo) []string {
	keys := make([]string, len(objs))
	for i, oi := range objs {
		keys[i] = oi.Key
	}
	return keys
}
