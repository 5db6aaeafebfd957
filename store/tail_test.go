package store_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tusvault/tusvault/internal/tusclient"
	"github.com/tusvault/tusvault/store"
)

// tailInfo is the tail of an upload's .info (layout 2).
type tailInfo struct {
	Offset int64
	Enc    struct {
		Layout    int
		Committed int64
		TailLen   int64
		Tail      []struct {
			Off, Len int64
			Name     string
			CRC32C   uint32
		}
	}
}

func readTailInfo(t *testing.T, b store.Backend, id string) tailInfo {
	t.Helper()
	rc, err := b.Get(context.Background(), id+".info", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var info tailInfo
	if err := json.NewDecoder(rc).Decode(&info); err != nil {
		t.Fatal(err)
	}
	return info
}

// tailObjects lists the names of upload id's tail objects in b: its
// fragments ("<Name>") and a tail object of layout 1 ("").
func tailObjects(t *testing.T, b store.Backend, id string) []string {
	t.Helper()
	var names []string
	err := b.List(context.Background(), id+".part", func(oi store.ObjectInfo) error {
		if name, ok := strings.CutPrefix(oi.Key, id+".part"); ok {
			names = append(names, strings.TrimPrefix(name, "."))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// checkTail fails unless the upload's tail objects are exactly the
// fragments its .info lists, one contiguous run after Committed.
func checkTail(t *testing.T, b store.Backend, id string) tailInfo {
	t.Helper()
	info := readTailInfo(t, b, id)
	var listed []string
	off := info.Enc.Committed
	for _, f := range info.Enc.Tail {
		if f.Off != off || f.Len <= 0 {
			t.Fatalf("fragment %+v at %d: not contiguous", f, off)
		}
		off += f.Len
		listed = append(listed, f.Name)
	}
	if info.Enc.Layout != 2 || off != info.Offset || info.Offset != info.Enc.Committed+info.Enc.TailLen {
		t.Fatalf(".info tail %+v does not add up to offset %d", info.Enc, info.Offset)
	}
	got := tailObjects(t, b, id)
	slices.Sort(got)
	slices.Sort(listed)
	if !slices.Equal(got, listed) {
		t.Fatalf("tail objects %v, .info lists %v", got, listed)
	}
	return info
}

// The backends the tail tests run on: the disk backend of the test
// server, and S3 (versitygw).
var tailBackends = []struct {
	name string
	edit func(t *testing.T) func(*store.Config)
}{
	{"disk", func(*testing.T) func(*store.Config) { return nil }},
	{"s3", func(t *testing.T) func(*store.Config) {
		b := s3Backend(t)
		return func(c *store.Config) { c.Backend = b }
	}},
}

// patchAt sends data[off:off+n] and fails the test on an error.
func patchAt(t *testing.T, ts *testServer, u string, data []byte, off, n int) {
	t.Helper()
	if _, err := ts.Client.Patch(context.Background(), u, int64(off), bytes.NewReader(data[off:off+n]), int64(n)); err != nil {
		t.Fatalf("PATCH at %d: %v", off, err)
	}
}

// Each PATCH that ends inside a part stores only its own bytes as a new
// fragment; the request that fills the part sends the cached tail in it
// and deletes the fragments; the next request of the same upload reads
// nothing back from the object store. At the end no tail object and no
// cached file is left.
func TestTailFragments(t *testing.T) {
	for _, be := range tailBackends {
		t.Run(be.name, func(t *testing.T) {
			ts := newTestServerWith(t, 4, be.edit(t))
			b := storeBackend(ts)
			ctx := context.Background()
			data := randomBytes(41, 14*mib+5)
			u, err := ts.Client.Create(ctx, ts.URL, int64(len(data)), nil)
			if err != nil {
				t.Fatal(err)
			}
			id := tusclient.UploadID(u)
			st := ts.Store.Stats()
			// PATCH sizes and the fragments .info lists after each one.
			steps := []struct{ n, frags int }{
				{1 * mib, 1}, {1 * mib, 2}, {1*mib + 3, 3}, // three fragments of part 1
				{3 * mib, 1}, // fills part 1: the fragments go, 1 MiB + 3 is the new one
				{5 * mib, 1}, // fills part 2, leaves a fragment of 1 MiB + 3
				{2*mib - 1, 2},
			}
			off := 0
			for i, s := range steps {
				patchAt(t, ts, u, data, off, s.n)
				off += s.n
				info := checkTail(t, b, id)
				if info.Offset != int64(off) || len(info.Enc.Tail) != s.frags {
					t.Fatalf("after PATCH %d: offset %d, %d fragments; want %d, %d", i+1, info.Offset, len(info.Enc.Tail), off, s.frags)
				}
				if got := st.TailCacheFiles.Load(); got != 1 {
					t.Fatalf("after PATCH %d: %d cached tails, want 1", i+1, got)
				}
				if got := st.TailCacheBytes.Load(); got != info.Enc.TailLen {
					t.Fatalf("after PATCH %d: %d cached bytes, want the tail's %d", i+1, got, info.Enc.TailLen)
				}
			}
			if hits, misses, fetched := st.TailCacheHits.Load(), st.TailCacheMisses.Load(), st.TailFetchedBytes.Load(); hits != int64(len(steps)-1) || misses != 0 || fetched != 0 {
				t.Fatalf("cache hits %d, misses %d, %d bytes fetched; want %d, 0, 0", hits, misses, fetched, len(steps)-1)
			}
			patchAt(t, ts, u, data, off, len(data)-off)
			ts.mustEqual(t, u, data)
			if objs := tailObjects(t, b, id); len(objs) != 0 {
				t.Fatalf("tail objects after completion: %v", objs)
			}
			if info := readTailInfo(t, b, id); info.Enc.Layout != 0 || info.Enc.Tail != nil {
				t.Fatalf("finished .info: layout %d, tail %v; want the v1 format", info.Enc.Layout, info.Enc.Tail)
			}
			if n, bytes := st.TailCacheFiles.Load(), st.TailCacheBytes.Load(); n != 0 || bytes != 0 {
				t.Fatalf("tail cache after completion: %d files, %d bytes", n, bytes)
			}
			if sp := st.SpoolBytes.Load(); sp != 0 {
				t.Fatalf("spool bytes after completion: %d", sp)
			}
		})
	}
}

// storeBackend is the backend under ts's store.
func storeBackend(ts *testServer) store.Backend { return store.BackendOf(ts.Store) }

// secondServer is another tusd handler and store over ts's backend (a
// restarted process, or another instance), with its own spool and cache.
func secondServer(t *testing.T, ts *testServer) *testServer {
	t.Helper()
	b := storeBackend(ts)
	return newTestServerWith(t, 4, func(c *store.Config) { c.Backend, c.Keyring = b, ts.Keyring })
}

// After a restart, or on another instance, the tail comes back from the
// fragments (CRC-checked); an instance whose cache holds the first
// fragments reads only the later ones, which another instance stored.
func TestTailAcrossInstances(t *testing.T) {
	for _, be := range tailBackends {
		t.Run(be.name, func(t *testing.T) {
			a := newTestServerWith(t, 4, be.edit(t))
			bsrv := secondServer(t, a)
			ctx := context.Background()
			data := randomBytes(42, 11*mib+9)
			u, err := a.Client.Create(ctx, a.URL, int64(len(data)), nil)
			if err != nil {
				t.Fatal(err)
			}
			id := tusclient.UploadID(u)
			onB := strings.Replace(u, a.URL, bsrv.URL, 1)
			patchAt(t, a, u, data, 0, 2*mib)
			patchAt(t, bsrv, onB, data, 2*mib, 1*mib)
			if st := bsrv.Store.Stats(); st.TailCacheMisses.Load() != 1 || st.TailFetchedBytes.Load() != 2*mib {
				t.Fatalf("instance B: %d misses, %d bytes fetched; want 1, %d", st.TailCacheMisses.Load(), st.TailFetchedBytes.Load(), 2*mib)
			}
			patchAt(t, a, u, data, 3*mib, 1*mib)
			if st := a.Store.Stats(); st.TailCacheMisses.Load() != 1 || st.TailFetchedBytes.Load() != 1*mib {
				t.Fatalf("instance A: %d misses, %d bytes fetched; want 1 and only B's fragment (%d)", st.TailCacheMisses.Load(), st.TailFetchedBytes.Load(), 1*mib)
			}
			checkTail(t, storeBackend(a), id)
			patchAt(t, bsrv, onB, data, 4*mib, len(data)-4*mib)
			a.mustEqual(t, u, data)
			if objs := tailObjects(t, storeBackend(a), id); len(objs) != 0 {
				t.Fatalf("tail objects after completion: %v", objs)
			}
		})
	}
}

// A cached tail that no longer matches (a damaged file, a cache turned
// off) is not used: the fragments are read back and the upload ends
// byte-exact.
func TestTailCacheStale(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*store.Config)
		cut  bool
	}{
		{"truncated", nil, true},
		{"off", func(c *store.Config) { c.TailCacheBytes = -1 }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServerWith(t, 4, tc.edit)
			ctx := context.Background()
			data := randomBytes(43, 6*mib)
			u, err := ts.Client.Create(ctx, ts.URL, int64(len(data)), nil)
			if err != nil {
				t.Fatal(err)
			}
			id := tusclient.UploadID(u)
			patchAt(t, ts, u, data, 0, 3*mib)
			if tc.cut && !store.TruncateTailCache(ts.Store, id) {
				t.Fatal("no cached tail to damage")
			}
			patchAt(t, ts, u, data, 3*mib, 1*mib)
			st := ts.Store.Stats()
			if st.TailCacheMisses.Load() != 1 || st.TailFetchedBytes.Load() != 3*mib {
				t.Fatalf("%d misses, %d bytes fetched; want 1, %d", st.TailCacheMisses.Load(), st.TailFetchedBytes.Load(), 3*mib)
			}
			patchAt(t, ts, u, data, 4*mib, 2*mib)
			ts.mustEqual(t, u, data)
		})
	}
}

// A fragment whose bytes changed in the object store (or that is gone)
// stops the upload with a 500: its bytes are never sent in a part.
func TestTailFragmentCorrupt(t *testing.T) {
	for _, damage := range []string{"flipped", "deleted"} {
		t.Run(damage, func(t *testing.T) {
			ts := newTestServer(t, 4)
			ctx := context.Background()
			data := randomBytes(44, 6*mib)
			u, err := ts.Client.Create(ctx, ts.URL, int64(len(data)), nil)
			if err != nil {
				t.Fatal(err)
			}
			id := tusclient.UploadID(u)
			patchAt(t, ts, u, data, 0, 1*mib)
			frags := fragmentFiles(t, ts.Dir, id)
			if len(frags) != 1 {
				t.Fatalf("fragments %v, want one", frags)
			}
			switch damage {
			case "flipped":
				raw, err := os.ReadFile(frags[0])
				if err != nil {
					t.Fatal(err)
				}
				raw[len(raw)/2] ^= 1
				err = os.WriteFile(frags[0], raw, 0o600)
				if err != nil {
					t.Fatal(err)
				}
			case "deleted":
				if err := os.Remove(frags[0]); err != nil {
					t.Fatal(err)
				}
			}
			restarted := secondServer(t, ts)
			onR := strings.Replace(u, ts.URL, restarted.URL, 1)
			_, err = restarted.Client.Patch(ctx, onR, 1*mib, bytes.NewReader(data[1*mib:]), int64(len(data)-1*mib))
			if tusclient.Status(err) != http.StatusInternalServerError {
				t.Fatalf("PATCH over a %s fragment: %v, want 500", damage, err)
			}
			if off, _, err := restarted.Client.Head(ctx, onR); err != nil || off != 1*mib {
				t.Fatalf("HEAD: offset %d, %v; want %d", off, err, 1*mib)
			}
			if restarted.Backend.parts.Load() != 0 {
				t.Fatal("a part was stored over a damaged fragment")
			}
		})
	}
}

// Fragments that a request stored but never listed (its .info commit
// failed), and absorbed ones whose deletion failed, are deleted by the
// sweep (under the upload's lock) and by the completion; the upload
// resumes from what .info lists.
func TestTailStrayFragments(t *testing.T) {
	ts := newTestServer(t, 4)
	ctx := context.Background()
	data := randomBytes(45, 11*mib)
	u, err := ts.Client.Create(ctx, ts.URL, int64(len(data)), nil)
	if err != nil {
		t.Fatal(err)
	}
	id := tusclient.UploadID(u)
	patchAt(t, ts, u, data, 0, 1*mib)

	// The second .info write of the next PATCH (after its fragment) fails.
	var infoPuts atomic.Int32
	ts.Backend.setFault(func(op, key string) error {
		if op == "Put" && key == id+".info" && infoPuts.Add(1) == 2 {
			return errors.New("injected .info failure")
		}
		return nil
	})
	_, err = ts.Client.Patch(ctx, u, 1*mib, bytes.NewReader(data[1*mib:2*mib]), 1*mib)
	ts.Backend.setFault(nil)
	if tusclient.Status(err) != http.StatusInternalServerError {
		t.Fatalf("PATCH whose commit failed: %v, want 500", err)
	}
	if n := len(fragmentFiles(t, ts.Dir, id)); n != 2 {
		t.Fatalf("%d fragment files, want the listed one and the stray one", n)
	}
	rep, err := ts.Store.Cleanup(ctx, time.Now().Add(-time.Hour))
	if err != nil || rep.Tails != 1 || len(rep.Uploads) != 0 {
		t.Fatalf("sweep: %+v, %v; want one stray fragment removed, no upload", rep, err)
	}
	checkTail(t, storeBackend(ts), id)

	// Part 1 absorbs the fragment, whose deletion fails: the completion
	// deletes it.
	ts.Backend.setFault(func(op, key string) error {
		if op == "Delete" && strings.HasPrefix(key, id+".part.") {
			return errors.New("injected delete failure")
		}
		return nil
	})
	patchAt(t, ts, u, data, 1*mib, 5*mib)
	ts.Backend.setFault(nil)
	if n := len(fragmentFiles(t, ts.Dir, id)); n != 2 {
		t.Fatalf("%d fragment files, want the absorbed one and the new one", n)
	}
	if err := ts.Client.Resume(ctx, u, data, nil); err != nil {
		t.Fatal(err)
	}
	ts.mustEqual(t, u, data)
	if frags := fragmentFiles(t, ts.Dir, id); len(frags) != 0 {
		t.Fatalf("fragments after completion: %v", frags)
	}
}

// The cache keeps at most TailCacheBytes, evicting the oldest tail, and
// a tail no longer than TailCacheTTL; a terminated upload's tail goes.
func TestTailCacheBounds(t *testing.T) {
	ts := newTestServerWith(t, 4, func(c *store.Config) {
		c.TailCacheBytes = 2*mib + mib/2
		c.TailCacheTTL = time.Hour
	})
	ctx := context.Background()
	st := ts.Store.Stats()
	var urls []string
	for i := range 3 {
		data := randomBytes(uint64(50+i), 6*mib)
		u, err := ts.Client.Create(ctx, ts.URL, int64(len(data)), nil)
		if err != nil {
			t.Fatal(err)
		}
		patchAt(t, ts, u, data, 0, 1*mib)
		urls = append(urls, u)
	}
	if n, b := st.TailCacheFiles.Load(), st.TailCacheBytes.Load(); n != 2 || b != 2*mib {
		t.Fatalf("cache: %d files, %d bytes; want the newest 2 tails of 1 MiB", n, b)
	}
	if err := ts.Client.Delete(ctx, urls[2]); err != nil {
		t.Fatal(err)
	}
	if n := st.TailCacheFiles.Load(); n != 1 {
		t.Fatalf("cache after a termination: %d files, want 1", n)
	}
	if frags := fragmentFiles(t, ts.Dir, tusclient.UploadID(urls[2])); len(frags) != 0 {
		t.Fatalf("fragments of the terminated upload: %v", frags)
	}

	short := newTestServerWith(t, 4, func(c *store.Config) { c.TailCacheTTL = 50 * time.Millisecond })
	data := randomBytes(53, 6*mib)
	u, err := short.Client.Create(ctx, short.URL, int64(len(data)), nil)
	if err != nil {
		t.Fatal(err)
	}
	patchAt(t, short, u, data, 0, 1*mib)
	deadline := time.Now().Add(5 * time.Second)
	for short.Store.Stats().TailCacheFiles.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the cached tail outlived its TTL by 5 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	patchAt(t, short, u, data, 1*mib, 5*mib)
	short.mustEqual(t, u, data)
}

// A tail kept in a reused spool file, longer than the tail from its
// earlier part, is found by the next request (the tail cache compared the
// file's size with the tail's and missed every reused one).
func TestTailCacheReusedSpoolFile(t *testing.T) {
	ts := newTestServer(t, 2)
	defer store.HoldSpools(ts.Store)()
	ctx := context.Background()
	data := randomBytes(94, 5*mib+2*mib)
	u, err := ts.Client.Create(ctx, ts.URL, int64(len(data)), nil)
	if err != nil {
		t.Fatal(err)
	}
	// A full part (its spool file kept), then 1 MiB of tail in that file,
	// then the rest from the cached tail.
	if err := ts.Client.UploadFrom(ctx, u, data, 0, []int{5 * mib, mib, mib}); err != nil {
		t.Fatal(err)
	}
	ts.mustEqual(t, u, data)
	st := ts.Store.Stats()
	if h, m := st.TailCacheHits.Load(), st.TailCacheMisses.Load(); h != 1 || m != 0 {
		t.Errorf("tail cache: %d hits, %d misses; want 1, 0", h, m)
	}
}
