package hooks

import (
	"net/http"
	"strconv"

	"github.com/tus/tusd/v2/pkg/handler"
)

// Strict reading of the headers tusd acts on. tusd reads each of them with
// http.Header.Get, the first field line only, and its numbers with
// strconv.ParseInt, which takes "+10" and "-0". A proxy in front may read
// the last line, or a number differently, so an ambiguous request could
// mean one thing to the proxy and another to tusd: the middleware refuses
// such requests before tusd sees them.

// SingleHeaders are the request headers that may appear at most once:
// the tus headers, the token, the content type and the method override.
// tusd and the policy read only their first line.
var SingleHeaders = [...]string{
	"Authorization", "Content-Type", "Tus-Resumable", "X-Http-Method-Override",
	"Upload-Length", "Upload-Offset", "Upload-Defer-Length", "Upload-Metadata", "Upload-Concat",
	"Upload-Draft-Interop-Version", "Upload-Complete", "Upload-Incomplete",
}

// errDuplicateHeader is the answer to a request carrying one of
// SingleHeaders twice.
func errDuplicateHeader(name string) handler.Error {
	return handler.NewError("ERR_DUPLICATE_HEADER", "the "+name+" header is given more than once", http.StatusBadRequest)
}

// CheckHeaders returns a 400 handler.Error (ERR_DUPLICATE_HEADER) when h
// holds one of SingleHeaders more than once, else nil. The page's API
// checks its requests with it, as the middleware does.
func CheckHeaders(h http.Header) error {
	if err := duplicateHeader(h); err != nil {
		return *err
	}
	return nil
}

func duplicateHeader(h http.Header) *handler.Error {
	for _, name := range SingleHeaders {
		if len(h[name]) > 1 {
			err := errDuplicateHeader(name)
			return &err
		}
	}
	return nil
}

// checkNumbers refuses an Upload-Length or Upload-Offset that tusd
// would read for method (the effective one) and that is not a run of
// ASCII digits within int64, with tusd's own errors (400
// ERR_INVALID_UPLOAD_LENGTH, ERR_INVALID_OFFSET). An empty value is
// left to tusd, which takes it as absent.
func checkNumbers(h http.Header, method string) *handler.Error {
	if method != http.MethodPost && method != http.MethodPatch {
		return nil
	}
	if v := h.Get("Upload-Length"); v != "" {
		if _, ok := ParseDigits(v); !ok {
			return &handler.ErrInvalidUploadLength
		}
	}
	if v := h.Get("Upload-Offset"); v != "" && method == http.MethodPatch {
		if _, ok := ParseDigits(v); !ok {
			return &handler.ErrInvalidOffset
		}
	}
	return nil
}

// ParseDigits parses a non-negative decimal number written as ASCII
// digits only (RFC 9110's 1*DIGIT), within int64: no sign, space, or
// other base. Leading zeros are fine.
func ParseDigits(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}
