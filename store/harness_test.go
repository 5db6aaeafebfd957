package store_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
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
}

func newTestServer(t *testing.T, slots int) *testServer {
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
	st, err := store.New(store.Config{
		Backend: fb, Keyring: kr, PartSize: 5 * mib,
		SpoolDir: t.TempDir(), Limiter: store.NewLimiter(slots),
	})
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
	srv := httptest.NewServer(http.StripPrefix("/files/", store.BodyProbe(h)))
	t.Cleanup(srv.Close)
	return &testServer{URL: srv.URL + "/files/", Dir: dir, Store: st, Backend: fb, Keyring: kr, Client: &tusclient.Client{}}
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
	inflight atomic.Int32
	maxSeen  atomic.Int32
	parts    atomic.Int32
}

func (f *faultBackend) setFailPart(fn func(num int32) error) {
	f.mu.Lock()
	f.failPart = fn
	f.mu.Unlock()
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
