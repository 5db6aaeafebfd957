package disk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

const (
	dirPerm  = 0o700
	filePerm = 0o600
)

// syncDir fsyncs a directory so that entries created, renamed or removed
// in it survive a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("disk: sync dir %s: %w", dir, err)
	}
	return nil
}

// mkdirAll creates the directory root/rel and any missing parents below
// root (which must exist), fsyncing the parent of every directory it
// creates. rel uses slashes.
func mkdirAll(root, rel string) error {
	if rel == "" || rel == "." {
		return nil
	}
	cur := root
	for _, seg := range strings.Split(rel, "/") {
		next := filepath.Join(cur, seg)
		err := os.Mkdir(next, dirPerm)
		switch {
		case err == nil:
			if err := syncDir(cur); err != nil {
				return err
			}
		case errors.Is(err, fs.ErrExist):
			fi, serr := os.Stat(next)
			if serr != nil {
				return serr
			}
			if !fi.IsDir() {
				return fmt.Errorf("disk: %s exists and is not a directory", next)
			}
		default:
			return err
		}
		cur = next
	}
	return nil
}

// removeEmptyParents removes root/rel's parent directories while they are
// empty, stopping below root. Failures are ignored: a directory that is not
// empty (or was just reused by a concurrent write) simply stays.
func removeEmptyParents(root, rel string) {
	for dir := pathDir(rel); dir != ""; dir = pathDir(dir) {
		if os.Remove(filepath.Join(root, filepath.FromSlash(dir))) != nil {
			return
		}
	}
}

// pathDir is path.Dir for keys, returning "" instead of ".".
func pathDir(key string) string {
	i := strings.LastIndexByte(key, '/')
	if i < 0 {
		return ""
	}
	return key[:i]
}

// isNotFound reports whether err means that a path (or one of its parents)
// does not exist, including a parent being a regular file.
func isNotFound(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// tempFile is a file being written in the temp directory. It becomes visible
// only through commit; discard removes it and is a no-op after commit.
type tempFile struct {
	*os.File
	done bool
}

func (b *Backend) createTemp(pattern string) (*tempFile, error) {
	f, err := os.CreateTemp(b.tmpDir, pattern)
	if err != nil {
		return nil, err
	}
	return &tempFile{File: f}, nil
}

// finish fsyncs and closes the file without renaming it.
func (t *tempFile) finish() error {
	err := t.Sync()
	if cerr := t.Close(); err == nil {
		err = cerr
	}
	return err
}

// commit moves the (already finished) file to root/rel, creating parent
// directories, and fsyncs the directory that now holds it.
func (t *tempFile) commit(root, rel string) error {
	dir := pathDir(rel)
	dst := filepath.Join(root, filepath.FromSlash(rel))
	var err error
	// A concurrent Delete may remove a parent directory we just created;
	// retry a few times before giving up.
	for range 3 {
		if err = mkdirAll(root, dir); err != nil {
			return err
		}
		if err = os.Rename(t.Name(), dst); err == nil || !isNotFound(err) {
			break
		}
	}
	if err != nil {
		return err
	}
	t.done = true
	return syncDir(filepath.Dir(dst))
}

// discard removes the temp file unless it was committed.
func (t *tempFile) discard() {
	if t.done {
		return
	}
	t.Close()
	os.Remove(t.Name())
	t.done = true
}

// ctxReader fails reads once ctx is done, so long copies stop early.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// copyBody copies exactly size bytes from body to w. A body that ends early
// is an error: the object would be truncated.
func copyBody(ctx context.Context, w io.Writer, body io.Reader, size int64) error {
	if size < 0 {
		return fmt.Errorf("disk: negative size %d", size)
	}
	n, err := io.CopyN(w, ctxReader{ctx, body}, size)
	if err == io.EOF {
		err = fmt.Errorf("disk: body ended after %d of %d bytes: %w", n, size, io.ErrUnexpectedEOF)
	}
	return err
}
