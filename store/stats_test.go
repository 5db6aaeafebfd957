package store_test

import (
	"context"
	"math"
	"testing"

	"github.com/tusvault/tusvault/store"
)

func TestHistogram(t *testing.T) {
	h := store.NewHistogram([]float64{1, 2, 5})
	for _, v := range []float64{0.5, 1, 1.5, 3, 7, 100} {
		h.Observe(v)
	}
	cum, n, sum := h.Snapshot()
	if want := []uint64{2, 3, 4}; !equalUints(cum, want) || n != 6 || math.Abs(sum-113) > 1e-9 {
		t.Fatalf("snapshot %v, %d, %g; want %v, 6, 113", cum, n, sum, want)
	}
}

func equalUints(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// The store counts what it does: bytes encrypted and decrypted, parts,
// finished uploads, backend calls by outcome, and the spool drains.
func TestStatsCount(t *testing.T) {
	ts := newTestServer(t, 4)
	st := ts.Store.Stats()
	data := randomBytes(51, 11*mib)
	u := ts.upload(t, data, 6*mib)
	ts.mustEqual(t, u, data)
	other := len(store.Routes) - 1 // the test server routes nothing
	switch {
	case st.EncryptedBytes.Load() != int64(len(data)):
		t.Errorf("encrypted %d bytes, want %d", st.EncryptedBytes.Load(), len(data))
	case st.DecryptedBytes.Load() != int64(len(data)):
		t.Errorf("decrypted %d bytes, want %d", st.DecryptedBytes.Load(), len(data))
	case st.PartBytes.Load() != int64(len(data)):
		t.Errorf("part bytes %d, want %d", st.PartBytes.Load(), len(data))
	case st.Finished[other].Load() != 1 || st.Active[other].Load() != 0:
		t.Errorf("finished %d, active %d; want 1, 0", st.Finished[other].Load(), st.Active[other].Load())
	case st.SpoolBytes.Load() != 0:
		t.Errorf("spool holds %d bytes after the upload", st.SpoolBytes.Load())
	}
	if _, n, _ := st.PartSeconds.Snapshot(); n != 3 {
		t.Errorf("%d part uploads timed, want 3", n)
	}
	if _, n, _ := ts.Store.Limiter().WaitSeconds().Snapshot(); n != 3 {
		t.Errorf("%d limiter waits timed, want 3", n)
	}
	up := indexOf(store.BackendOps[:], "upload_part")
	if ok := st.Backend[up][0].Load(); ok != 3 {
		t.Errorf("%d upload_part calls ok, want 3", ok)
	}
	head := indexOf(store.BackendOps[:], "head")
	before := st.Backend[head][1].Load()
	if err := ts.Store.Ready(context.Background()); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	if st.Backend[head][1].Load() != before+1 {
		t.Errorf("Ready's probe not counted as a not_found head")
	}
	ts.Backend.setFault(failN("Head", "", 1))
	if err := ts.Store.Ready(context.Background()); err == nil {
		t.Error("Ready with the backend failing: nil")
	}
	ts.Backend.setFault(nil)

}

func indexOf(xs []string, x string) int {
	for i, v := range xs {
		if v == x {
			return i
		}
	}
	return -1
}
