package disk

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/tusvault/tusvault/store"
)

// List calls fn for every object whose key starts with prefix, in lexical
// (byte-wise) key order. It walks the directory tree, visiting only
// directories that can hold matching keys, and skips everything that is not
// an object: the internal .tusvault directory, names that are not valid
// keys, symlinks and other special files, and tusd's *.lock / *.stop files.
// ObjectInfo.Meta is left nil, as an S3 listing does not return user
// metadata either; use Head for it.
func (b *Backend) List(ctx context.Context, prefix string, fn func(store.ObjectInfo) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	// Start in the deepest directory that every matching key lies in.
	start := pathDir(prefix)
	if start != "" {
		for _, seg := range strings.Split(start, "/") {
			if !validName(seg, true) {
				return nil // no valid key has this prefix
			}
		}
	}
	return b.walk(ctx, start, prefix, fn)
}

type listEntry struct {
	name  string
	sort  string // name, plus "/" for directories: keys below sort that way
	isDir bool
}

// walk lists directory rel (slash-separated, "" for the root). Sorting the
// entries by name, with "/" appended to directory names, and descending
// depth-first yields keys in global lexical order: all keys below a
// directory d share the prefix "d/" and so form one contiguous run.
func (b *Backend) walk(ctx context.Context, rel, prefix string, fn func(store.ObjectInfo) error) error {
	dirents, err := os.ReadDir(filepath.Join(b.root, filepath.FromSlash(rel)))
	if err != nil {
		if isNotFound(err) {
			return nil // no such directory, or removed while listing
		}
		return err
	}
	entries := make([]listEntry, 0, len(dirents))
	for _, d := range dirents {
		isDir := d.IsDir()
		if !isDir && !d.Type().IsRegular() {
			continue // symlinks, sockets, ...
		}
		if !validName(d.Name(), isDir) {
			continue // includes .tusvault and filelocker files
		}
		e := listEntry{name: d.Name(), sort: d.Name(), isDir: isDir}
		if isDir {
			e.sort += "/"
		}
		entries = append(entries, e)
	}
	slices.SortFunc(entries, func(x, y listEntry) int { return strings.Compare(x.sort, y.sort) })

	base := ""
	if rel != "" {
		base = rel + "/"
	}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		key := base + e.sort
		if !strings.HasPrefix(key, prefix) && !(e.isDir && strings.HasPrefix(prefix, key)) {
			continue
		}
		if len(key) > maxKeyLen {
			continue
		}
		if e.isDir {
			if err := b.walk(ctx, base+e.name, prefix, fn); err != nil {
				return err
			}
			continue
		}
		fi, err := os.Lstat(filepath.Join(b.root, filepath.FromSlash(key)))
		if err != nil {
			if isNotFound(err) {
				continue // deleted while listing
			}
			return err
		}
		if !fi.Mode().IsRegular() {
			continue
		}
		if err := fn(store.ObjectInfo{Key: key, Size: fi.Size(), ModTime: fi.ModTime()}); err != nil {
			return err
		}
	}
	return nil
}

// ListMultipartUploads calls fn for every multipart upload in progress
// whose key starts with prefix, with the time it was started.
func (b *Backend) ListMultipartUploads(ctx context.Context, prefix string, fn func(key, id string, initiated time.Time) error) error {
	entries, err := os.ReadDir(b.mpDir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		id := e.Name()
		if !e.IsDir() || !validMultipartID(id) {
			continue
		}
		fi, err := os.Stat(filepath.Join(b.uploadDir(id), uploadFile))
		if err != nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join(b.uploadDir(id), uploadFile))
		var u upload
		if err != nil || json.Unmarshal(data, &u) != nil || !strings.HasPrefix(u.Key, prefix) {
			continue
		}
		if err := fn(u.Key, id, fi.ModTime()); err != nil {
			return err
		}
	}
	return nil
}

var _ store.MultipartLister = (*Backend)(nil)
