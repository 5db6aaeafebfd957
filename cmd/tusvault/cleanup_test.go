package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tusvault/tusvault/internal/tusclient"
)

const staleID = "fedcba9876543210fedcba9876543210"

// age sets the modification time of an upload's .info d in the past.
func age(t *testing.T, dir, id string, d time.Duration) {
	t.Helper()
	old := time.Now().Add(-d)
	if err := os.Chtimes(filepath.Join(dir, id+".info"), old, old); err != nil {
		t.Fatal(err)
	}
}

func TestCleanupDisk(t *testing.T) {
	t.Parallel()
	dir := finishedUpload(t, testID, testData)
	storeUpload(t, storageFlags{UploadDir: dir}, staleID, testData[:10], 100) // unfinished
	const fresh = "00000000000000000000000000000001"
	storeUpload(t, storageFlags{UploadDir: dir}, fresh, testData[:10], 100) // unfinished, recent
	age(t, dir, staleID, 2*time.Hour)
	age(t, dir, testID, 48*time.Hour) // finished: never removed

	out, _, err := runCmd(t, "cleanup", "-upload-dir", dir, "-expire-after", "1h")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "Removed 1 expired uploads, ") || lines[1] != staleID {
		t.Fatalf("output %q", out)
	}
	if _, err := os.Stat(filepath.Join(dir, staleID+".info")); !os.IsNotExist(err) {
		t.Errorf("stale upload's .info: %v", err)
	}
	for _, id := range []string{testID, fresh} {
		if _, err := os.Stat(filepath.Join(dir, id+".info")); err != nil {
			t.Errorf("upload %s removed: %v", id, err)
		}
	}
	if out, _, err := runCmd(t, "decrypt", "-upload-dir", dir, testID); err != nil || out != string(testData) {
		t.Errorf("finished upload after cleanup: %q, %v", out, err)
	}

	// The default -expire-after is 24h; nothing is left that old.
	out, _, err = runCmd(t, "cleanup", "-upload-dir", dir)
	if err != nil || !strings.HasPrefix(out, "Removed 0 expired uploads, ") || strings.Count(out, "\n") != 1 {
		t.Errorf("second sweep: %q, %v", out, err)
	}
}

func TestCleanupNeedsTheStorage(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "nope")
	if _, _, err := runCmd(t, "cleanup", "-upload-dir", missing); err == nil || !strings.Contains(err.Error(), "no keyring") {
		t.Errorf("got %v, want no keyring", err)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Error("cleanup created the upload dir")
	}
}

// With -expire-after, serve sweeps by itself: a stale unfinished upload
// goes, a finished one stays. The sweep times are shortened for the test.
func TestServeExpireAfter(t *testing.T) {
	saved := sweepTimes
	sweepTimes = func(time.Duration) (time.Duration, time.Duration) { return 0, 50 * time.Millisecond }
	t.Cleanup(func() { sweepTimes = saved })

	s := startServer(t, "-expire-after", "1s", "-auth=none")
	if !strings.Contains(s.stdout.String(), "Removing unfinished uploads idle for more than 1s, checking every 50ms.") {
		t.Errorf("startup output:\n%s", s.stdout)
	}
	ctx := context.Background()
	var c tusclient.Client
	finished, err := c.Create(ctx, s.url, int64(len(testData)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Upload(ctx, finished, testData, nil); err != nil {
		t.Fatal(err)
	}
	stale, err := c.Create(ctx, s.url, 100, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Patch(ctx, stale, 0, bytes.NewReader(testData[:10]), 10); err != nil {
		t.Fatal(err)
	}
	id := strings.TrimPrefix(stale, s.url) // public/<rand>
	removed := regexp.MustCompile(`"expired uploads removed" uploads=1 ids=\[` + id + `\]`)
	s.waitFor(t, removed)
	if _, err := os.Stat(filepath.Join(s.dir, id+".info")); !os.IsNotExist(err) {
		t.Errorf("stale upload's .info: %v", err)
	}
	if _, _, err := c.Head(ctx, stale); tusclient.Status(err) != 404 {
		t.Errorf("HEAD of the removed upload: %v", err)
	}
	time.Sleep(200 * time.Millisecond) // a few more sweeps
	status, body, _, err := c.Get(ctx, finished, "")
	if err != nil || status != 200 || !bytes.Equal(body, testData) {
		t.Errorf("finished upload: %d %q %v", status, body, err)
	}
	if err := s.stop(t); err != nil {
		t.Fatal(err)
	}
}

// `tusvault cleanup` takes the server's upload locks: an upload a running
// server is writing is left alone however old its .info, and its PATCH
// completes.
func TestCleanupLeavesUploadsInUse(t *testing.T) {
	s := startServer(t, "-auth=none")
	ctx := context.Background()
	var c tusclient.Client
	data := bytes.Repeat([]byte("in use "), 100000)
	u, err := c.Create(ctx, s.url, int64(len(data)), nil)
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	res := make(chan error, 1)
	go func() {
		_, err := c.Patch(ctx, u, 0, pr, int64(len(data)))
		res <- err
	}()
	if _, err := pw.Write(data[:1000]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // the PATCH holds the lock; its .info is older than 1ms
	out, _, err := runCmd(t, "cleanup", "-upload-dir", s.dir, "-expire-after", "1ms")
	if err != nil || !strings.HasPrefix(out, "Removed 0 expired uploads, 0 orphaned multipart uploads") {
		t.Fatalf("cleanup during a PATCH: %q, %v", out, err)
	}
	if _, err := pw.Write(data[1000:]); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	if err := <-res; err != nil {
		t.Fatalf("PATCH after the cleanup: %v", err)
	}
	status, body, _, err := c.Get(ctx, u, "")
	if err != nil || status != 200 || !bytes.Equal(body, data) {
		t.Fatalf("GET: %d, %d bytes, %v", status, len(body), err)
	}
	// Once idle, the same cleanup removes nothing finished either.
	if out, _, err := runCmd(t, "cleanup", "-upload-dir", s.dir, "-expire-after", "1ms"); err != nil || !strings.HasPrefix(out, "Removed 0 expired uploads") {
		t.Fatalf("cleanup after the PATCH: %q, %v", out, err)
	}
}
