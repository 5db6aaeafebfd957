package disk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/tusvault/tusvault/internal/failpoint"
	"github.com/tusvault/tusvault/store"
)

// A part file starts with a fixed-size header holding the part's ETag, so
// that data and ETag are replaced together by one rename:
//
//	"tvpart1 " + 32 hex digits of MD5 + "\n", then the part's data.
const (
	partMagic     = "tvpart1 "
	partHeaderLen = len(partMagic) + 32 + 1
)

func partHeader(etag string) []byte { return []byte(partMagic + etag + "\n") }

func partName(num int32) string { return fmt.Sprintf("%05d", num) }

func parsePartName(name string) (int32, bool) {
	if len(name) != 5 {
		return 0, false
	}
	n, err := strconv.Atoi(name)
	if err != nil || n < 1 || n > maxPartNumber || partName(int32(n)) != name {
		return 0, false
	}
	return int32(n), true
}

// openPart opens part num in dir and reads its header. The returned file is
// positioned at the start of the part's data.
func openPart(dir string, num int32) (*os.File, store.Part, error) {
	f, err := os.Open(filepath.Join(dir, partName(num)))
	if err != nil {
		return nil, store.Part{}, err
	}
	fi, err := f.Stat()
	if err == nil && fi.Size() < int64(partHeaderLen) {
		err = errors.New("file too short")
	}
	var hdr [partHeaderLen]byte
	if err == nil {
		_, err = io.ReadFull(f, hdr[:])
	}
	if err == nil && (!strings.HasPrefix(string(hdr[:]), partMagic) || hdr[partHeaderLen-1] != '\n') {
		err = errors.New("bad header")
	}
	if err != nil {
		f.Close()
		return nil, store.Part{}, fmt.Errorf("disk: part file %s: %w", f.Name(), err)
	}
	etag := string(hdr[len(partMagic) : partHeaderLen-1])
	return f, store.Part{Number: num, Size: fi.Size() - int64(partHeaderLen), ETag: etag}, nil
}

func isNoUpload(err error) bool { return errors.Is(err, store.ErrObjectNotFound) }

// sameETag compares ETags, ignoring the double quotes S3 puts around them.
func sameETag(a, b string) bool { return strings.Trim(a, `"`) == strings.Trim(b, `"`) }

// CompleteMultipart assembles key's object from the listed parts, which must
// be in ascending order of number, exist, and match their ETags. The parts
// are concatenated into a temp file (copy_file_range on Linux, never a
// whole part in memory), which is fsynced; then the metadata sidecar is
// written and the temp file renamed to the key, and the upload removed.
// Writing the sidecar first means the new object never shows up without
// its metadata; a crash before the rename leaves the upload in place, so
// completing it again works.
func (b *Backend) CompleteMultipart(ctx context.Context, key, multipartID string, parts []store.Part) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := validateKey(key); err != nil {
		return err
	}
	u, err := b.loadUpload(key, multipartID)
	if err != nil {
		return err
	}
	if len(parts) == 0 {
		return fmt.Errorf("disk: complete %q: no parts", key)
	}
	for i, p := range parts {
		if p.Number < 1 || p.Number > maxPartNumber {
			return fmt.Errorf("disk: complete %q: part number %d outside 1..%d", key, p.Number, maxPartNumber)
		}
		if i > 0 && p.Number <= parts[i-1].Number {
			return fmt.Errorf("disk: complete %q: parts not in ascending order (%d after %d)", key, p.Number, parts[i-1].Number)
		}
	}
	dir := b.uploadDir(multipartID)
	// Check every part before copying anything, to fail fast.
	for _, p := range parts {
		f, err := b.checkPart(key, multipartID, dir, p)
		if err != nil {
			return err
		}
		f.Close()
	}
	t, err := b.createTemp("obj-*")
	if err != nil {
		return err
	}
	defer t.discard()
	var total int64
	for _, p := range parts {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := b.appendPart(t.File, key, multipartID, dir, p)
		if err != nil {
			return err
		}
		total += n
	}
	if err := t.finish(); err != nil {
		return err
	}
	failpoint.Hit("disk-assemble")
	if err := ctx.Err(); err != nil {
		return err
	}
	mu := b.keyLock(key)
	mu.Lock()
	err = b.writeMeta(key, total, u.Meta)
	if err == nil {
		if err = t.commit(b.root, key); err != nil {
			// E.g. key names a directory of other keys: drop the sidecar
			// that no object goes with, so it cannot block other keys.
			if _, serr := b.statObject(key); errors.Is(serr, store.ErrObjectNotFound) {
				b.removeMeta(key)
			}
		}
	}
	mu.Unlock()
	if err != nil {
		return fmt.Errorf("disk: complete %q: %w", key, err)
	}
	return b.removeUpload(multipartID)
}

// checkPart opens the listed part p and checks that it exists and that its
// ETag matches. A missing part is an error of its own, not
// ErrObjectNotFound: the upload exists (S3 answers InvalidPart).
func (b *Backend) checkPart(key, id, dir string, p store.Part) (*os.File, error) {
	f, got, err := openPart(dir, p.Number)
	if err != nil {
		if !isNotFound(err) {
			return nil, err
		}
		if _, lerr := os.Stat(dir); isNotFound(lerr) {
			return nil, noUpload(key, id) // completed or aborted meanwhile
		}
		return nil, fmt.Errorf("disk: complete %q: part %d was not uploaded", key, p.Number)
	}
	if !sameETag(got.ETag, p.ETag) {
		f.Close()
		return nil, fmt.Errorf("disk: complete %q: part %d has ETag %s, not %s", key, p.Number, got.ETag, p.ETag)
	}
	return f, nil
}

// appendPart copies the data of part p to the end of w.
func (b *Backend) appendPart(w *os.File, key, id, dir string, p store.Part) (int64, error) {
	f, err := b.checkPart(key, id, dir, p)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	want := fi.Size() - int64(partHeaderLen)
	// io.Copy hands the LimitedReader of an *os.File to w.ReadFrom, which
	// uses copy_file_range on Linux.
	n, err := io.Copy(w, &io.LimitedReader{R: f, N: want})
	if err == nil && n != want {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return n, fmt.Errorf("disk: complete %q: copy part %d: %w", key, p.Number, err)
	}
	return n, nil
}
