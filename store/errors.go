package store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"syscall"

	"github.com/tus/tusd/v2/pkg/handler"
)

// Client-visible errors. Everything else is logged and answered with
// errInternal so that no backend detail reaches an error body.
var (
	errInternal       = handler.NewError("ERR_INTERNAL_SERVER_ERROR", "the upload could not be stored; retry later", http.StatusInternalServerError)
	errTooManyPatches = handler.NewError("ERR_TOO_MANY_REQUESTS_FOR_UPLOAD", "upload has taken too many PATCH requests", http.StatusRequestEntityTooLarge)
	errNotFinished    = handler.NewError("ERR_INCOMPLETE_UPLOAD", "cannot download an unfinished upload", http.StatusBadRequest)
	errBadID          = handler.NewError("ERR_INVALID_UPLOAD_ID", "invalid upload id", http.StatusBadRequest)
	// errBusy answers a request that would have to interrupt the one
	// writing the upload (see Settle).
	errBusy = handler.NewError("ERR_UPLOAD_LOCKED", "the upload is being written; retry once it is finished", http.StatusLocked)
	// The local spool: out of space (507), or failing otherwise, such as
	// too many open files (503). Both are worth a retry.
	errSpoolFull   = handler.NewError("ERR_INSUFFICIENT_STORAGE", "the server is out of local disk space for uploads; retry later", http.StatusInsufficientStorage)
	errSpoolFailed = handler.NewError("ERR_LOCAL_STORAGE_UNAVAILABLE", "the server cannot write uploads to its local disk right now; retry later", http.StatusServiceUnavailable)
	// errKeyUnavailable answers a request on an upload whose key id this
	// process's keyring lacks: an instance started with another keyring
	// than the one that wrapped the upload's key.
	errKeyUnavailable = handler.NewError("ERR_KEY_UNAVAILABLE", "this server cannot decrypt the upload; its operator must give every instance the same keyring", http.StatusInternalServerError)
	// errStoreUnavailable answers a request the object store could not
	// take: unreachable, or answering 5xx (after the SDK's retries).
	errStoreUnavailable = handler.NewError("ERR_STORAGE_UNAVAILABLE", "the object store cannot be reached right now; retry later", http.StatusServiceUnavailable)
)

// missingKeyError says which key id of an upload the keyring lacks.
type missingKeyError struct {
	kid string
	err error // wraps crypt.ErrUnknownKid
}

func (e *missingKeyError) Error() string { return e.err.Error() }
func (e *missingKeyError) Unwrap() error { return e.err }

// errTooLarge refuses an upload over the largest size its parts allow.
func errTooLarge(limit int64) handler.Error {
	return handler.NewError("ERR_UPLOAD_SIZE_EXCEEDED",
		fmt.Sprintf("upload exceeds the largest size accepted, %d bytes", limit), http.StatusRequestEntityTooLarge)
}

// ErrTagMismatch means the stored ciphertext does not match its v1 tag.
var ErrTagMismatch = errors.New("tag mismatch: the upload was altered or truncated")

// spoolError marks a failure of the local spool (creating, writing or
// reading a part file), as opposed to one of the backend.
type spoolError struct{ err error }

func (e *spoolError) Error() string { return "spool: " + e.err.Error() }
func (e *spoolError) Unwrap() error { return e.err }

// spoolErr wraps a non-nil err as a spoolError.
func spoolErr(err error) error {
	if err == nil {
		return nil
	}
	return &spoolError{err}
}

// spoolClientError is the answer to a spool failure: 507 when the disk
// or a quota is full, 503 otherwise.
func spoolClientError(err error) handler.Error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return errSpoolFull
	}
	return errSpoolFailed
}

// unavailable reports whether err says the object store could not be
// reached (a network error) or failed on its side (an HTTP 5xx answer,
// as the AWS SDK's response errors report it), as opposed to a refusal
// or a bug: worth a retry by the client.
func unavailable(err error) bool {
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) && status.HTTPStatusCode() != 0 { // 0: no answer
		return status.HTTPStatusCode() >= 500
	}
	var oerr *net.OpError // (not net.Error: every syscall.Errno is one)
	return errors.As(err, &oerr) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET)
}

// internal logs err with its context and returns the client error:
// handler.Error values as they are, spool failures as 507 or 503, a key id
// the keyring lacks as errKeyUnavailable (logged with the kid), an object
// store that cannot be reached as errStoreUnavailable (503), anything
// else as the generic errInternal.
func (s *Store) internal(ctx context.Context, op, id string, err error) error {
	var herr handler.Error
	if errors.As(err, &herr) {
		return err
	}
	var (
		serr *spoolError
		kerr *missingKeyError
	)
	switch {
	case errors.As(err, &kerr):
		s.cfg.Logger.ErrorContext(ctx, "the keyring lacks the upload's key: give every instance the same keyring", "op", op, "id", id, "kid", kerr.kid)
		return errKeyUnavailable
	case errors.As(err, &serr):
		s.cfg.Logger.ErrorContext(ctx, "local spool failed", "op", op, "id", id, "error", err)
		return spoolClientError(err)
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		s.cfg.Logger.WarnContext(ctx, "store operation cancelled", "op", op, "id", id)
	case unavailable(err):
		s.cfg.Logger.ErrorContext(ctx, "object store unavailable", "op", op, "id", id, "error", err)
		return errStoreUnavailable
	default:
		s.cfg.Logger.ErrorContext(ctx, "store operation failed", "op", op, "id", id, "error", err)
	}
	return errInternal
}
