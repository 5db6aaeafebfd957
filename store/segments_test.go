package store_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tusvault/tusvault/internal/tusclient"
	"github.com/tusvault/tusvault/store"
)

// newCountingServer is a test server whose backend counts, with segment
// pages of pageLen segments (negative: the v1 layout, no pages).
func newCountingServer(t *testing.T, pageLen int) (*testServer, *countBackend) {
	t.Helper()
	var cb *countBackend
	ts := newTestServerWith(t, 2, func(c *store.Config) {
		cb = &countBackend{Backend: c.Backend}
		c.Backend = cb
		store.SetPageLen(c, pageLen)
	})
	return ts, cb
}

// storedInfo is the part of a stored .info these tests look at.
type storedInfo struct {
	Offset int64
	Enc    struct {
		Layout, Pages, Paged int
		Committed            int64
		Segments             []struct{ Off int64 }
		Tag                  []byte
	}
}

func readStoredInfo(t *testing.T, ts *testServer, id string) storedInfo {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(ts.Dir, id+".info"))
	if err != nil {
		t.Fatal(err)
	}
	var info storedInfo
	if err := json.Unmarshal(raw, &info); err != nil {
		t.Fatal(err)
	}
	return info
}

// pageFiles lists the segment pages of id on disk.
func pageFiles(t *testing.T, ts *testServer, id string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(ts.Dir, id+".segs.*"))
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// The history test's shape: PATCHes of patchSize bytes, historyParts
// parts of 5 MiB, segment pages of historyPageLen segments.
const (
	patchSize      = 512 << 10
	patchesPerPart = 5 * mib / patchSize
	historyParts   = 6
	historyPageLen = 4
)

// patchAll uploads data in PATCHes of patchSize, returning what each
// request (tusd's GetUpload and WriteChunk, FinishUpload at the end) cost.
func patchAll(t *testing.T, ts *testServer, cb *countBackend, data []byte) (string, []requestCost) {
	t.Helper()
	ctx := context.Background()
	u, err := ts.Client.Create(ctx, ts.URL, int64(len(data)), nil)
	if err != nil {
		t.Fatal(err)
	}
	var costs []requestCost
	for off := int64(0); off < int64(len(data)); off += patchSize {
		end := min(off+patchSize, int64(len(data)))
		before := cb.snap()
		if _, err := ts.Client.Patch(ctx, u, off, bytes.NewReader(data[off:end]), end-off); err != nil {
			t.Fatal(err)
		}
		costs = append(costs, cb.since(before))
	}
	return u, costs
}

// maxCost is the most .info bytes and backend requests of one request in
// costs.
func maxCost(costs []requestCost) (requests, infoBytes int64) {
	for _, c := range costs {
		requests, infoBytes = max(requests, c.requests), max(infoBytes, c.infoBytes())
	}
	return requests, infoBytes
}

// TestInfoCostIndependentOfHistory checks that a PATCH late in an upload's
// history moves no more .info bytes, and makes no more backend requests,
// than one in its first part (plus one page's worth of segments): the
// segments of committed parts go to pages. The same upload in the v1
// layout shows the growth the test is there to catch. Deterministic: it
// counts bytes, it does not time.
func TestInfoCostIndependentOfHistory(t *testing.T) {
	data := randomBytes(77, historyParts*5*mib+1234)
	// One .info segment is about 70 bytes of JSON; a PATCH reads .info
	// once and writes it two or three times.
	const slack = historyPageLen * 70 * 4
	for _, tc := range []struct {
		name    string
		pageLen int
		bounded bool
	}{
		{"paged", historyPageLen, true},
		{"v1", -1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts, cb := newCountingServer(t, tc.pageLen)
			u, costs := patchAll(t, ts, cb, data)
			firstReq, firstInfo := maxCost(costs[:patchesPerPart])
			lateReq, lateInfo := maxCost(costs[len(costs)-2*patchesPerPart : len(costs)-1])
			t.Logf("%d PATCHes; first part: %d .info bytes and %d requests per PATCH at most; last parts: %d and %d",
				len(costs), firstInfo, firstReq, lateInfo, lateReq)
			if bounded := lateInfo <= firstInfo+slack; bounded != tc.bounded {
				t.Errorf(".info bytes per PATCH: %d late in the history, %d in the first part (bounded: %v, want %v)", lateInfo, firstInfo, bounded, tc.bounded)
			}
			if tc.bounded && lateReq > firstReq+1 {
				t.Errorf("backend requests per PATCH: %d late in the history, %d in the first part", lateReq, firstReq)
			}
			id := tusclient.UploadID(u)
			info := readStoredInfo(t, ts, id)
			if info.Enc.Tag == nil || info.Enc.Layout != 0 || info.Enc.Pages != 0 || len(info.Enc.Segments) != len(costs) {
				t.Errorf("finished .info: layout %d, %d pages, %d segments, tag %v; want the v1 layout with all %d segments",
					info.Enc.Layout, info.Enc.Pages, len(info.Enc.Segments), info.Enc.Tag != nil, len(costs))
			}
			if p := pageFiles(t, ts, id); len(p) != 0 {
				t.Errorf("segment pages left after completion: %v", p)
			}
			ts.mustEqual(t, u, data)
		})
	}
}

// sendPart creates an upload of size bytes and sends data, its first
// bytes, in PATCHes of patchSize. It returns the upload's URL and id.
func sendPart(t *testing.T, ts *testServer, size int64, data []byte) (string, string) {
	t.Helper()
	ctx := context.Background()
	u, err := ts.Client.Create(ctx, ts.URL, size, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.Client.UploadFrom(ctx, u, data, 0, []int{patchSize}); err != nil {
		t.Fatal(err)
	}
	return u, tusclient.UploadID(u)
}

// TestPagesWhileUnfinished checks the unfinished paged layout: .info
// keeps the segments from the committed end on, the pages hold the rest,
// and removal deletes them.
func TestPagesWhileUnfinished(t *testing.T) {
	ts, _ := newCountingServer(t, historyPageLen)
	ctx := context.Background()
	data := randomBytes(78, 4*5*mib)
	u, id := sendPart(t, ts, int64(len(data))+1, data)
	info := readStoredInfo(t, ts, id)
	n := len(data) / patchSize
	if info.Enc.Layout != 2 || info.Enc.Pages == 0 || info.Enc.Paged != info.Enc.Pages*historyPageLen ||
		info.Enc.Paged+len(info.Enc.Segments) != n || len(info.Enc.Segments) > historyPageLen {
		t.Fatalf("after %d PATCHes: layout %d, %d pages of %d segments, %d in .info", n, info.Enc.Layout, info.Enc.Pages, info.Enc.Paged, len(info.Enc.Segments))
	}
	if p := pageFiles(t, ts, id); len(p) != info.Enc.Pages {
		t.Fatalf("%d page objects, .info counts %d", len(p), info.Enc.Pages)
	}
	if err := ts.Client.Delete(ctx, u); err != nil {
		t.Fatal(err)
	}
	if p := pageFiles(t, ts, id); len(p) != 0 {
		t.Errorf("segment pages left after termination: %v", p)
	}
}

// TestV1UploadResumesPaged checks that an unfinished upload stored in the
// v1 layout (every segment in .info) resumes under a store that pages,
// pages from then on, and completes to the right object.
func TestV1UploadResumesPaged(t *testing.T) {
	ts, _ := newCountingServer(t, -1)
	ctx := context.Background()
	data := randomBytes(79, 4*5*mib+77)
	u, id := sendPart(t, ts, int64(len(data)), data[:2*5*mib])
	// The tail as layout 1 stored it, in <key>.part.
	if err := store.WriteLayout1Tail(ts.Store, id, 2*5*mib, data[2*5*mib:2*5*mib+patchSize]); err != nil {
		t.Fatal(err)
	}
	if info := readStoredInfo(t, ts, id); info.Enc.Layout != 0 || info.Enc.Pages != 0 {
		t.Fatalf("the v1 store wrote layout %d with %d pages", info.Enc.Layout, info.Enc.Pages)
	}
	// Another store, which pages, over the same objects.
	cfg := store.Config{Backend: ts.Backend, Keyring: ts.Keyring, PartSize: 5 * mib, SpoolDir: t.TempDir()}
	store.SetPageLen(&cfg, historyPageLen)
	st, err := store.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	off := int64(2*5*mib + patchSize)
	for ; off < 3*5*mib+patchSize; off += patchSize {
		up, err := st.GetUpload(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := up.WriteChunk(ctx, off, bytes.NewReader(data[off:off+patchSize])); err != nil {
			t.Fatal(err)
		}
	}
	info := readStoredInfo(t, ts, id)
	if info.Enc.Layout != 2 || info.Enc.Pages == 0 || len(info.Enc.Segments) > historyPageLen {
		t.Fatalf("after resuming: layout %d, %d pages, %d segments in .info", info.Enc.Layout, info.Enc.Pages, len(info.Enc.Segments))
	}
	if err := ts.Client.UploadFrom(ctx, u, data, off, []int{patchSize}); err != nil {
		t.Fatal(err)
	}
	ts.mustEqual(t, u, data)
	if p := pageFiles(t, ts, id); len(p) != 0 {
		t.Errorf("segment pages left after completion: %v", p)
	}
}

// TestAlteredPageRefused checks that completion refuses a segment page
// the storage provider altered, swapped or dropped, and succeeds once the
// genuine page is back.
func TestAlteredPageRefused(t *testing.T) {
	ts, _ := newCountingServer(t, historyPageLen)
	ctx := context.Background()
	data := randomBytes(80, 4*5*mib+5)
	last := int64(len(data) - 5)
	u, id := sendPart(t, ts, int64(len(data)), data[:last])
	if info := readStoredInfo(t, ts, id); info.Enc.Pages < 2 {
		t.Fatalf("%d pages, want at least 2", info.Enc.Pages)
	}
	page := func(n string) string { return filepath.Join(ts.Dir, id+".segs."+n) }
	p0, err := os.ReadFile(page("0"))
	if err != nil {
		t.Fatal(err)
	}
	p1, err := os.ReadFile(page("1"))
	if err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(p0)
	flipped[len(flipped)/2] ^= 1
	for i, tc := range []struct {
		name   string
		p0, p1 []byte // nil: missing
	}{
		{"flipped byte", flipped, p1},
		{"swapped", p1, p0},
		{"dropped", nil, p1},
	} {
		write := func(name string, b []byte) {
			if b == nil {
				os.Remove(page(name))
			} else if err := os.WriteFile(page(name), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		write("0", tc.p0)
		write("1", tc.p1)
		if i == 0 {
			// The last bytes: tusd's FinishUpload fails.
			if _, err := ts.Client.Patch(ctx, u, last, bytes.NewReader(data[last:]), 5); err == nil {
				t.Errorf("%s: the last PATCH succeeded over an altered page", tc.name)
			}
		} else if err := ts.Store.Settle(ctx, id); err == nil {
			t.Errorf("%s: completion succeeded over an altered page", tc.name)
		}
		if info := readStoredInfo(t, ts, id); info.Enc.Tag != nil {
			t.Fatalf("%s: the upload was completed", tc.name)
		}
	}
	os.WriteFile(page("0"), p0, 0o600)
	os.WriteFile(page("1"), p1, 0o600)
	if err := ts.Store.Settle(ctx, id); err != nil {
		t.Fatalf("completion over the genuine pages: %v", err)
	}
	ts.mustEqual(t, u, data)
}

// TestSweepRemovesOrphanedPages checks that a sweep deletes the pages of
// an upload whose .info is gone or finished, and keeps those of an
// unfinished one.
func TestSweepRemovesOrphanedPages(t *testing.T) {
	ts, _ := newCountingServer(t, historyPageLen)
	ctx := context.Background()
	data := randomBytes(81, 3*5*mib)
	_, live := sendPart(t, ts, int64(len(data))+1, data)
	livePages := len(pageFiles(t, ts, live))
	if livePages == 0 {
		t.Fatal("no pages")
	}
	done := tusclient.UploadID(ts.upload(t, []byte("finished"), 8))
	for _, name := range []string{"gone.segs.0", "gone.segs.3", done + ".segs.0"} {
		if err := os.WriteFile(filepath.Join(ts.Dir, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// The cutoff only expires the orphans: the live upload is younger.
	past := time.Now().Add(-time.Hour)
	for _, name := range []string{"gone.segs.0", "gone.segs.3", done + ".segs.0"} {
		os.Chtimes(filepath.Join(ts.Dir, name), past, past)
	}
	rep, err := ts.Store.Cleanup(ctx, time.Now().Add(-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Pages != 3 || len(rep.Uploads) != 0 {
		t.Errorf("sweep removed %d pages and uploads %v, want 3 pages and no upload", rep.Pages, rep.Uploads)
	}
	if n := len(pageFiles(t, ts, "gone")) + len(pageFiles(t, ts, done)); n != 0 {
		t.Errorf("%d orphaned pages left", n)
	}
	if n := len(pageFiles(t, ts, live)); n != livePages {
		t.Errorf("the unfinished upload has %d pages, had %d", n, livePages)
	}
}
