package s3e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	xslog "golang.org/x/exp/slog"

	"github.com/tus/tusd/v2/pkg/handler"

	"github.com/tusvault/tusvault/internal/backendtest"
	"github.com/tusvault/tusvault/internal/s3server"
	"github.com/tusvault/tusvault/internal/tusclient"
	"github.com/tusvault/tusvault/store"
	"github.com/tusvault/tusvault/store/crypt"
	"github.com/tusvault/tusvault/store/s3"
)

const mib = 1 << 20

// rig is the store on versitygw behind tusd's handler on loopback.
type rig struct {
	URL     string
	S3      *s3server.Server
	Backend *s3.Backend
	Store   *store.Store
	Wire    *wire
	Client  *tusclient.Client
}

type rigOptions struct {
	slots       int
	partSize    int64
	maxAttempts int
	faults      func(op string, n int) fault
}

func newRig(t *testing.T, o rigOptions) *rig {
	t.Helper()
	srv := s3server.Start(t)
	w := &wire{next: http.DefaultTransport, faults: o.faults, counts: map[string]int{}}
	b, err := s3.New(context.Background(), s3.Config{
		Bucket: srv.Bucket, Endpoint: srv.Endpoint, Region: srv.Region,
		Credentials: srv.Credentials(), HTTPClient: &http.Client{Transport: w},
		MaxAttempts: o.maxAttempts, MaxBackoff: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	kr, err := crypt.NewKeyring()
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.New(store.Config{
		Backend: b, Keyring: kr, PartSize: o.partSize, SpoolDir: t.TempDir(),
		Limiter: store.NewLimiter(o.slots), StorageType: "s3", Bucket: srv.Bucket,
	})
	if err != nil {
		t.Fatal(err)
	}
	composer := handler.NewStoreComposer()
	st.UseIn(composer)
	h, err := handler.NewHandler(handler.Config{
		BasePath: "/files/", StoreComposer: composer, DisableConcatenation: true,
		Logger: quietLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(http.StripPrefix("/files/", h))
	t.Cleanup(hs.Close)
	return &rig{URL: hs.URL + "/files/", S3: srv, Backend: b, Store: st, Wire: w, Client: &tusclient.Client{}}
}

// multipartID reads an upload's multipart id from its .info in the bucket.
func (r *rig) multipartID(t *testing.T, id string) string {
	t.Helper()
	rc, err := r.Backend.Get(context.Background(), id+".info", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var info struct{ MultipartID string }
	if err := json.NewDecoder(rc).Decode(&info); err != nil {
		t.Fatal(err)
	}
	return info.MultipartID
}

// mustEqual downloads u whole and compares it with want.
func (r *rig) mustEqual(t *testing.T, u string, want []byte) {
	t.Helper()
	status, got, _, err := r.Client.Get(context.Background(), u, "")
	if err != nil || status != http.StatusOK {
		t.Fatalf("GET: status %d, err %v", status, err)
	}
	if string(got) != string(want) {
		t.Fatalf("GET returned %d bytes that differ from the %d uploaded", len(got), len(want))
	}
}

// fault is what the wire does to one S3 request.
type fault int

const (
	pass    fault = iota
	fail503       // answer 503 SlowDown without reaching S3
	cut           // read part of the body, then fail like a reset connection
	delay         // wait 200ms, then pass
)

// wire is an http.RoundTripper between the backend and S3 that classifies
// requests, counts UploadParts in flight, and injects faults.
type wire struct {
	next     http.RoundTripper
	faults   func(op string, n int) fault
	mu       sync.Mutex
	counts   map[string]int
	inflight atomic.Int32
	maxParts atomic.Int32
}

// op names the S3 operation of a request.
func op(r *http.Request) string {
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodPut && q.Has("partNumber"):
		return "UploadPart"
	case r.Method == http.MethodPut:
		return "PutObject"
	case r.Method == http.MethodGet && strings.Count(strings.Trim(r.URL.Path, "/"), "/") >= 1 && !q.Has("uploadId"):
		return "GetObject"
	}
	return r.Method
}

func (w *wire) RoundTrip(r *http.Request) (*http.Response, error) {
	name := op(r)
	w.mu.Lock()
	w.counts[name]++
	n := w.counts[name]
	w.mu.Unlock()
	f := pass
	if w.faults != nil {
		f = w.faults(name, n)
	}
	switch f {
	case fail503:
		if r.Body != nil {
			io.Copy(io.Discard, r.Body)
			r.Body.Close()
		}
		return &http.Response{
			StatusCode: http.StatusServiceUnavailable, Status: "503 Slow Down",
			Header:  http.Header{"Content-Type": {"application/xml"}},
			Body:    io.NopCloser(strings.NewReader(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`)),
			Request: r, ProtoMajor: 1, ProtoMinor: 1,
		}, nil
	case cut:
		if r.Body != nil {
			io.CopyN(io.Discard, r.Body, 1000)
			r.Body.Close()
		}
		return nil, &netError{"read: connection reset by peer"}
	case delay:
		time.Sleep(200 * time.Millisecond)
	}
	if name == "UploadPart" {
		n := w.inflight.Add(1)
		defer w.inflight.Add(-1)
		for m := w.maxParts.Load(); n > m && !w.maxParts.CompareAndSwap(m, n); m = w.maxParts.Load() {
		}
	}
	return w.next.RoundTrip(r)
}

func (w *wire) count(op string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.counts[op]
}

type netError struct{ s string }

func (e *netError) Error() string   { return e.s }
func (e *netError) Timeout() bool   { return false }
func (e *netError) Temporary() bool { return true }

// randomBytes returns n deterministic pseudo-random bytes.
var randomBytes = backendtest.RandomBytes

func quietLogger() *xslog.Logger { return xslog.New(xslog.NewTextHandler(io.Discard, nil)) }
