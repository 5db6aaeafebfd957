package s3

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/tusvault/tusvault/store"
)

// errorCode returns the S3 error code of err ("" if it carries none) and
// the HTTP status of the response (0 if none arrived).
func errorCode(err error) (code string, status int) {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	return code, status
}

// isNotFound reports whether err says that the object or the multipart
// upload does not exist. A missing bucket is not "not found": it is a
// configuration error that must not read as a missing upload.
func isNotFound(err error) bool {
	code, status := errorCode(err)
	switch code {
	case "NoSuchKey", "NoSuchUpload", "NotFound":
		return true
	case "":
		return status == http.StatusNotFound // HEAD answers have no body
	}
	return false
}

// isInvalidRange reports whether err is S3's answer to a Range that starts
// at or past the end of the object (416 InvalidRange).
func isInvalidRange(err error) bool {
	code, status := errorCode(err)
	return code == "InvalidRange" || status == http.StatusRequestedRangeNotSatisfiable
}

// notFound is an SDK error that means store.ErrObjectNotFound. Its message
// stays short (it is normal control flow); both errors are in its chain.
type notFound struct{ err error }

func (e notFound) Error() string   { return store.ErrObjectNotFound.Error() }
func (e notFound) Unwrap() []error { return []error{store.ErrObjectNotFound, e.err} }

// fail wraps the error of operation op on key, translating "no such key"
// and "no such upload" into store.ErrObjectNotFound.
func fail(op, key string, err error) error {
	if isNotFound(err) {
		err = notFound{err}
	}
	return fmt.Errorf("s3: %s %q: %w", op, key, err)
}

// checkError is the error of New's bucket check: a one-line reason for
// people, and the SDK error for errors.Is and errors.As.
type checkError struct {
	msg string
	err error
}

func (e *checkError) Error() string { return e.msg }
func (e *checkError) Unwrap() error { return e.err }

// checkBucket asks for the bucket (HeadBucket) and explains a failure in
// one line: not found, access denied, wrong region, unreachable.
func (b *Backend) checkBucket(ctx context.Context, cfg Config, region string) error {
	cctx, cancel := context.WithTimeout(ctx, cfg.CheckTimeout)
	defer cancel()
	_, err := b.client.HeadBucket(cctx, &s3.HeadBucketInput{Bucket: &b.bucket})
	if err == nil {
		return nil
	}
	where := cfg.where(region)
	code, status := errorCode(err)
	var msg string
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("s3: check bucket %q: %w", b.bucket, ctx.Err())
	case status == http.StatusNotFound || code == "NoSuchBucket":
		msg = fmt.Sprintf("bucket %q not found at %s", b.bucket, where)
	case status == http.StatusForbidden:
		msg = fmt.Sprintf("access to bucket %q at %s denied: check the credentials and the bucket's policy", b.bucket, where)
	case status == http.StatusMovedPermanently:
		msg = fmt.Sprintf("bucket %q is not in region %s", b.bucket, region)
	case status != 0:
		msg = fmt.Sprintf("bucket %q at %s: HTTP %d %s", b.bucket, where, status, code)
	case errors.Is(err, context.DeadlineExceeded):
		msg = fmt.Sprintf("cannot reach %s: no answer within %v", where, cfg.CheckTimeout)
	default:
		if cause, ok := netCause(err); ok {
			msg = fmt.Sprintf("cannot reach %s: %s", where, cause)
		} else {
			msg = fmt.Sprintf("cannot use bucket %q at %s: %s", b.bucket, where, oneLine(err.Error()))
		}
	}
	return &checkError{msg: "s3: " + msg, err: err}
}

// netCause returns the message of the network error inside err, such as
// "dial tcp 127.0.0.1:1: connect: connection refused".
func netCause(err error) (string, bool) {
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return dns.Error(), true
	}
	var op *net.OpError
	if errors.As(err, &op) {
		return op.Error(), true
	}
	return "", false
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
