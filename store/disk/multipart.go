package disk

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/tusvault/tusvault/store"
)

// Part numbers range over 1..maxPartNumber, as in S3.
const maxPartNumber = 10000

// uploadFile is the name of the file in a multipart directory that records
// the target key and the metadata.
const uploadFile = "upload.json"

type upload struct {
	Key  string            `json:"key"`
	Meta map[string]string `json:"meta,omitempty"`
}

func (b *Backend) uploadDir(id string) string { return filepath.Join(b.mpDir, id) }

func noUpload(key, id string) error {
	return fmt.Errorf("disk: multipart upload %s of %q: %w", id, key, store.ErrObjectNotFound)
}

// loadUpload reads the record of multipart upload id, which must belong to
// key; an unknown id or another key is ErrObjectNotFound, as in S3.
func (b *Backend) loadUpload(key, id string) (upload, error) {
	var u upload
	if !validMultipartID(id) {
		return u, noUpload(key, id)
	}
	data, err := os.ReadFile(filepath.Join(b.uploadDir(id), uploadFile))
	if err != nil {
		if isNotFound(err) {
			return u, noUpload(key, id)
		}
		return u, err
	}
	if err := json.Unmarshal(data, &u); err != nil {
		return u, fmt.Errorf("disk: multipart upload %s: %w", id, err)
	}
	if u.Key != key {
		return u, noUpload(key, id)
	}
	return u, nil
}

// CreateMultipart starts a multipart upload for key. The upload directory is
// prepared under the temp directory and renamed into place, so it is never
// seen without its record.
func (b *Backend) CreateMultipart(ctx context.Context, key string, meta map[string]string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if err := validateKey(key); err != nil {
		return "", err
	}
	meta, err := lowerMeta(meta)
	if err != nil {
		return "", err
	}
	data, err := json.Marshal(upload{Key: key, Meta: meta})
	if err != nil {
		return "", err
	}
	var raw [16]byte
	rand.Read(raw[:])
	id := hex.EncodeToString(raw[:])

	staging := filepath.Join(b.tmpDir, "mp-"+id)
	if err := os.Mkdir(staging, dirPerm); err != nil {
		return "", err
	}
	defer os.RemoveAll(staging) // no-op once renamed
	f, err := os.OpenFile(filepath.Join(staging, uploadFile), os.O_WRONLY|os.O_CREATE|os.O_EXCL, filePerm)
	if err != nil {
		return "", err
	}
	t := &tempFile{File: f}
	defer t.discard()
	if _, err := t.Write(data); err != nil {
		return "", err
	}
	if err := t.finish(); err != nil {
		return "", err
	}
	t.done = true
	if err := syncDir(staging); err != nil {
		return "", err
	}
	if err := os.Rename(staging, b.uploadDir(id)); err != nil {
		return "", err
	}
	return id, syncDir(b.mpDir)
}

// UploadPart stores part num of the upload: a header holding the part's
// ETag (hex MD5, computed while writing) followed by the data, written to a
// temp file and renamed over any earlier part with the same number.
func (b *Backend) UploadPart(ctx context.Context, key, multipartID string, num int32, body io.ReadSeeker, size int64) (store.Part, error) {
	if err := ctx.Err(); err != nil {
		return store.Part{}, err
	}
	if err := validateKey(key); err != nil {
		return store.Part{}, err
	}
	if num < 1 || num > maxPartNumber {
		return store.Part{}, fmt.Errorf("disk: part number %d outside 1..%d", num, maxPartNumber)
	}
	if _, err := b.loadUpload(key, multipartID); err != nil {
		return store.Part{}, err
	}
	t, err := b.createTemp("part-*")
	if err != nil {
		return store.Part{}, err
	}
	defer t.discard()
	if _, err := t.Write(make([]byte, partHeaderLen)); err != nil {
		return store.Part{}, err
	}
	h := md5.New()
	if err := copyBody(ctx, io.MultiWriter(t, h), body, size); err != nil {
		return store.Part{}, fmt.Errorf("disk: upload part %d of %q: %w", num, key, err)
	}
	etag := hex.EncodeToString(h.Sum(nil))
	if _, err := t.WriteAt(partHeader(etag), 0); err != nil {
		return store.Part{}, err
	}
	if err := t.finish(); err != nil {
		return store.Part{}, err
	}
	if err := ctx.Err(); err != nil {
		return store.Part{}, err
	}
	// No mkdir here: if the upload was completed or aborted meanwhile, its
	// directory is gone and the rename fails.
	dir := b.uploadDir(multipartID)
	if err := os.Rename(t.Name(), filepath.Join(dir, partName(num))); err != nil {
		if isNotFound(err) {
			return store.Part{}, noUpload(key, multipartID)
		}
		return store.Part{}, err
	}
	t.done = true
	if err := syncDir(dir); err != nil {
		return store.Part{}, err
	}
	return store.Part{Number: num, Size: size, ETag: etag}, nil
}

// ListParts returns the parts uploaded so far, ordered by number.
func (b *Backend) ListParts(ctx context.Context, key, multipartID string) ([]store.Part, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := validateKey(key); err != nil {
		return nil, err
	}
	if _, err := b.loadUpload(key, multipartID); err != nil {
		return nil, err
	}
	dir := b.uploadDir(multipartID)
	entries, err := os.ReadDir(dir) // sorted by name: zero-padded numbers
	if err != nil {
		if isNotFound(err) {
			return nil, noUpload(key, multipartID)
		}
		return nil, err
	}
	parts := []store.Part{}
	for _, e := range entries {
		num, ok := parsePartName(e.Name())
		if !ok {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		f, p, err := openPart(dir, num)
		if err != nil {
			if isNotFound(err) {
				continue // replaced or removed meanwhile
			}
			return nil, err
		}
		f.Close()
		parts = append(parts, p)
	}
	return parts, nil
}

// AbortMultipart drops the upload and its parts. An unknown upload is not
// an error.
func (b *Backend) AbortMultipart(ctx context.Context, key, multipartID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := validateKey(key); err != nil {
		return err
	}
	if _, err := b.loadUpload(key, multipartID); err != nil {
		if isNoUpload(err) {
			return nil
		}
		return err
	}
	return b.removeUpload(multipartID)
}

// removeUpload moves the upload directory out of the multipart directory in
// one rename (so concurrent UploadPart calls fail cleanly) and deletes it.
func (b *Backend) removeUpload(id string) error {
	trash, err := os.MkdirTemp(b.tmpDir, "gone-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(trash)
	if err := os.Rename(b.uploadDir(id), filepath.Join(trash, id)); err != nil {
		if isNotFound(err) {
			return nil // removed concurrently
		}
		return err
	}
	return syncDir(b.mpDir)
}
