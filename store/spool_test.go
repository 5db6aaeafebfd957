package store_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tusvault/tusvault/internal/backendtest"
	"github.com/tusvault/tusvault/store"
	"github.com/tusvault/tusvault/store/crypt"
)

// openSpoolFiles counts this process's open files under dir.
func openSpoolFiles(t *testing.T, dir string) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	n := 0
	for _, fd := range fds {
		if target, err := os.Readlink("/proc/self/fd/" + fd.Name()); err == nil && strings.HasPrefix(target, dir+"/") {
			n++
		}
	}
	return n
}

// waitFor polls cond every millisecond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5 s", what)
		}
	}
}

// A PATCH waiting for its first byte holds no spool file (found by the
// chaos test of 200 idle uploads: each held one from the start, two fds
// per idle connection); its first byte opens one, which has no name.
func TestIdleRequestHoldsNoSpool(t *testing.T) {
	var spool string
	ts := newTestServerWith(t, 2, func(cfg *store.Config) { spool = cfg.SpoolDir })
	ctx := context.Background()
	data := backendtest.RandomBytes(77, 6*mib)
	u, err := ts.Client.Create(ctx, ts.URL, int64(len(data)), nil)
	if err != nil {
		t.Fatal(err)
	}
	st := ts.Store.Stats()
	active := func() int64 {
		var n int64
		for i := range len(st.Active) {
			n += st.Active[i].Load()
		}
		return n
	}
	pr, pw := io.Pipe()
	defer pw.Close()
	res := make(chan error, 1)
	go func() {
		_, err := ts.Client.Patch(ctx, u, 0, pr, int64(len(data)))
		res <- err
	}()
	// Once the request's segment is stored, the store waits for the body.
	id := u[strings.LastIndex(u, "/files/")+len("/files/"):]
	waitFor(t, "the PATCH stores its segment", func() bool {
		b, err := os.ReadFile(filepath.Join(ts.Dir, id+".info"))
		return active() == 1 && err == nil && strings.Contains(string(b), `"Off": 0`)
	})
	for deadline := time.Now().Add(200 * time.Millisecond); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if n := openSpoolFiles(t, spool); n != 0 {
			t.Fatalf("%d spool files open before the first byte, want 0", n)
		}
	}
	// A v2 request holds the plaintext of a chunk in memory until the
	// chunk is whole: the bytes of one chunk and a few more.
	first := crypt.ChunkSize + 1000
	if _, err := pw.Write(data[:first]); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first bytes are spooled", func() bool { return st.SpoolBytes.Load() > 0 })
	if n := openSpoolFiles(t, spool); n != 1 {
		t.Errorf("%d spool files open while a part fills, want 1", n)
	}
	if entries, _ := os.ReadDir(spool); len(entries) != 0 {
		t.Errorf("the spool directory lists %d files, want none (unlinked at creation)", len(entries))
	}
	go func() {
		pw.Write(data[first:])
		pw.Close()
	}()
	if err := <-res; err != nil {
		t.Fatal(err)
	}
	if n := openSpoolFiles(t, spool); n != 0 {
		t.Errorf("%d spool files open after the upload, want 0", n)
	}
}
