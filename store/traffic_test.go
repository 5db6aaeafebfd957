package store_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/tusvault/tusvault/store"
)

// countingBackend counts the bytes that go to and come from a Backend:
// the bodies of Put and UploadPart, and what is read of each Get.
type countingBackend struct {
	store.Backend
	up, down atomic.Int64
}

func (c *countingBackend) Put(ctx context.Context, key string, body io.ReadSeeker, size int64) error {
	c.up.Add(size)
	return c.Backend.Put(ctx, key, body, size)
}

func (c *countingBackend) UploadPart(ctx context.Context, key, id string, num int32, body io.ReadSeeker, size int64) (store.Part, error) {
	c.up.Add(size)
	return c.Backend.UploadPart(ctx, key, id, num, body, size)
}

func (c *countingBackend) Get(ctx context.Context, key string, off, length int64) (io.ReadCloser, error) {
	rc, err := c.Backend.Get(ctx, key, off, length)
	if err != nil {
		return nil, err
	}
	return &countingReader{ReadCloser: rc, n: &c.down}, nil
}

type countingReader struct {
	io.ReadCloser
	n *atomic.Int64
}

func (r *countingReader) Read(p []byte) (int, error) {
	k, err := r.ReadCloser.Read(p)
	r.n.Add(int64(k))
	return k, err
}

// trafficSize is the upload of the traffic table (24 MiB).
const trafficSize = 24 * mib

// uploadTraffic uploads trafficSize bytes in PATCHes of patch bytes and
// downloads them once through a store of the default part size, and
// returns the bytes moved to and from the object store per uploaded byte
// (object bodies, .info included).
func uploadTraffic(t *testing.T, patch int) float64 {
	t.Helper()
	var cb *countingBackend
	ts := newTestServerWith(t, 4, func(c *store.Config) {
		cb = &countingBackend{Backend: c.Backend}
		c.Backend, c.PartSize = cb, 0
	})
	data := randomBytes(uint64(patch), trafficSize)
	u := ts.upload(t, data, patch)
	status, got, _, err := ts.Client.Get(context.Background(), u, "")
	if err != nil || status != http.StatusOK || string(got) != string(data) {
		t.Fatalf("GET: status %d, err %v, %d bytes", status, err, len(got))
	}
	return float64(cb.up.Load()+cb.down.Load()) / trafficSize
}

// Small PATCHes cost about what they carry (issue 12): at most 3.2
// bytes of object-store traffic per uploaded byte, one verifying GET
// included, from 256 KiB PATCHes up. Byte counts do not depend on
// timing, so this is a bound, not a benchmark.
func TestTrafficPerByte(t *testing.T) {
	for _, patch := range []int{5 * mib, 1 * mib, 256 << 10} {
		t.Run(fmt.Sprintf("%dKiB", patch>>10), func(t *testing.T) {
			ratio := uploadTraffic(t, patch)
			t.Logf("24 MiB in %d KiB PATCHes: %.2f bytes of object-store traffic per uploaded byte", patch>>10, ratio)
			if ratio > 3.2 {
				t.Errorf("%.2f bytes per byte, want at most 3.2", ratio)
			}
		})
	}
}
