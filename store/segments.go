package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/tusvault/tusvault/internal/failpoint"
	"github.com/tusvault/tusvault/store/crypt"
)

// Segment pages keep the cost of a request independent of the upload's
// history. Every PATCH adds a segment, and .info is read and rewritten on
// every request and every part commit; so, while an upload is unfinished,
// the oldest segments move out of .info into immutable page objects
// <key>.segs.<n> (upload ids have no dots, so no upload's objects are
// named like another's), a page at a time. Only segments that lie wholly
// inside the committed bytes are paged: nothing can replace them any more
// (a new segment always starts at Offset ≥ Committed, and the MAC state
// covers the committed bytes, so no rollback goes below them), which makes
// every page final. .info keeps the number of pages and of paged segments
// and the hash of the last page; pages are sealed and chained
// (crypt.SealPage), so the storage provider cannot alter, swap, drop or
// replay one without it showing.
//
// Pages are written before the .info that stops listing their segments:
// a crash in between leaves a page that no .info counts, which the next
// paging overwrites under the same name (or removal deletes). Completion
// reads the pages once and writes the finished .info in the v1 format,
// every segment inline, then deletes them; removal deletes them before
// .info.

// defaultPageLen is how many segments a page holds (Config.pageLen; the
// chaos tests set it lower through TUSVAULT_SEGMENT_PAGE in failpoint
// builds). 64 segments seal into a page of 1.5 KiB and keep .info under
// about 4.5 KiB of segments from committed parts; an upload of 10,000
// PATCHes has 156 pages, which completion reads pageReaders at a time.
var defaultPageLen = 64

// pageReaders is how many pages completion reads at once.
const pageReaders = 8

// pageInfix separates an upload's key from its page number.
const pageInfix = ".segs."

// maxPageSize bounds a page object: maxSegments segments, sealed.
const maxPageSize = maxSegments*(8+crypt.IVSize) + crypt.NonceSize + 16

// pageKey is the object name of page n of the upload key.
func pageKey(key string, n int) string { return key + pageInfix + strconv.Itoa(n) }

// cutPageKey returns the upload key of a page's object name.
func cutPageKey(name string) (key string, ok bool) {
	key, n, ok := strings.Cut(name, pageInfix)
	if !ok || !validID(key) {
		return "", false
	}
	if _, err := strconv.ParseUint(n, 10, 31); err != nil {
		return "", false
	}
	return key, true
}

// segmentCount is the number of segments of the upload, paged or not.
func (e *encInfo) segmentCount() int { return e.Paged + len(e.Segments) }

// checkSegments checks the layout fields and the segments in .info (not
// the pages, which only completion reads).
func (e *encInfo) checkSegments() error {
	paged := e.Pages != 0 || e.Paged != 0 || e.PagesHash != nil
	switch {
	case e.Layout != 0 && e.Layout != layout2:
		return fmt.Errorf("unsupported unfinished layout %d", e.Layout)
	case e.Layout != 0 && e.Tag != nil:
		return errors.New("finished info has an unfinished layout")
	case paged && e.Layout != layout2:
		return errors.New("info has segment pages in the v1 layout")
	case !paged:
		return crypt.ValidateSegments(e.Segments)
	case e.Pages < 1 || e.Paged < e.Pages || e.Paged > maxSegments || len(e.PagesHash) != crypt.PageHashSize:
		return errors.New("info has invalid segment page counts")
	case len(e.Segments) == 0 || e.Segments[0].Off <= 0:
		// The segment spanning the committed end is never paged.
		return errors.New("info has segment pages but no segment after them")
	}
	// The segments in .info continue the pages: like
	// crypt.ValidateSegments, without the first at 0.
	for i, s := range e.Segments {
		if len(s.IV) != crypt.IVSize {
			return fmt.Errorf("segment %d: iv is %d bytes, want %d", i, len(s.IV), crypt.IVSize)
		}
		if i > 0 && s.Off <= e.Segments[i-1].Off {
			return fmt.Errorf("segment %d: offset %d not above previous %d", i, s.Off, e.Segments[i-1].Off)
		}
	}
	return nil
}

// pageOut prepares next, the .info about to be stored, for the paged
// layout: an unfinished upload without a tail is marked layout2 (a
// v1 upload changes layout only while nothing is in its tail object), and
// then every whole run of pageLen segments that lie inside the committed
// bytes is sealed into a page and stored, before next stops listing them.
func (u *upload) pageOut(ctx context.Context, next *infoFile) error {
	e, pageLen := &next.Enc, u.s.cfg.pageLen
	if e.Tag != nil || pageLen <= 0 {
		return nil
	}
	if e.Layout == 0 && e.TailLen == 0 {
		e.Layout = layout2
	}
	if e.Layout != layout2 {
		return nil
	}
	// Segment i lies inside the committed bytes when segment i+1 starts
	// at or below Committed.
	final := 0
	for final+1 < len(e.Segments) && e.Segments[final+1].Off <= e.Committed {
		final++
	}
	if final < pageLen {
		return nil
	}
	done := 0
	for ; final-done >= pageLen; done += pageLen {
		page, hash, err := crypt.SealPage(u.stateKey(), next.ID, uint32(e.Pages), e.PagesHash, e.Segments[done:done+pageLen])
		if err != nil {
			return err
		}
		if err := u.s.cfg.Backend.Put(ctx, pageKey(u.key, e.Pages), bytes.NewReader(page), int64(len(page))); err != nil {
			return fmt.Errorf("store segment page: %w", err)
		}
		e.Pages, e.Paged, e.PagesHash = e.Pages+1, e.Paged+pageLen, hash
	}
	failpoint.Hit("segments-paged")
	e.Segments = slices.Clone(e.Segments[done:])
	return nil
}

// allSegments returns every segment of the upload, the pages' then those
// in .info, after checking the pages against .info (count, chain of
// hashes) and the whole list (crypt.ValidateSegments).
func (u *upload) allSegments(ctx context.Context) ([]crypt.Segment, error) {
	e := &u.info.Enc
	if e.Pages == 0 {
		return e.Segments, nil
	}
	pages := make([][]byte, e.Pages)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(pageReaders)
	for n := range pages {
		g.Go(func() error {
			page, err := u.s.readObject(gctx, pageKey(u.key, n), maxPageSize)
			if err != nil {
				return fmt.Errorf("segment page %d: %w", n, err)
			}
			pages[n] = page
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	segs := make([]crypt.Segment, 0, e.segmentCount())
	var prev []byte
	for n, page := range pages {
		got, err := crypt.OpenPage(u.stateKey(), u.info.ID, uint32(n), prev, page)
		if err != nil {
			return nil, fmt.Errorf("segment page %d: %w", n, err)
		}
		segs, prev = append(segs, got...), crypt.PageHash(page)
	}
	if !bytes.Equal(prev, e.PagesHash) || len(segs) != e.Paged {
		return nil, fmt.Errorf("segment pages do not match .info: %w", crypt.ErrAuth)
	}
	segs = append(segs, e.Segments...)
	if err := crypt.ValidateSegments(segs); err != nil {
		return nil, fmt.Errorf("paged segments: %w", err)
	}
	return segs, nil
}

// readObject reads a whole object of at most limit bytes.
func (s *Store) readObject(ctx context.Context, key string, limit int64) ([]byte, error) {
	rc, err := s.cfg.Backend.Get(ctx, key, 0, -1)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	raw, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(raw)) > limit {
		return nil, fmt.Errorf("object %d bytes or more, want at most %d", len(raw), limit)
	}
	return raw, nil
}

// deletePages deletes pages 0 … n-1 of the upload key.
func (s *Store) deletePages(ctx context.Context, key string, n int) error {
	var errs []error
	for i := range n {
		errs = append(errs, s.cfg.Backend.Delete(ctx, pageKey(key, i)))
	}
	return errors.Join(errs...)
}

// deleteAllPages deletes every page object of the upload key, those that
// no .info counts (a crash between a page and its .info) included.
func (s *Store) deleteAllPages(ctx context.Context, key string) error {
	var names []string
	err := s.cfg.Backend.List(ctx, key+pageInfix, func(oi ObjectInfo) error {
		if k, ok := cutPageKey(oi.Key); ok && k == key {
			names = append(names, oi.Key)
		}
		return nil
	})
	if err != nil {
		return err
	}
	var errs []error
	for _, name := range names {
		errs = append(errs, s.cfg.Backend.Delete(ctx, name))
	}
	return errors.Join(errs...)
}
