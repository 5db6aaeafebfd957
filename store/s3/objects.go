package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tusvault/tusvault/store"
)

// Put stores size bytes of body under key (PutObject). body is handed to
// the SDK as a seekable window of exactly size bytes, so that SigV4 can
// hash the payload over plain HTTP and a retry rewinds it.
func (b *Backend) Put(ctx context.Context, key string, body io.ReadSeeker, size int64) error {
	w, err := newWindow(body, size)
	if err != nil {
		return fmt.Errorf("s3: put %q: %w", key, err)
	}
	_, err = b.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        &b.bucket,
		Key:           b.key(key),
		Body:          w,
		ContentLength: aws.Int64(size),
	}, b.callOptions(body, size)...)
	if err != nil {
		return fail("put", key, err)
	}
	return nil
}

// Get returns length bytes of key's object from off (GetObject with a
// Range; length < 0: to the end). S3 answers a range starting at or past
// the end with 416 InvalidRange, which proves the object exists: that is
// an empty reader, as the Backend contract wants.
func (b *Backend) Get(ctx context.Context, key string, off, length int64) (io.ReadCloser, error) {
	if off < 0 {
		return nil, fmt.Errorf("s3: get %q: negative offset %d", key, off)
	}
	if length == 0 {
		// No Range can say "zero bytes": check existence only.
		if _, err := b.Head(ctx, key); err != nil {
			return nil, err
		}
		return empty(), nil
	}
	in := &s3.GetObjectInput{Bucket: &b.bucket, Key: b.key(key)}
	if r := httpRange(off, length); r != "" {
		in.Range = aws.String(r)
	}
	out, err := b.client.GetObject(ctx, in)
	if err != nil {
		if isInvalidRange(err) {
			return empty(), nil
		}
		return nil, fail("get", key, err)
	}
	return out.Body, nil
}

// httpRange returns the Range header for length bytes from off (length < 0:
// to the end), or "" for the whole object. length must not be 0.
func httpRange(off, length int64) string {
	switch {
	case length < 0 && off == 0:
		return ""
	case length < 0:
		return "bytes=" + strconv.FormatInt(off, 10) + "-"
	default:
		return "bytes=" + strconv.FormatInt(off, 10) + "-" + strconv.FormatInt(off+length-1, 10)
	}
}

func empty() io.ReadCloser { return io.NopCloser(strings.NewReader("")) }

// Head returns the size, modification time and user metadata of key's
// object (HeadObject).
func (b *Backend) Head(ctx context.Context, key string) (store.ObjectInfo, error) {
	out, err := b.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b.bucket, Key: b.key(key)})
	if err != nil {
		return store.ObjectInfo{}, fail("head", key, err)
	}
	return store.ObjectInfo{
		Key:     key,
		Size:    aws.ToInt64(out.ContentLength),
		ModTime: aws.ToTime(out.LastModified),
		Meta:    lowerKeys(out.Metadata),
	}, nil
}

// lowerKeys returns m with lower-case keys, or nil if m is empty. HTTP
// header names have no case, so S3 servers differ in the case they return.
func lowerKeys(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[strings.ToLower(k)] = v
	}
	return out
}

// Delete removes key's object (DeleteObject). S3 answers success for a
// missing key; a NoSuchKey from another service is success too.
func (b *Backend) Delete(ctx context.Context, key string) error {
	_, err := b.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b.bucket, Key: b.key(key)})
	if err != nil && !isNotFound(err) {
		return fail("delete", key, err)
	}
	return nil
}

// List calls fn for every object whose key starts with prefix, in the
// lexical (UTF-8 byte) order S3 lists keys in (ListObjectsV2, page by
// page). Keys are handed to fn without ObjectPrefix; ObjectInfo.Meta is nil
// (listings carry no metadata).
func (b *Backend) List(ctx context.Context, prefix string, fn func(store.ObjectInfo) error) error {
	p := s3.NewListObjectsV2Paginator(b.client, &s3.ListObjectsV2Input{
		Bucket: &b.bucket,
		Prefix: b.key(prefix),
	})
	last, first := "", true
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fail("list", prefix, err)
		}
		for _, o := range page.Contents {
			k := strings.TrimPrefix(aws.ToString(o.Key), b.prefix)
			if k <= last && !first {
				return fmt.Errorf("s3: list %q: service returned %q after %q, not in lexical order", prefix, k, last)
			}
			last, first = k, false
			err := fn(store.ObjectInfo{Key: k, Size: aws.ToInt64(o.Size), ModTime: aws.ToTime(o.LastModified)})
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// window is a seekable view of exactly size bytes of an io.ReadSeeker,
// starting at the position the reader had when the window was made.
type window struct {
	r         io.ReadSeeker
	base, pos int64 // pos is relative to base
	size      int64
}

func newWindow(r io.ReadSeeker, size int64) (*window, error) {
	if size < 0 {
		return nil, fmt.Errorf("negative size %d", size)
	}
	base, err := r.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, fmt.Errorf("body is not seekable: %w", err)
	}
	return &window{r: r, base: base, size: size}, nil
}

func (w *window) Read(p []byte) (int, error) {
	if w.pos >= w.size {
		return 0, io.EOF
	}
	if rest := w.size - w.pos; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := w.r.Read(p)
	w.pos += int64(n)
	if errors.Is(err, io.EOF) && w.pos < w.size {
		err = fmt.Errorf("body ended after %d of %d bytes: %w", w.pos, w.size, io.ErrUnexpectedEOF)
	}
	return n, err
}

func (w *window) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += w.pos
	case io.SeekEnd:
		offset += w.size
	default:
		return 0, errors.New("window: bad whence")
	}
	if offset < 0 {
		return 0, errors.New("window: negative position")
	}
	if _, err := w.r.Seek(w.base+offset, io.SeekStart); err != nil {
		return 0, err
	}
	w.pos = offset
	return offset, nil
}

// checkMeta rejects metadata S3 cannot carry as x-amz-meta-* headers
// unchanged: keys must be HTTP token characters, values printable ASCII.
func checkMeta(meta map[string]string) error {
	for _, k := range sortedKeys(meta) {
		if k == "" || strings.IndexFunc(k, func(r rune) bool { return !isTokenChar(r) }) >= 0 {
			return fmt.Errorf("metadata key %q is not an HTTP token", k)
		}
		if strings.IndexFunc(meta[k], func(r rune) bool { return r < 0x20 || r > 0x7e }) >= 0 {
			return fmt.Errorf("metadata %q: value is not printable ASCII", k)
		}
	}
	return nil
}

func isTokenChar(r rune) bool {
	return r < 0x7f && r > 0x20 && !strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r)
}

func sortedKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }
