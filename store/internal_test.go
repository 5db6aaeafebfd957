package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/tus/tusd/v2/pkg/handler"
)

func TestPartSizeFor(t *testing.T) {
	s := &Store{cfg: Config{PartSize: DefaultPartSize, maxParts: MaxParts}}
	for _, tc := range []struct {
		size     int64
		deferred bool
		want     int64 // 0: refused
	}{
		{0, false, DefaultPartSize},
		{DefaultPartSize * MaxParts, false, DefaultPartSize},
		{DefaultPartSize*MaxParts + 1, false, 6 << 20},
		{1 << 40, false, 105 << 20},
		{1 << 40, true, DefaultPartSize},
		{MaxUploadSize, false, MaxPartSize},
		{MaxUploadSize + 1, false, 0},
		{1e18, false, 0},
		{1<<63 - 1, false, 0},
		{1<<63 - 1, true, DefaultPartSize},
	} {
		got, ok := s.partSizeFor(tc.size, tc.deferred)
		if got != tc.want || ok != (tc.want != 0) {
			t.Errorf("partSizeFor(%d, %v) = %d, %v; want %d", tc.size, tc.deferred, got, ok, tc.want)
		}
		if got > MaxPartSize {
			t.Errorf("size %d: part size %d over S3's limit", tc.size, got)
		}
		if ok && !tc.deferred && partCount(tc.size, got) > MaxParts {
			t.Errorf("size %d needs %d parts of %d", tc.size, partCount(tc.size, got), got)
		}
	}
}

func TestPartLen(t *testing.T) {
	for _, tc := range []struct{ num, size, ps, want int64 }{
		{1, 10, 4, 4}, {2, 10, 4, 4}, {3, 10, 4, 2}, {1, 4, 4, 4}, {1, 1, 4, 1},
	} {
		if got := partLen(tc.num, tc.size, tc.ps); got != tc.want {
			t.Errorf("partLen(%d, %d, %d) = %d, want %d", tc.num, tc.size, tc.ps, got, tc.want)
		}
	}
}

func TestValidID(t *testing.T) {
	for id, want := range map[string]bool{
		"abc": true, "0123456789abcdef0123456789abcdef": true, "home/alice/x1": true,
		"": false, "a.info": false, "../x": false, "a//b": false, "/a": false, "a b": false,
		"a/": false, "a/b/c/d/e/f/g/h": true, "a/b/c/d/e/f/g/h/i": false,
		strings.Repeat("x", 128): true, strings.Repeat("x", 129): false,
		strings.Repeat(strings.Repeat("x", 63)+"/", 8)[:511]: true,
		"a~b": false, "é": false,
	} {
		if got := validID(id); got != want {
			t.Errorf("validID(%q) = %v, want %v", id, got, want)
		}
	}
}

// TestSpoolErrors: a failing local spool is a 507 when the disk or a quota
// is full, a 503 otherwise, and never a 413 or a generic 500.
func TestSpoolErrors(t *testing.T) {
	s := &Store{cfg: Config{Logger: slog.New(slog.DiscardHandler)}}
	for _, tc := range []struct {
		err  error
		want int
	}{
		{&os.PathError{Op: "write", Path: "/spool/x", Err: syscall.ENOSPC}, http.StatusInsufficientStorage},
		{&os.PathError{Op: "write", Path: "/spool/x", Err: syscall.EDQUOT}, http.StatusInsufficientStorage},
		{&os.PathError{Op: "open", Path: "/spool/x", Err: syscall.EMFILE}, http.StatusServiceUnavailable},
		{&os.PathError{Op: "open", Path: "/spool", Err: syscall.ENOENT}, http.StatusServiceUnavailable},
	} {
		err := s.internal(context.Background(), "write", "id", fmt.Errorf("part 3: %w", spoolErr(tc.err)))
		var herr handler.Error
		if !errors.As(err, &herr) || herr.HTTPResponse.StatusCode != tc.want {
			t.Errorf("%v: %v, want status %d", tc.err, err, tc.want)
		}
	}
	if err := s.internal(context.Background(), "write", "id", syscall.ENOSPC); !errors.Is(err, errInternal) {
		t.Errorf("a backend error: %v, want the generic 500", err)
	}
}

// statusError is an HTTP answer of an object store, as the AWS SDK's
// response errors report it.
type statusError int

func (e statusError) Error() string       { return fmt.Sprintf("http %d", int(e)) }
func (e statusError) HTTPStatusCode() int { return int(e) }

// An object store that cannot be reached or fails on its side is a 503
// the client may retry; its refusals and anything else stay the generic
// 500, never with the backend's words in the body.
func TestStoreUnavailable(t *testing.T) {
	s := &Store{cfg: Config{Logger: slog.New(slog.DiscardHandler)}}
	dial := &net.OpError{Op: "dial", Net: "tcp", Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}}
	for _, tc := range []struct {
		err  error
		want error
	}{
		{fmt.Errorf("upload part 2: %w", dial), errStoreUnavailable},
		{fmt.Errorf("put: %w", &url.Error{Op: "Put", URL: "http://127.0.0.1:9/b/k", Err: syscall.ECONNRESET}), errStoreUnavailable},
		{fmt.Errorf("get: %w", statusError(503)), errStoreUnavailable},
		{fmt.Errorf("get: %w", statusError(500)), errStoreUnavailable},
		{fmt.Errorf("get: %w", fmt.Errorf("no answer (%w): %w", statusError(0), dial)), errStoreUnavailable},
		{fmt.Errorf("put: %w", statusError(403)), errInternal},
		{fmt.Errorf("put: %w", statusError(404)), errInternal},
		{errors.New("decode info: unexpected end of JSON input"), errInternal},
	} {
		if err := s.internal(context.Background(), "write", "id", tc.err); !errors.Is(err, tc.want) {
			t.Errorf("%v: %v, want %v", tc.err, err, tc.want)
		}
	}
}

func TestResolveRange(t *testing.T) {
	const size = 100
	for _, tc := range []struct {
		rng, ifRange string
		want         byteRange
	}{
		{"", "", byteRange{0, size, 200}},
		{"bytes=0-", "", byteRange{0, size, 206}},
		{"bytes=0-99", "", byteRange{0, size, 206}},
		{"bytes=0-1000", "", byteRange{0, size, 206}},
		{"bytes=-100", "", byteRange{0, size, 206}},
		{"bytes=-1000", "", byteRange{0, size, 206}},
		{"bytes=10-19", "", byteRange{10, 20, 206}},
		{"bytes=99-", "", byteRange{99, size, 206}},
		{"bytes=-1", "", byteRange{99, size, 206}},
		{" bytes=1-2", "", byteRange{0, size, 200}},
		{"bytes= 1-2 ", "", byteRange{1, 3, 206}},
		{"bytes=100-", "", byteRange{0, 0, 416}},
		{"bytes=-0", "", byteRange{0, 0, 416}},
		{"bytes=10-19", `"x"`, byteRange{0, size, 200}},
		{"bytes=0-1,5-6", "", byteRange{0, size, 200}},
		{"bytes=5-1", "", byteRange{0, size, 200}},
		{"bytes=a-b", "", byteRange{0, size, 200}},
		{"bytes=+1-2", "", byteRange{0, size, 200}},
		{"bytes=1", "", byteRange{0, size, 200}},
		{"bytes=99999999999999999999-", "", byteRange{0, size, 200}},
		{"pages=1-2", "", byteRange{0, size, 200}},
	} {
		h := http.Header{}
		if tc.rng != "" {
			h.Set("Range", tc.rng)
		}
		if tc.ifRange != "" {
			h.Set("If-Range", tc.ifRange)
		}
		if got := resolveRange(h, size); got != tc.want {
			t.Errorf("Range %q If-Range %q: %+v, want %+v", tc.rng, tc.ifRange, got, tc.want)
		}
	}
	if got := resolveRange(http.Header{"Range": {"bytes=0-"}}, 0); got != (byteRange{0, 0, 200}) {
		t.Errorf("empty object: %+v", got)
	}
}
