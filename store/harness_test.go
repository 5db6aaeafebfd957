package store_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tus/tusd/v2/pkg/handler"

	"github.com/tusvault/tusvault/internal/backendtest"
	"github.com/tusvault/tusvault/internal/tusclient"
	"github.com/tusvault/tusvault/store"
	"github.com/tusvault/tusvault/store/crypt"
	"github.com/tusvault/tusvault/store/disk"
)

const mib = 1 << 20

// testServer is a tusd handler over the store, served on loopback.
type testServer struct {
	URL     string
	Dir     string
	Store   *store.Store
	Backend *faultBackend
	Keyring *crypt.Keyring
	Client  *tusclient.Client
	// completed records the uploads the store reported through
	// Config.OnComplete.
	completed *recorder
}

// recorder collects ids, safe for concurrent use.
type recorder struct {
	mu  sync.Mutex
	ids []string
}

func (r *recorder) add(id string) {
	r.mu.Lock()
	r.ids = append(r.ids, id)
	r.mu.Unlock()
}

// count is how often id was recorded.
func (r *recorder) count(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, x := range r.ids {
		if x == id {
			n++
		}
	}
	return n
}

func newTestServer(t *testing.T, slots int) *testServer {
	t.Helper()
	return newTestServerWith(t, slots, nil)
}

// newTestServerWith is newTestServer with the store's config edited by
// edit, if not nil.
func newTestServerWith(t *testing.T, slots int, edit func(*store.Config)) *testServer {
	t.Helper()
	dir := t.TempDir()
	b, err := disk.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	kr, err := crypt.NewKeyring()
	if err != nil {
		t.Fatal(err)
	}
	fb := &faultBackend{Backend: b}
	done := &recorder{}
	cfg := store.Config{
		Backend: fb, Keyring: kr, PartSize: 5 * mib,
		SpoolDir: t.TempDir(), Limiter: store.NewLimiter(slots),
		OnComplete: func(_ context.Context, fi handler.FileInfo) { done.add(fi.ID) },
	}
	if edit != nil {
		edit(&cfg)
	}
	st, err := store.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	composer := handler.NewStoreComposer()
	st.UseIn(composer)
	h, err := handler.NewHandler(handler.Config{
		BasePath: "/files/", StoreComposer: composer, DisableConcatenation: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.StripPrefix("/files/", h))
	t.Cleanup(srv.Close)
	return &testServer{URL: srv.URL + "/files/", Dir: dir, Store: st, Backend: fb, Keyring: kr, Client: &tusclient.Client{}, completed: done}
}

// upload creates and fully uploads data in the given pieces.
func (ts *testServer) upload(t *testing.T, data []byte, pieces ...int) string {
	t.Helper()
	ctx := context.Background()
	u, err := ts.Client.Create(ctx, ts.URL, int64(len(data)), map[string]string{"filename": "a.bin"})
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.Client.Upload(ctx, u, data, pieces); err != nil {
		t.Fatal(err)
	}
	return u
}

// get downloads the whole upload and fails the test unless it equals want.
func (ts *testServer) mustEqual(t *testing.T, u string, want []byte) {
	t.Helper()
	status, got, _, err := ts.Client.Get(context.Background(), u, "")
	if err != nil || status != http.StatusOK {
		t.Fatalf("GET: status %d, err %v", status, err)
	}
	if string(got) != string(want) {
		t.Fatalf("GET returned %d bytes that differ from the %d uploaded", len(got), len(want))
	}
}

// randomBytes returns n deterministic pseudo-random bytes.
var randomBytes = backendtest.RandomBytes

// faultBackend wraps a Backend to inject failures and to count the part
// uploads in flight.
type faultBackend struct {
	store.Backend
	mu sync.Mutex
	// failPart, when set, may fail an UploadPart before it reaches the
	// backend.
	failPart func(num int32) error
	// fault, when set, may fail any other call before it reaches the
	// backend: op is the method's name, key its object key.
	fault    func(op, key string) error
	inflight atomic.Int32
	maxSeen  atomic.Int32
	parts    atomic.Int32
}

func (f *faultBackend) setFailPart(fn func(num int32) error) {
	f.mu.Lock()
	f.failPart = fn
	f.mu.Unlock()
}

func (f *faultBackend) setFault(fn func(op, key string) error) {
	f.mu.Lock()
	f.fault = fn
	f.mu.Unlock()
}

// failN returns a fault that fails op on key (any key when "") n times.
func failN(op, key string, n int) func(string, string) error {
	var left atomic.Int32
	left.Store(int32(n))
	return func(o, k string) error {
		if o == op && (key == "" || k == key) && left.Add(-1) >= 0 {
			return errors.New("injected " + op + " failure")
		}
		return nil
	}
}

func (f *faultBackend) check(op, key string) error {
	f.mu.Lock()
	fault := f.fault
	f.mu.Unlock()
	if fault == nil {
		return nil
	}
	return fault(op, key)
}

func (f *faultBackend) Get(ctx context.Context, key string, off, length int64) (io.ReadCloser, error) {
	if err := f.check("Get", key); err != nil {
		return nil, err
	}
	return f.Backend.Get(ctx, key, off, length)
}

func (f *faultBackend) Put(ctx context.Context, key string, body io.ReadSeeker, size int64) error {
	if err := f.check("Put", key); err != nil {
		return err
	}
	return f.Backend.Put(ctx, key, body, size)
}

func (f *faultBackend) Head(ctx context.Context, key string) (store.ObjectInfo, error) {
	if err := f.check("Head", key); err != nil {
		return store.ObjectInfo{}, err
	}
	return f.Backend.Head(ctx, key)
}

func (f *faultBackend) Delete(ctx context.Context, key string) error {
	if err := f.check("Delete", key); err != nil {
		return err
	}
	return f.Backend.Delete(ctx, key)
}

func (f *faultBackend) ListParts(ctx context.Context, key, id string) ([]store.Part, error) {
	if err := f.check("ListParts", key); err != nil {
		return nil, err
	}
	return f.Backend.ListParts(ctx, key, id)
}

func (f *faultBackend) CompleteMultipart(ctx context.Context, key, id string, parts []store.Part) error {
	if err := f.check("CompleteMultipart", key); err != nil {
		return err
	}
	return f.Backend.CompleteMultipart(ctx, key, id, parts)
}

func (f *faultBackend) AbortMultipart(ctx context.Context, key, id string) error {
	if err := f.check("AbortMultipart", key); err != nil {
		return err
	}
	return f.Backend.AbortMultipart(ctx, key, id)
}

func (f *faultBackend) UploadPart(ctx context.Context, key, id string, num int32, body io.ReadSeeker, size int64) (store.Part, error) {
	f.mu.Lock()
	fail := f.failPart
	f.mu.Unlock()
	if fail != nil {
		if err := fail(num); err != nil {
			return store.Part{}, err
		}
	}
	n := f.inflight.Add(1)
	defer f.inflight.Add(-1)
	for {
		m := f.maxSeen.Load()
		if n <= m || f.maxSeen.CompareAndSwap(m, n) {
			break
		}
	}
	f.parts.Add(1)
	return f.Backend.UploadPart(ctx, key, id, num, body, size)
}

func (f *faultBackend) ListMultipartUploads(ctx context.Context, prefix string, fn func(key, id string, initiated time.Time) error) error {
	return f.Backend.(store.MultipartLister).ListMultipartUploads(ctx, prefix, fn)
}

// fragmentFiles lists the tail fragment files of upload id in a disk
// backend's directory.
func fragmentFiles(t *testing.T, dir, id string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, id+".part.*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// declareLength sends the data-less PATCH at off that declares a deferred
// length of off bytes and returns its status.
func declareLength(t *testing.T, ts *testServer, u string, off int64) int {
	t.Helper()
	req, err := ts.Client.NewRequest(context.Background(), http.MethodPatch, u, http.NoBody)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = 0
	req.Header.Set("Content-Type", tusclient.ContentTypeOffset)
	req.Header.Set("Upload-Offset", fmt.Sprint(off))
	req.Header.Set("Upload-Length", fmt.Sprint(off))
	resp, err := ts.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
