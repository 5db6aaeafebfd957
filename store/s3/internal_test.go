package s3

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/tusvault/tusvault/store"
)

func TestHTTPRange(t *testing.T) {
	for _, tc := range []struct {
		off, length int64
		want        string
	}{
		{0, -1, ""},
		{5, -1, "bytes=5-"},
		{0, 1, "bytes=0-0"},
		{0, 100, "bytes=0-99"},
		{4000, 1234, "bytes=4000-5233"},
		{1 << 40, 1, "bytes=1099511627776-1099511627776"},
	} {
		if got := httpRange(tc.off, tc.length); got != tc.want {
			t.Errorf("httpRange(%d, %d) = %q, want %q", tc.off, tc.length, got, tc.want)
		}
	}
}

func TestWindow(t *testing.T) {
	data := []byte("0123456789abcdef")
	r := bytes.NewReader(data)
	r.Seek(3, io.SeekStart) // the window starts where the reader is
	w, err := newWindow(r, 10)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // a retry rewinds and reads the same bytes
		got, err := io.ReadAll(w)
		if err != nil || string(got) != "3456789abc" {
			t.Fatalf("ReadAll = %q, %v; want 3456789abc", got, err)
		}
		if n, err := w.Seek(0, io.SeekEnd); n != 10 || err != nil {
			t.Errorf("Seek(0, End) = %d, %v; want 10", n, err)
		}
		if _, err := w.Seek(0, io.SeekStart); err != nil {
			t.Fatal(err)
		}
	}
	w.Seek(4, io.SeekStart)
	w.Seek(2, io.SeekCurrent)
	if got, _ := io.ReadAll(w); string(got) != "9abc" {
		t.Errorf("after Seek(4)+Seek(2, Current): %q, want 9abc", got)
	}
	if _, err := w.Seek(-1, io.SeekStart); err == nil {
		t.Error("Seek to -1 succeeded")
	}

	short, _ := newWindow(strings.NewReader("abc"), 5)
	if _, err := io.ReadAll(short); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("short body: %v, want io.ErrUnexpectedEOF", err)
	}
	if _, err := newWindow(strings.NewReader(""), -1); err == nil {
		t.Error("negative size accepted")
	}
}

func TestNormalizeEndpoint(t *testing.T) {
	for _, tc := range []struct {
		in         string
		disableSSL bool
		want       string
	}{
		{"http://127.0.0.1:7070", false, "http://127.0.0.1:7070"},
		{"https://s3.wasabisys.com/", false, "https://s3.wasabisys.com"},
		{"minio:9000", false, "https://minio:9000"},
		{"minio:9000", true, "http://minio:9000"},
		{"https://host", true, "https://host"},
		{"ftp://host", false, ""},
		{"http://", false, ""},
		{"http://user:secret@host", false, ""},
	} {
		got, err := normalizeEndpoint(tc.in, tc.disableSSL)
		if got != tc.want || (err != nil) != (tc.want == "") {
			t.Errorf("normalizeEndpoint(%q, %v) = %q, %v; want %q", tc.in, tc.disableSSL, got, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("error shows the endpoint: %v", err)
		}
	}
}

// apiErr builds an SDK-like error with an S3 code and an HTTP status.
func apiErr(code string, status int) error {
	var err error = &smithy.GenericAPIError{Code: code, Message: "msg"}
	if code == "" {
		err = errors.New("no body")
	}
	return fmt.Errorf("operation error S3: X: %w", &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
		Err:      err,
	})
}

func TestErrorTranslation(t *testing.T) {
	for _, tc := range []struct {
		err                error
		notFound, badRange bool
	}{
		{apiErr("NoSuchKey", 404), true, false},
		{apiErr("NoSuchUpload", 404), true, false},
		{apiErr("NotFound", 404), true, false},
		{apiErr("", 404), true, false},
		{apiErr("NoSuchBucket", 404), false, false},
		{apiErr("InvalidRange", 416), false, true},
		{apiErr("", 416), false, true},
		{apiErr("SlowDown", 503), false, false},
		{apiErr("AccessDenied", 403), false, false},
		{errors.New("dial tcp: connection refused"), false, false},
	} {
		if got := isNotFound(tc.err); got != tc.notFound {
			t.Errorf("isNotFound(%v) = %v", tc.err, got)
		}
		if got := isInvalidRange(tc.err); got != tc.badRange {
			t.Errorf("isInvalidRange(%v) = %v", tc.err, got)
		}
		err := fail("get", "k", tc.err)
		if errors.Is(err, store.ErrObjectNotFound) != tc.notFound || !errors.Is(err, tc.err) {
			t.Errorf("fail(%v) = %v: not-found %v, want %v, and the SDK error in the chain", tc.err, err, !tc.notFound, tc.notFound)
		}
	}
	if err := fail("head", "a/b", apiErr("NoSuchKey", 404)); err.Error() != `s3: head "a/b": object not found` {
		t.Errorf("not-found message = %q", err)
	}
}

func TestCheckMeta(t *testing.T) {
	good := map[string]string{"tusvault-format": "1", "Tusvault-Kid": "k1", "x": "a b=c/d+e"}
	if err := checkMeta(good); err != nil {
		t.Errorf("checkMeta(%v): %v", good, err)
	}
	for _, bad := range []map[string]string{
		{"": "x"}, {"a b": "x"}, {"a:b": "x"}, {"é": "x"}, {"k": "é"}, {"k": "a\r\nb"}, {"k": "\x00"},
	} {
		if err := checkMeta(bad); err == nil {
			t.Errorf("checkMeta(%q) accepted", bad)
		}
	}
}

func TestValidateDefaults(t *testing.T) {
	cfg, err := Config{Bucket: "b"}.validate()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MaxAttempts != DefaultMaxAttempts || cfg.MaxBackoff != DefaultMaxBackoff ||
		cfg.CheckTimeout != DefaultCheckTimeout || cfg.Logger == nil {
		t.Errorf("defaults not filled in: %+v", cfg)
	}
}
