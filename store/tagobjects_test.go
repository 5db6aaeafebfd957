package store_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/tusvault/tusvault/internal/tusclient"
	"github.com/tusvault/tusvault/store"
)

// putTagObjects stores a 16-byte object under each name, as the tag
// objects of format v2 (docs/FORMAT.md, section 11.1) are stored.
func putTagObjects(t *testing.T, b store.Backend, names ...string) {
	t.Helper()
	for _, name := range names {
		if err := b.Put(context.Background(), name, bytes.NewReader(make([]byte, 16)), 16); err != nil {
			t.Fatal(err)
		}
	}
}

// objectExists reports whether the backend holds name.
func objectExists(t *testing.T, b store.Backend, name string) bool {
	t.Helper()
	_, err := b.Head(context.Background(), name)
	if err != nil && !errors.Is(err, store.ErrObjectNotFound) {
		t.Fatal(err)
	}
	return err == nil
}

// The sweep deletes the tag objects no read needs (those of an upload
// whose .info is gone, those past a finished upload's last part) and
// keeps the others, an unfinished upload's all; removing an upload
// deletes its tag objects before its .info.
func TestTagObjectsSweepAndRemoval(t *testing.T) {
	ts := newTestServer(t, 4)
	ctx := context.Background()
	finishedURL := ts.upload(t, randomBytes(41, 6*mib), 6*mib) // two parts
	finished := tusclient.UploadID(finishedURL)
	u := startedUpload(t, ts, randomBytes(42, 12*mib), 7*mib)
	unfinished := tusclient.UploadID(u)
	b := store.BackendOf(ts.Store)
	keep := []string{finished + ".tags.1", finished + ".tags.2", unfinished + ".tags.1", unfinished + ".tags.7"}
	stray := []string{finished + ".tags.3", "gone/upload.tags.1"}
	// Not tag objects: a leading zero, part 0, no number.
	other := []string{finished + ".tags.01", finished + ".tags.0", finished + ".tags."}
	putTagObjects(t, b, keep...)
	putTagObjects(t, b, stray...)
	putTagObjects(t, b, other...)

	// Too recent to be orphans: only the finished upload's stray one goes.
	rep, err := ts.Store.Cleanup(ctx, time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if rep.TagObjects != 1 || objectExists(t, b, stray[0]) || !objectExists(t, b, stray[1]) {
		t.Fatalf("sweep before the cutoff: report %+v, want the tag object past the last part gone, the recent orphan kept", rep)
	}
	// Past the cutoff: the orphan goes, and the unfinished upload is
	// removed as expired, with its tag objects.
	rep, err = ts.Store.Cleanup(ctx, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if rep.TagObjects != 1 || objectExists(t, b, stray[1]) || len(rep.Uploads) != 1 || rep.Uploads[0] != unfinished {
		t.Fatalf("sweep past the cutoff: report %+v, want the orphan gone and %s removed", rep, unfinished)
	}
	for _, name := range keep[:2] {
		if !objectExists(t, b, name) {
			t.Fatalf("the sweep deleted %s, a tag object of a finished upload", name)
		}
	}
	for _, name := range keep[2:] {
		if objectExists(t, b, name) {
			t.Fatalf("removing %s left its tag object %s", unfinished, name)
		}
	}
	for _, name := range other {
		if !objectExists(t, b, name) {
			t.Fatalf("the sweep deleted %s, which is no tag object", name)
		}
	}

	// A terminated upload loses its tag objects.
	req, err := ts.Client.NewRequest(ctx, http.MethodDelete, finishedURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := ts.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE: status %d", resp.StatusCode)
	}
	for _, name := range keep[:2] {
		if objectExists(t, b, name) {
			t.Fatalf("terminating %s left its tag object %s", finished, name)
		}
	}
}
