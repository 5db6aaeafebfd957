package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// MultipartLister is implemented by backends that can list their
// multipart uploads in progress, so a sweep can abort orphaned ones.
type MultipartLister interface {
	ListMultipartUploads(ctx context.Context, prefix string, fn func(key, id string, initiated time.Time) error) error
}

// CleanupReport says what a sweep removed.
type CleanupReport struct {
	// Uploads lists the ids of unfinished uploads that were terminated.
	Uploads []string
	// Multiparts counts multipart uploads aborted because no .info
	// refers to them any more.
	Multiparts int
	// Tails counts tail objects deleted because their .info is gone.
	Tails int
}

// Cleanup terminates unfinished uploads whose .info was last written
// before cutoff and that no request of this process is writing, aborts
// multipart uploads older than cutoff that no .info names, and deletes
// orphaned tail objects. Finished uploads are never touched, and a data
// object is never deleted without its .info: the object metadata keeps
// its wrapped DEK, but the segment IVs and the tag live only in .info, so
// what remains is left for an operator to judge.
func (s *Store) Cleanup(ctx context.Context, cutoff time.Time) (CleanupReport, error) {
	var rep CleanupReport
	infos := map[string]time.Time{}
	var tails []string
	err := s.cfg.Backend.List(ctx, "", func(oi ObjectInfo) error {
		if k, ok := strings.CutSuffix(oi.Key, infoSuffix); ok && validID(k) {
			infos[k] = oi.ModTime
		} else if k, ok := strings.CutSuffix(oi.Key, tailSuffix); ok && validID(k) && oi.ModTime.Before(cutoff) {
			tails = append(tails, k)
		}
		return nil
	})
	if err != nil {
		return rep, fmt.Errorf("list uploads: %w", err)
	}
	multiparts := map[string]bool{}
	var errs []error
	for key, mt := range infos {
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
		u, err := s.load(ctx, key)
		if errors.Is(err, ErrObjectNotFound) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("upload %s: %w", key, err))
			continue
		}
		multiparts[u.info.MultipartID] = true
		if u.info.Enc.Tag != nil || !mt.Before(cutoff) || s.isActive(key) {
			continue
		}
		if err := u.terminate(ctx); err != nil {
			errs = append(errs, fmt.Errorf("upload %s: %w", key, err))
			continue
		}
		s.cfg.Logger.InfoContext(ctx, "expired upload removed", "id", key, "offset", u.info.Offset, "size", u.info.Size, "last_write", mt)
		rep.Uploads = append(rep.Uploads, key)
	}
	for _, key := range tails {
		if _, ok := infos[key]; ok {
			continue
		}
		if err := s.cfg.Backend.Delete(ctx, key+tailSuffix); err != nil {
			errs = append(errs, err)
			continue
		}
		s.cfg.Logger.InfoContext(ctx, "orphaned tail removed", "key", key+tailSuffix)
		rep.Tails++
	}
	if ml, ok := s.cfg.Backend.(MultipartLister); ok {
		err := ml.ListMultipartUploads(ctx, "", func(key, id string, initiated time.Time) error {
			if multiparts[id] || !initiated.Before(cutoff) || s.isActive(key) {
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
