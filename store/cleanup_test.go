package store_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tusvault/tusvault/internal/tusclient"
)

// A sweep removes stale unfinished uploads, orphaned multipart uploads and
// tails, and leaves finished and recent uploads alone.
func TestCleanup(t *testing.T) {
	ts := newTestServer(t, 4)
	ctx := context.Background()
	old := time.Now().Add(-48 * time.Hour)
	age := func(rel string) {
		t.Helper()
		if err := os.Chtimes(filepath.Join(ts.Dir, rel), old, old); err != nil {
			t.Fatal(err)
		}
	}

	finished := randomBytes(1, 1000)
	done := ts.upload(t, finished)
	age(tusclient.UploadID(done) + ".info")

	stale, err := ts.Client.Create(ctx, ts.URL, 6*mib, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Client.Patch(ctx, stale, 0, bytes.NewReader(randomBytes(2, 100)), 100); err != nil {
		t.Fatal(err)
	}
	staleID := tusclient.UploadID(stale)
	age(staleID + ".info")

	recent, err := ts.Client.Create(ctx, ts.URL, 6*mib, nil)
	if err != nil {
		t.Fatal(err)
	}

	orphanID, err := ts.Backend.CreateMultipart(ctx, "orphan", nil)
	if err != nil {
		t.Fatal(err)
	}
	age(filepath.Join(".tusvault", "multipart", orphanID, "upload.json"))
	if err := ts.Backend.Put(ctx, "lost.part", bytes.NewReader([]byte("x")), 1); err != nil {
		t.Fatal(err)
	}
	age("lost.part")

	rep, err := ts.Store.Cleanup(ctx, time.Now().Add(-24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Uploads) != 1 || rep.Uploads[0] != staleID || rep.Multiparts != 1 || rep.Tails != 1 {
		t.Fatalf("report %+v, want the stale upload, 1 multipart, 1 tail", rep)
	}
	if _, _, err := ts.Client.Head(ctx, stale); tusclient.Status(err) != http.StatusNotFound {
		t.Fatalf("HEAD of swept upload: %v, want 404", err)
	}
	if _, _, err := ts.Client.Head(ctx, recent); err != nil {
		t.Fatalf("HEAD of recent upload: %v", err)
	}
	ts.mustEqual(t, done, finished)
	if _, err := ts.Backend.ListParts(ctx, "orphan", orphanID); err == nil {
		t.Fatal("orphaned multipart upload still exists")
	}
	for _, rel := range []string{staleID, staleID + ".part", "lost.part"} {
		if _, err := os.Stat(filepath.Join(ts.Dir, rel)); !os.IsNotExist(err) {
			t.Errorf("%s still exists (%v)", rel, err)
		}
	}
}
