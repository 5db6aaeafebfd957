package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/tusvault/tusvault/store"
)

// CreateMultipart starts a multipart upload of key (CreateMultipartUpload)
// whose object will carry meta as user metadata (x-amz-meta-*), with keys
// in lower case.
func (b *Backend) CreateMultipart(ctx context.Context, key string, meta map[string]string) (string, error) {
	if err := checkMeta(meta); err != nil {
		return "", fmt.Errorf("s3: create multipart %q: %w", key, err)
	}
	out, err := b.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket:   &b.bucket,
		Key:      b.key(key),
		Metadata: lowerKeys(meta),
	})
	if err != nil {
		return "", fail("create multipart", key, err)
	}
	id := aws.ToString(out.UploadId)
	if id == "" {
		return "", fmt.Errorf("s3: create multipart %q: service returned no upload id", key)
	}
	return id, nil
}

// UploadPart uploads part num of a multipart upload (UploadPart), with body
// as a seekable window of exactly size bytes (see Put). The returned ETag
// has no quotes, as ListParts returns it.
func (b *Backend) UploadPart(ctx context.Context, key, multipartID string, num int32, body io.ReadSeeker, size int64) (store.Part, error) {
	w, err := newWindow(body, size)
	if err != nil {
		return store.Part{}, fmt.Errorf("s3: upload part %d of %q: %w", num, key, err)
	}
	out, err := b.client.UploadPart(ctx, &s3.UploadPartInput{
		Bucket:        &b.bucket,
		Key:           b.key(key),
		UploadId:      aws.String(multipartID),
		PartNumber:    aws.Int32(num),
		Body:          w,
		ContentLength: aws.Int64(size),
	}, b.callOptions(body, size)...)
	if err != nil {
		return store.Part{}, fail(fmt.Sprintf("upload part %d of", num), key, err)
	}
	etag := unquote(aws.ToString(out.ETag))
	if etag == "" {
		return store.Part{}, fmt.Errorf("s3: upload part %d of %q: service returned no ETag", num, key)
	}
	return store.Part{Number: num, Size: size, ETag: etag}, nil
}

// ListParts returns the parts of a multipart upload, ordered by number
// (ListParts, page by page).
func (b *Backend) ListParts(ctx context.Context, key, multipartID string) ([]store.Part, error) {
	p := s3.NewListPartsPaginator(b.client, &s3.ListPartsInput{
		Bucket:   &b.bucket,
		Key:      b.key(key),
		UploadId: aws.String(multipartID),
	})
	var parts []store.Part
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fail("list parts of", key, err)
		}
		for _, sp := range page.Parts {
			part := store.Part{
				Number: aws.ToInt32(sp.PartNumber),
				Size:   aws.ToInt64(sp.Size),
				ETag:   unquote(aws.ToString(sp.ETag)),
			}
			if n := len(parts); n > 0 && part.Number <= parts[n-1].Number {
				return nil, fmt.Errorf("s3: list parts of %q: part %d listed after part %d", key, part.Number, parts[n-1].Number)
			}
			parts = append(parts, part)
		}
	}
	return parts, nil
}

// CompleteMultipart assembles the object from parts and ends the multipart
// upload (CompleteMultipartUpload).
func (b *Backend) CompleteMultipart(ctx context.Context, key, multipartID string, parts []store.Part) error {
	if len(parts) == 0 {
		return fmt.Errorf("s3: complete %q: no parts", key)
	}
	completed := make([]types.CompletedPart, len(parts))
	for i, p := range parts {
		// Quoted, as S3 returns ETags: every S3-compatible service takes
		// that form; not all take the bare one.
		completed[i] = types.CompletedPart{PartNumber: aws.Int32(p.Number), ETag: aws.String(`"` + unquote(p.ETag) + `"`)}
	}
	_, err := b.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket:          &b.bucket,
		Key:             b.key(key),
		UploadId:        aws.String(multipartID),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: completed},
	})
	if err != nil {
		if code, _ := errorCode(err); code == "InvalidPart" && b.uploadGone(ctx, key, multipartID) {
			// Some services (versitygw) check the listed parts before the
			// upload: an upload that does not exist must still read as
			// not found, as S3 answers NoSuchUpload.
			err = notFound{err}
		}
		return fail("complete", key, err)
	}
	return nil
}

// uploadGone reports whether the multipart upload is known not to exist,
// asking for its first part. Any other outcome (error or not) is false.
func (b *Backend) uploadGone(ctx context.Context, key, multipartID string) bool {
	_, err := b.client.ListParts(ctx, &s3.ListPartsInput{
		Bucket:   &b.bucket,
		Key:      b.key(key),
		UploadId: aws.String(multipartID),
		MaxParts: aws.Int32(1),
	})
	return err != nil && isNotFound(err)
}

// AbortMultipart ends a multipart upload and drops its parts
// (AbortMultipartUpload). An upload that does not exist (NoSuchUpload) is
// not an error.
func (b *Backend) AbortMultipart(ctx context.Context, key, multipartID string) error {
	_, err := b.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
		Bucket:   &b.bucket,
		Key:      b.key(key),
		UploadId: aws.String(multipartID),
	})
	if err != nil && !isNotFound(err) {
		return fail("abort", key, err)
	}
	return nil
}

// ListMultipartUploads calls fn for every multipart upload in progress
// whose key starts with prefix, with the key (ObjectPrefix stripped), the
// upload id and when it was started (ListMultipartUploads, page by page),
// in key order. A cleanup sweep aborts the stale ones. An error from fn
// stops the listing and is returned.
func (b *Backend) ListMultipartUploads(ctx context.Context, prefix string, fn func(key, id string, initiated time.Time) error) error {
	in := &s3.ListMultipartUploadsInput{Bucket: &b.bucket, Prefix: b.key(prefix)}
	for {
		page, err := b.client.ListMultipartUploads(ctx, in)
		if err != nil {
			return fail("list multipart uploads", prefix, err)
		}
		for _, u := range page.Uploads {
			k := strings.TrimPrefix(aws.ToString(u.Key), b.prefix)
			if err := fn(k, aws.ToString(u.UploadId), aws.ToTime(u.Initiated)); err != nil {
				return err
			}
		}
		if !aws.ToBool(page.IsTruncated) {
			return nil
		}
		km, um := page.NextKeyMarker, page.NextUploadIdMarker
		if aws.ToString(km) == aws.ToString(in.KeyMarker) && aws.ToString(um) == aws.ToString(in.UploadIdMarker) {
			return fmt.Errorf("s3: list multipart uploads %q: %w", prefix, errStuckListing)
		}
		in.KeyMarker, in.UploadIdMarker = km, um
	}
}

var errStuckListing = errors.New("service returned the same page marker twice")

func unquote(etag string) string { return strings.Trim(etag, `"`) }
