package store

import (
	"container/heap"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tus/tusd/v2/pkg/handler"

	"github.com/tusvault/tusvault/store/crypt"
)

// StorageCreated is the Storage key recording when an upload was created
// (RFC 3339, UTC). Uploads created before it existed lack it.
const StorageCreated = "Created"

// ErrBadCursor is returned by ListUploads for a cursor it did not hand
// out.
var ErrBadCursor = errors.New("store: invalid listing cursor")

// Listed is one upload of a ListUploads page.
type Listed struct {
	// Info is the upload's stored state, as Peek returns it: metadata
	// unsealed, Storage["Tag"] set once it is complete.
	Info handler.FileInfo
	// Written is when its .info was last written (the backend listing's
	// time; zero if the backend does not know).
	Written time.Time
	// Created is Storage["Created"], or Written for uploads created before
	// the store recorded it.
	Created time.Time
}

// ListUploads returns one page of the uploads whose ids start with one of
// prefixes (which must not overlap, such as "home/alice/" and
// "guest/alice/"), the most recently written first: by the modification
// time of their .info as the backend lists it, then by id, descending. At
// most limit (≥ 1) uploads; next is the cursor of the following page, ""
// after the last. cursor "" starts at the newest; any other value must be
// a next cursor ListUploads returned (ErrBadCursor otherwise).
//
// Each page lists the prefixes once, keeping only the best limit+1
// entries in memory, then reads the .info of each upload of the page (no
// other backend read). The cursor names the position of the last upload
// of the page, so an upload written again while a client pages moves
// ahead of the cursor and is not listed twice; one removed meanwhile is
// left out, as is one whose .info cannot be read (logged).
func (s *Store) ListUploads(ctx context.Context, prefixes []string, limit int, cursor string) (page []Listed, next string, err error) {
	if limit < 1 {
		return nil, "", fmt.Errorf("store: listing limit %d, want at least 1", limit)
	}
	if overlapping(prefixes) {
		return nil, "", errors.New("store: listing prefixes overlap")
	}
	var after *listPos
	if cursor != "" {
		pos, ok := decodeCursor(cursor)
		if !ok {
			return nil, "", ErrBadCursor
		}
		after = &pos
	}
	best := &listHeap{}
	for _, prefix := range prefixes {
		err := s.cfg.Backend.List(ctx, prefix, func(oi ObjectInfo) error {
			id, ok := strings.CutSuffix(oi.Key, infoSuffix)
			if !ok || !validID(id) {
				return nil
			}
			pos := listPos{at: sortTime(oi.ModTime), id: id, written: oi.ModTime}
			if after != nil && !pos.before(*after) {
				return nil
			}
			if best.Len() <= limit {
				heap.Push(best, pos)
			} else if (*best)[0].before(pos) {
				// pos is newer than the oldest kept: replace it.
				(*best)[0] = pos
				heap.Fix(best, 0)
			}
			return nil
		})
		if err != nil {
			return nil, "", fmt.Errorf("list %s: %w", prefix, err)
		}
	}
	entries := []listPos(*best)
	slices.SortFunc(entries, func(a, b listPos) int {
		switch {
		case b.before(a):
			return -1
		case a.before(b):
			return 1
		}
		return 0
	})
	if len(entries) > limit {
		entries = entries[:limit]
		next = encodeCursor(entries[limit-1])
	}
	page = make([]Listed, 0, len(entries))
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return nil, "", err
		}
		fi, err := s.Peek(ctx, e.id)
		switch {
		case errors.Is(err, handler.ErrNotFound):
			continue // removed since the listing
		case err != nil:
			// Peek logged it.
			continue
		}
		l := Listed{Info: fi, Written: e.written, Created: e.written}
		if c, err := time.Parse(time.RFC3339, fi.Storage[StorageCreated]); err == nil {
			l.Created = c
		}
		page = append(page, l)
	}
	return page, next, nil
}

// overlapping reports whether one prefix starts with another (the same
// upload would be listed twice).
func overlapping(prefixes []string) bool {
	for i, a := range prefixes {
		for j, b := range prefixes {
			if i != j && strings.HasPrefix(a, b) {
				return true
			}
		}
	}
	return false
}

// listPos is an upload's position in a listing: newest .info first, then
// the greater id.
type listPos struct {
	at      int64 // sortTime of written
	id      string
	written time.Time
}

// before reports whether p comes after q in the listing order (p is
// older, or as old with a smaller id).
func (p listPos) before(q listPos) bool {
	if p.at != q.at {
		return p.at < q.at
	}
	return p.id < q.id
}

// sortTime is t in Unix nanoseconds; unknown (zero) times sort last.
func sortTime(t time.Time) int64 {
	if t.IsZero() {
		return math.MinInt64
	}
	return t.UnixNano()
}

// listHeap keeps the newest entries seen, the oldest of them on top.
type listHeap []listPos

func (h listHeap) Len() int           { return len(h) }
func (h listHeap) Less(i, j int) bool { return h[i].before(h[j]) }
func (h listHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *listHeap) Push(x any)        { *h = append(*h, x.(listPos)) }
func (h *listHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// A cursor is the unpadded base64url of "1 <sortTime> <id>" (format 1).
func encodeCursor(p listPos) string {
	return base64.RawURLEncoding.EncodeToString([]byte("1 " + strconv.FormatInt(p.at, 10) + " " + p.id))
}

func decodeCursor(c string) (listPos, bool) {
	if len(c) > 2*maxID {
		return listPos{}, false
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(c)
	if err != nil {
		return listPos{}, false
	}
	parts := strings.Split(string(raw), " ")
	if len(parts) != 3 || parts[0] != "1" || !validID(parts[2]) {
		return listPos{}, false
	}
	at, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || strconv.FormatInt(at, 10) != parts[1] {
		return listPos{}, false
	}
	return listPos{at: at, id: parts[2]}, true
}

// LinkKey is the key that signs download links (hooks.Config.LinkKey),
// derived from the keyring's primary KEK (crypt.DeriveLinkKey): the same
// on every process that loads the same keyring.
func (s *Store) LinkKey() ([]byte, error) {
	kek, err := s.cfg.Keyring.KEK(s.cfg.Keyring.Primary)
	if err != nil {
		return nil, err
	}
	return crypt.DeriveLinkKey(kek)
}
