package s3_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/tusvault/tusvault/internal/backendtest"
	"github.com/tusvault/tusvault/internal/s3server"
	"github.com/tusvault/tusvault/store"
)

// fault is what faultTransport does to a failed attempt.
type fault int

const (
	slowDown  fault = iota // answer 503 SlowDown without asking the server
	connReset              // read part of the request body, then fail with ECONNRESET
)

func (f fault) String() string { return [...]string{"503 SlowDown", "connection reset"}[f] }

// faultTransport wraps http.DefaultTransport and fails the first attempts
// of chosen S3 operations. Before failing it reads up to half of the
// request body, as a server that gives up midway does, so that a retry
// that does not rewind the body sends corrupt data.
type faultTransport struct {
	fault fault

	mu       sync.Mutex
	failNext map[string]int // operation → attempts still to fail
	attempts map[string]int // operation → attempts seen
}

func newFaultTransport(f fault, failNext map[string]int) *faultTransport {
	return &faultTransport{fault: f, failNext: failNext, attempts: map[string]int{}}
}

// operation names the S3 operation of an SDK request from its method and
// query, as S3's REST API defines them.
func operation(r *http.Request) string {
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodPut && q.Has("uploadId"):
		return "UploadPart"
	case r.Method == http.MethodPut:
		return "PutObject"
	case r.Method == http.MethodGet && q.Has("uploadId"):
		return "ListParts"
	case r.Method == http.MethodGet && (q.Has("list-type") || q.Has("uploads")):
		return "List"
	case r.Method == http.MethodGet:
		return "GetObject"
	}
	return r.Method
}

func (ft *faultTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	op := operation(r)
	ft.mu.Lock()
	ft.attempts[op]++
	fail := ft.failNext[op] > 0
	if fail {
		ft.failNext[op]--
	}
	ft.mu.Unlock()
	if !fail {
		return http.DefaultTransport.RoundTrip(r)
	}
	if r.Body != nil {
		if r.ContentLength > 0 {
			io.CopyN(io.Discard, r.Body, r.ContentLength/2)
		}
		r.Body.Close()
	}
	if ft.fault == connReset {
		return nil, &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
	}
	body := `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`
	return &http.Response{
		Status:        "503 Service Unavailable",
		StatusCode:    http.StatusServiceUnavailable,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{"Content-Type": {"application/xml"}},
		Body:          io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       r,
	}, nil
}

func (ft *faultTransport) seen(op string) int {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	return ft.attempts[op]
}

// TestRetries fails the first two attempts of PutObject, UploadPart and
// GetObject: each operation still succeeds through the SDK's retries, with
// the data byte-exact, and the API call log shows the attempts.
func TestRetries(t *testing.T) {
	srv := s3server.Start(t)
	for _, f := range []fault{slowDown, connReset} {
		t.Run(f.String(), func(t *testing.T) {
			ctx := t.Context()
			const failures = 2
			ft := newFaultTransport(f, map[string]int{"PutObject": failures, "UploadPart": failures})
			var logs bytes.Buffer
			cfg := config(srv, srv.NewBucket(t))
			cfg.HTTPClient = &http.Client{Transport: ft}
			cfg.LogAPICalls = true
			cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			b := newBackend(t, cfg)

			small := backendtest.RandomBytes(10, 300*backendtest.KiB)
			if err := b.Put(ctx, "obj", bytes.NewReader(small), int64(len(small))); err != nil {
				t.Fatalf("Put: %v", err)
			}
			id, err := b.CreateMultipart(ctx, "mp", nil)
			if err != nil {
				t.Fatal(err)
			}
			part := backendtest.RandomBytes(11, backendtest.MinPartSize)
			p, err := b.UploadPart(ctx, "mp", id, 1, bytes.NewReader(part), int64(len(part)))
			if err != nil {
				t.Fatalf("UploadPart: %v", err)
			}
			if err := b.CompleteMultipart(ctx, "mp", id, []store.Part{p}); err != nil {
				t.Fatal(err)
			}
			for op, want := range map[string]int{"PutObject": failures + 1, "UploadPart": failures + 1} {
				if got := ft.seen(op); got != want {
					t.Errorf("%s: %d attempts, want %d", op, got, want)
				}
			}

			ft.mu.Lock()
			ft.failNext["GetObject"] = failures
			ft.mu.Unlock()
			if got := string(backendtest.Get(t, b, "obj", 0, -1)); got != string(small) {
				t.Errorf("Put object read back differs (%d bytes, want %d)", len(got), len(small))
			}
			ft.mu.Lock()
			ft.failNext["GetObject"] = failures
			ft.mu.Unlock()
			if got := string(backendtest.Get(t, b, "mp", 0, -1)); got != string(part) {
				t.Errorf("multipart object read back differs (%d bytes, want %d)", len(got), len(part))
			}
			if got := ft.seen("GetObject"); got != 2*(failures+1) {
				t.Errorf("GetObject: %d attempts, want %d", got, 2*(failures+1))
			}

			log := logs.String()
			for _, op := range []string{"PutObject", "UploadPart", "GetObject"} {
				if want := fmt.Sprintf("op=%s duration=", op); !strings.Contains(log, want) {
					t.Errorf("API call log lacks %q:\n%s", want, log)
				}
			}
			if !strings.Contains(log, "level=INFO msg=\"s3 call\" op=PutObject") || !strings.Contains(log, "attempts=3 outcome=ok") {
				t.Errorf("API call log does not show PutObject's retries at info level:\n%s", log)
			}
			if strings.Contains(log, srv.SecretKey) || strings.Contains(log, srv.AccessKey) {
				t.Errorf("API call log shows credentials:\n%s", log)
			}
		})
	}
}

// TestRetriesExhausted: when every attempt fails, the operation fails with
// an error that is not "not found", after MaxAttempts attempts.
func TestRetriesExhausted(t *testing.T) {
	srv := s3server.Start(t)
	ft := newFaultTransport(slowDown, map[string]int{"PutObject": 100})
	cfg := config(srv, srv.Bucket)
	cfg.HTTPClient = &http.Client{Transport: ft}
	cfg.MaxAttempts = 3
	b := newBackend(t, cfg)
	err := b.Put(t.Context(), "obj", strings.NewReader("x"), 1)
	if err == nil || errors.Is(err, store.ErrObjectNotFound) {
		t.Fatalf("Put through a failing service: %v, want an error", err)
	}
	if !strings.Contains(err.Error(), "SlowDown") {
		t.Errorf("error %q does not say SlowDown", err)
	}
	if got := ft.seen("PutObject"); got != 3 {
		t.Errorf("%d attempts, want MaxAttempts = 3", got)
	}
}
