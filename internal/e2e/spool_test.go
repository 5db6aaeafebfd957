package e2e

import (
	"bytes"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tusvault/tusvault/internal/tusclient"
)

// spoolFailure sends data to a new upload while the spool cannot take it,
// checks the answer (want status, tus-style body with code) and the log
// line naming the upload, then lets fix give the space back and checks
// that the upload resumes byte-exact.
func spoolFailure(t *testing.T, s *server, data []byte, want int, code string, fix func()) {
	t.Helper()
	ctx := testCtx(t, 60*time.Second)
	c := newClient()
	u, err := c.Create(ctx, s.Endpoint, int64(len(data)), nil)
	if err != nil {
		t.Fatal(err)
	}
	id := uploadID(t, u)
	_, err = c.Patch(ctx, u, 0, bytes.NewReader(data), int64(len(data)))
	var se *tusclient.StatusError
	if !errors.As(err, &se) || se.Status != want || !strings.HasPrefix(se.Body, code+": ") {
		t.Fatalf("PATCH while the spool fails: %v, want %d %s", err, want, code)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(s.out.String(), "local spool failed") || !strings.Contains(s.out.String(), id) {
		if time.Now().After(deadline) {
			t.Fatalf("no log line about the spool failure of %s", id)
		}
		time.Sleep(20 * time.Millisecond)
	}
	fix()
	if err := c.Resume(ctx, u, data, nil); err != nil {
		t.Fatalf("resuming once the spool works again: %v", err)
	}
	checkGetFull(t, c, ctx, u, data)
}

// A spool directory that fails writes is a 503 (never a 413), logged with
// the upload id, and the upload resumes once it works again.
func TestSpoolUnwritable(t *testing.T) {
	dir := t.TempDir()
	spool := filepath.Join(t.TempDir(), "spool")
	s := startServer(t, dir, "-spool-dir", spool)
	if err := os.RemoveAll(spool); err != nil {
		t.Fatal(err)
	}
	spoolFailure(t, s, randomBytes(6201, 6<<20), http.StatusServiceUnavailable, "ERR_LOCAL_STORAGE_UNAVAILABLE", func() {
		if err := os.MkdirAll(spool, 0o700); err != nil {
			t.Fatal(err)
		}
	})
}

// A full spool disk is a 507 Insufficient Storage, and the upload resumes
// once space returns. It needs a small tmpfs, which only root may mount.
func TestSpoolDiskFull(t *testing.T) {
	spool := filepath.Join(t.TempDir(), "spool")
	if err := os.MkdirAll(spool, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", spool, "tmpfs", 0, "size=2m,mode=0700"); err != nil {
		t.Skipf("cannot mount a 2 MiB tmpfs for the spool here (%v): the disk-full answer is tested without the mount in the store's TestSpoolErrors", err)
	}
	mounted := true
	unmount := func() {
		if mounted {
			if err := syscall.Unmount(spool, 0); err != nil {
				t.Errorf("unmounting the spool: %v", err)
			}
			mounted = false
		}
	}
	t.Cleanup(unmount)
	s := startServer(t, t.TempDir(), "-spool-dir", spool)
	spoolFailure(t, s, randomBytes(6202, 6<<20), http.StatusInsufficientStorage, "ERR_INSUFFICIENT_STORAGE", unmount)
}

// The spool disk fills up under a running upload whose first parts are
// stored: the PATCH answers 507, keeps what confirmed parts hold (HEAD
// never goes back), a retry while the disk is still full is a 507 again,
// and once space returns the upload resumes and ends byte-exact.
func TestSpoolFullMidUpload(t *testing.T) {
	spool := filepath.Join(t.TempDir(), "spool")
	if err := os.MkdirAll(spool, 0o700); err != nil {
		t.Fatal(err)
	}
	// Room for the three parts one request may spool (one filling, two on
	// their way), not for the ballast on top.
	if err := syscall.Mount("tmpfs", spool, "tmpfs", 0, "size=24m,mode=0700"); err != nil {
		t.Skipf("cannot mount a 24 MiB tmpfs for the spool here (%v): the disk-full answer is tested without the mount in the store's TestSpoolErrors", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(spool, 0); err != nil {
			t.Errorf("unmounting the spool: %v", err)
		}
	})
	ctx := testCtx(t, 60*time.Second)
	dir := t.TempDir()
	s := startServer(t, dir, "-spool-dir", spool)
	c := newClient()
	up := createUpload(t, ctx, c, s, randomBytes(6203, 30*MiB))
	up.rate = 8 << 20
	res := make(chan error, 1)
	go func() { res <- up.patch(ctx, c, s, up.size) }()
	waitCommitted(t, objPath(dir, up.id, ".info"), partSize, 20*time.Second)
	// Fill what is left of the spool disk.
	ballast := filepath.Join(spool, "ballast")
	f, err := os.Create(ballast)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 256<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
	}
	f.Close()
	err = <-res
	var se *tusclient.StatusError
	if !errors.As(err, &se) || se.Status != http.StatusInsufficientStorage || !strings.HasPrefix(se.Body, "ERR_INSUFFICIENT_STORAGE: ") {
		t.Fatalf("PATCH when the spool filled up: %v, want 507 ERR_INSUFFICIENT_STORAGE", err)
	}
	off, err := up.head(ctx, c, s)
	if err != nil {
		t.Fatal(err)
	}
	if off < partSize || off%partSize != 0 {
		t.Errorf("offset %d after the disk filled up, want the stored parts (at least %d)", off, partSize)
	}
	up.rate = 0
	if err := up.patch(ctx, c, s, up.size); tusclient.Status(err) != http.StatusInsufficientStorage {
		t.Errorf("PATCH while the spool is still full: %v, want 507", err)
	}
	if err := os.Remove(ballast); err != nil {
		t.Fatal(err)
	}
	if err := up.resume(ctx, c, s, nil, false, 0); err != nil {
		t.Fatalf("resuming once space returned: %v", err)
	}
	up.verify(t, ctx, c, s)
	t.Logf("507 at offset %d; resumed to the end once space returned", off)
}
