package store

import (
	"context"
	"errors"
	"io"
	"time"
)

// ErrObjectNotFound is returned (possibly wrapped) by a Backend when an
// object or a multipart upload does not exist.
var ErrObjectNotFound = errors.New("object not found")

// Backend is the small object-storage interface the store needs. The disk
// backend (store/disk) and the S3 backend implement it; the conformance suite
// in internal/backendtest checks that they behave alike.
//
// Keys are slash-separated relative names ("home/alice/abc", "abc.info").
// Objects are immutable: Put replaces an object atomically, so a reader sees
// either the old or the new content, never a mix.
type Backend interface {
	// Put stores size bytes read from body under key, replacing any
	// existing object atomically. body is seekable so that a retry can
	// rewind it.
	Put(ctx context.Context, key string, body io.ReadSeeker, size int64) error
	// Get returns length bytes of the object starting at off; length < 0
	// means to the end. A range past the end is truncated to the end.
	Get(ctx context.Context, key string, off, length int64) (io.ReadCloser, error)
	// Head returns the size and the user metadata of an object.
	Head(ctx context.Context, key string) (ObjectInfo, error)
	// Delete removes an object. Deleting a missing object is not an error.
	Delete(ctx context.Context, key string) error
	// List calls fn for every object whose key starts with prefix, in
	// lexical key order. Objects being assembled by a multipart upload are
	// not listed. An error from fn stops the listing and is returned.
	List(ctx context.Context, prefix string, fn func(ObjectInfo) error) error

	// CreateMultipart starts assembling the object key from parts; meta is
	// stored as the object's user metadata. It returns the multipart id.
	CreateMultipart(ctx context.Context, key string, meta map[string]string) (string, error)
	// UploadPart stores part number num (1-based) of the multipart upload;
	// uploading the same number again replaces the part.
	UploadPart(ctx context.Context, key, multipartID string, num int32, body io.ReadSeeker, size int64) (Part, error)
	// ListParts returns the parts uploaded so far, ordered by number.
	ListParts(ctx context.Context, key, multipartID string) ([]Part, error)
	// CompleteMultipart assembles the object from parts (ordered by number)
	// and ends the multipart upload.
	CompleteMultipart(ctx context.Context, key, multipartID string, parts []Part) error
	// AbortMultipart ends the multipart upload and drops its parts. Aborting
	// a multipart upload that does not exist is not an error.
	AbortMultipart(ctx context.Context, key, multipartID string) error
}

// ObjectInfo describes a stored object.
type ObjectInfo struct {
	Key  string
	Size int64
	// ModTime is when the object was last written (zero if unknown).
	ModTime time.Time
	// Meta is the user metadata given at CreateMultipart (nil for objects
	// stored with Put). Keys are lower case.
	Meta map[string]string
}

// Part is one confirmed part of a multipart upload.
type Part struct {
	Number int32
	Size   int64
	ETag   string
}
