package disk

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/tusvault/tusvault/store"
)

var _ store.Backend = (*Backend)(nil)

// staleTemp is how old an entry of the temp directory must be before New
// removes it as left over by a crash (another process may share the dir).
const staleTemp = time.Hour

// Backend stores objects as files under a directory. It is safe for
// concurrent use, also by several Backends (or processes) on one directory.
type Backend struct {
	root    string // objects: <root>/<key>
	tmpDir  string // <root>/.tusvault/tmp: files not yet renamed into place
	metaDir string // <root>/.tusvault/meta: sidecars of multipart objects
	mpDir   string // <root>/.tusvault/multipart: uploads in progress

	// locks serialize the short commit step (sidecar + rename) of writers
	// to the same key within this process, so object and metadata match.
	locks [64]sync.Mutex
}

// New returns a Backend storing objects under dir, creating dir and the
// internal directories if missing. Stale temp files left behind by a crash
// are removed.
func New(dir string) (*Backend, error) {
	if dir == "" {
		return nil, errors.New("disk: empty directory name")
	}
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	sys := filepath.Join(root, internalDir)
	b := &Backend{
		root:    root,
		tmpDir:  filepath.Join(sys, "tmp"),
		metaDir: filepath.Join(sys, "meta"),
		mpDir:   filepath.Join(sys, "multipart"),
	}
	for _, d := range []string{root, sys, b.tmpDir, b.metaDir, b.mpDir} {
		if err := os.MkdirAll(d, dirPerm); err != nil {
			return nil, fmt.Errorf("disk: %w", err)
		}
	}
	if err := syncDir(filepath.Dir(root)); err != nil {
		return nil, err
	}
	if err := syncDir(sys); err != nil {
		return nil, err
	}
	b.removeStaleTemp()
	return b, nil
}

// removeStaleTemp deletes temp entries older than staleTemp, best effort.
func (b *Backend) removeStaleTemp() {
	entries, err := os.ReadDir(b.tmpDir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > staleTemp {
			os.RemoveAll(filepath.Join(b.tmpDir, e.Name()))
		}
	}
}

func (b *Backend) objPath(key string) string {
	return filepath.Join(b.root, filepath.FromSlash(key))
}

func (b *Backend) keyLock(key string) *sync.Mutex {
	h := fnv.New32a()
	io.WriteString(h, key)
	return &b.locks[h.Sum32()%uint32(len(b.locks))]
}

func notFound(key string) error {
	return fmt.Errorf("disk: %q: %w", key, store.ErrObjectNotFound)
}

// statObject returns the FileInfo of key's object, which must be a regular
// file; a directory or a missing path is ErrObjectNotFound.
func (b *Backend) statObject(key string) (fs.FileInfo, error) {
	fi, err := os.Stat(b.objPath(key))
	if err != nil {
		if isNotFound(err) {
			return nil, notFound(key)
		}
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, notFound(key)
	}
	return fi, nil
}

// Put stores exactly size bytes from body under key, replacing any existing
// object atomically: the data goes to a temp file that is fsynced and then
// renamed over the object.
func (b *Backend) Put(ctx context.Context, key string, body io.ReadSeeker, size int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := validateKey(key); err != nil {
		return err
	}
	t, err := b.createTemp("put-*")
	if err != nil {
		return err
	}
	defer t.discard()
	if err := copyBody(ctx, t, body, size); err != nil {
		return fmt.Errorf("disk: put %q: %w", key, err)
	}
	if err := t.finish(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	mu := b.keyLock(key)
	mu.Lock()
	defer mu.Unlock()
	if err := t.commit(b.root, key); err != nil {
		return fmt.Errorf("disk: put %q: %w", key, err)
	}
	// Objects stored with Put have no metadata; drop a sidecar left by an
	// earlier multipart object under the same key.
	return b.removeMeta(key)
}

// section is the reader Get returns: a window of an open file.
type section struct {
	*io.SectionReader
	f *os.File
}

func (s *section) Close() error { return s.f.Close() }

// Get returns a reader for length bytes of key's object starting at off
// (length < 0: to the end). Ranges past the end are truncated, so off at or
// beyond the size gives an empty reader. The reader keeps showing the
// version it opened even if the object is replaced meanwhile.
func (b *Backend) Get(ctx context.Context, key string, off, length int64) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := validateKey(key); err != nil {
		return nil, err
	}
	if off < 0 {
		return nil, fmt.Errorf("disk: get %q: negative offset %d", key, off)
	}
	f, err := os.Open(b.objPath(key))
	if err != nil {
		if isNotFound(err) {
			return nil, notFound(key)
		}
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = notFound(key)
		}
		return nil, err
	}
	size := fi.Size()
	off = min(off, size)
	if length < 0 || length > size-off {
		length = size - off
	}
	return &section{io.NewSectionReader(f, off, length), f}, nil
}

// Head returns the size and metadata of key's object.
func (b *Backend) Head(ctx context.Context, key string) (store.ObjectInfo, error) {
	if err := ctx.Err(); err != nil {
		return store.ObjectInfo{}, err
	}
	if err := validateKey(key); err != nil {
		return store.ObjectInfo{}, err
	}
	fi, err := b.statObject(key)
	if err != nil {
		return store.ObjectInfo{}, err
	}
	meta, err := b.readMeta(key, fi.Size())
	if err != nil {
		return store.ObjectInfo{}, err
	}
	return store.ObjectInfo{Key: key, Size: fi.Size(), ModTime: fi.ModTime(), Meta: meta}, nil
}

// Delete removes key's object and its metadata, then the parent directories
// left empty. A missing object is not an error.
func (b *Backend) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := validateKey(key); err != nil {
		return err
	}
	mu := b.keyLock(key)
	mu.Lock()
	defer mu.Unlock()
	if _, err := b.statObject(key); err != nil {
		if errors.Is(err, store.ErrObjectNotFound) {
			return nil
		}
		return err
	}
	p := b.objPath(key)
	if err := os.Remove(p); err != nil && !isNotFound(err) {
		return err
	}
	if err := syncDir(filepath.Dir(p)); err != nil && !isNotFound(err) {
		return err
	}
	removeEmptyParents(b.root, key)
	return b.removeMeta(key)
}
