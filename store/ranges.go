package store

import (
	"net/http"
	"strconv"
	"strings"
)

// byteRange is the answer to a GET: the plaintext bytes [start, end) with
// status 200, 206 or 416.
type byteRange struct {
	start, end int64
	status     int
}

// whole reports whether the answer carries every byte of the object, and
// so must go through the tag check.
func (r byteRange) whole(size int64) bool { return r.start == 0 && r.end == size }

// resolveRange decides the answer to a GET of an object of size bytes
// from its Range and If-Range headers (RFC 9110, section 14):
//   - no Range, a Range in another unit or one that does not parse: the
//     whole object, 200 (a server may ignore such a Range);
//   - an If-Range: the whole object, 200, since the store sends no
//     validator it could match;
//   - several ranges: the whole object, 200 (tusvault serves one range
//     or all, never multipart/byteranges);
//   - one range: 206 with its bytes, clamped to the object, which may be
//     all of them; 416 when it starts at or past the end (or is a zero
//     suffix). An empty object is answered whole.
func resolveRange(h http.Header, size int64) byteRange {
	whole := byteRange{0, size, http.StatusOK}
	spec, ok := strings.CutPrefix(h.Get("Range"), "bytes=")
	if !ok || h.Get("If-Range") != "" || size == 0 || strings.Contains(spec, ",") {
		return whole
	}
	first, last, ok := strings.Cut(strings.TrimSpace(spec), "-")
	if !ok {
		return whole
	}
	unsatisfiable := byteRange{0, 0, http.StatusRequestedRangeNotSatisfiable}
	if first == "" {
		// A suffix: the last n bytes.
		n, err := parseDigits(last)
		if err != nil {
			return whole
		}
		if n == 0 {
			return unsatisfiable
		}
		return byteRange{size - min(n, size), size, http.StatusPartialContent}
	}
	start, err := parseDigits(first)
	if err != nil {
		return whole
	}
	end := size
	if last != "" {
		l, err := parseDigits(last)
		if err != nil || l < start {
			return whole
		}
		if l < size-1 {
			end = l + 1
		}
	}
	if start >= size {
		return unsatisfiable
	}
	return byteRange{start, end, http.StatusPartialContent}
}

// parseDigits parses a non-empty run of ASCII digits.
func parseDigits(s string) (int64, error) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, strconv.ErrSyntax
	}
	return strconv.ParseInt(s, 10, 64)
}
