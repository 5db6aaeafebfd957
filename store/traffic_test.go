package store_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/tusvault/tusvault/store"
)

// trafficSize is the upload of the traffic table (24 MiB).
const trafficSize = 24 * mib

// uploadTraffic uploads trafficSize bytes in PATCHes of patch bytes and
// downloads them once through a store of the default part size, and
// returns the bytes moved to and from the object store per uploaded byte
// (object bodies, .info included).
func uploadTraffic(t *testing.T, patch int) float64 {
	t.Helper()
	var cb *countBackend
	ts := newTestServerWith(t, 4, func(c *store.Config) {
		cb = &countBackend{Backend: c.Backend}
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
