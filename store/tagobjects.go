package store

import (
	"context"
	"strconv"
	"strings"
)

// Tag objects keep the chunk tags of a format v2 upload
// (docs/FORMAT.md, section 11.1): <key>.tags.<p> holds the 16-byte tags
// of the chunks of multipart part p, in order. A part's tag object is
// written before .info counts the part, stays after completion (ranged
// reads fetch the tags they need from it) and is deleted with the
// upload. partWriter.uploadPart stores them.

// tagInfix separates an upload's key from a part number. Ids have no
// dots, so no upload's objects are named like another's.
const tagInfix = ".tags."

// tagKey is the object name of the tag object of part p of upload key.
func tagKey(key string, p int64) string { return key + tagInfix + strconv.FormatInt(p, 10) }

// cutTagKey returns the upload key and part number of a tag object's
// name.
func cutTagKey(name string) (key string, p int64, ok bool) {
	key, num, ok := strings.Cut(name, tagInfix)
	if !ok || !validID(key) || num == "" || num[0] == '0' {
		return "", 0, false
	}
	p, err := strconv.ParseInt(num, 10, 32)
	if err != nil || p < 1 || p > MaxParts {
		return "", 0, false
	}
	return key, p, true
}

// deleteAllTagObjects deletes every tag object of the upload key.
func (s *Store) deleteAllTagObjects(ctx context.Context, key string) error {
	var names []string
	err := s.cfg.Backend.List(ctx, key+tagInfix, func(oi ObjectInfo) error {
		if k, _, ok := cutTagKey(oi.Key); ok && k == key {
			names = append(names, oi.Key)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return s.deleteObjects(ctx, names)
}

// strayTagObjects returns those among names, tag objects of the upload,
// that no read will ever need: for a finished upload, those numbered
// above its last part (a deferred-length upload that ended short of a
// part a failed request had sent). An unfinished upload's are all kept:
// a request may be writing one.
func (u *upload) strayTagObjects(names []string) []string {
	i := u.info
	if i.Enc.Tag == nil {
		return nil
	}
	parts := partCount(i.Size, i.Enc.PartSize)
	var out []string
	for _, name := range names {
		if key, p, ok := cutTagKey(name); ok && key == u.key && p > parts {
			out = append(out, name)
		}
	}
	return out
}
