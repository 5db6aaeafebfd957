package store_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/tusvault/tusvault/internal/tusclient"
	"github.com/tusvault/tusvault/store"
	"github.com/tusvault/tusvault/store/crypt"
	"github.com/tusvault/tusvault/store/disk"
)

// startedUpload creates an upload of 2*partSize+extra bytes and sends all
// but extra, so that it has committed parts, a tail and a multipart
// upload in progress. It returns its URL.
func startedUpload(t *testing.T, ts *testServer, data []byte, sent int) string {
	t.Helper()
	ctx := context.Background()
	u, err := ts.Client.Create(ctx, ts.URL, int64(len(data)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Client.Patch(ctx, u, 0, bytes.NewReader(data[:sent]), int64(sent)); err != nil {
		t.Fatal(err)
	}
	return u
}

// multipartExists reports whether the upload's multipart upload is
// still there, through the .info it names.
func multipartExists(t *testing.T, ts *testServer, id string) bool {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(ts.Dir, id+".info"))
	if err != nil {
		t.Fatal(err)
	}
	var info struct{ MultipartID string }
	if err := json.Unmarshal(raw, &info); err != nil {
		t.Fatal(err)
	}
	_, err = ts.Backend.ListParts(context.Background(), id, info.MultipartID)
	return err == nil
}

// A .info that cannot be read (a transient GET error, a kid missing from
// the keyring) protects its upload: the sweep skips and logs it, keeps its
// multipart upload and tail, and goes on with the others.
func TestSweepSkipsUnreadableInfo(t *testing.T) {
	ts := newTestServer(t, 4)
	ctx := context.Background()
	data := randomBytes(31, 12*mib)
	u := startedUpload(t, ts, data, 7*mib)
	id := tusclient.UploadID(u)
	stale := startedUpload(t, ts, randomBytes(32, 6*mib), 100)
	later := time.Now().Add(time.Hour) // everything is past -expire-after

	check := func(what string, rep store.CleanupReport, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: sweep failed: %v", what, err)
		}
		if !slices.Contains(rep.Skipped, id) || slices.Contains(rep.Uploads, id) || rep.Multiparts != 0 || rep.Tails != 0 {
			t.Fatalf("%s: sweep report %+v, want %s skipped and nothing of it removed", what, rep, id)
		}
		if !multipartExists(t, ts, id) {
			t.Fatalf("%s: the sweep aborted the multipart upload of an upload it could not read", what)
		}
		if frags := fragmentFiles(t, ts.Dir, id); len(frags) != 1 {
			t.Fatalf("%s: tail fragments %v, want one", what, frags)
		}
	}

	ts.Backend.setFault(failN("Get", id+".info", 1))
	rep, err := ts.Store.Cleanup(ctx, later)
	ts.Backend.setFault(nil)
	check("transient GET error", rep, err)
	if !slices.Contains(rep.Uploads, tusclient.UploadID(stale)) {
		t.Fatalf("the sweep stopped at the unreadable upload: %+v", rep)
	}

	// The offline cleanup with a keyring that lacks the upload's kid.
	other, err := crypt.NewKeyring()
	if err != nil {
		t.Fatal(err)
	}
	b, err := disk.New(ts.Dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.New(store.Config{Backend: b, Keyring: other, SpoolDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	rep, err = st.Cleanup(ctx, later)
	check("kid missing from the keyring", rep, err)

	if err := ts.Client.Resume(ctx, u, data, nil); err != nil {
		t.Fatal(err)
	}
	ts.mustEqual(t, u, data)
}

// A removal cut short keeps .info (deleted last), so the next sweep
// removes what is left instead of orphaning ciphertext.
func TestSweepRemovesInfoLast(t *testing.T) {
	ts := newTestServer(t, 4)
	ctx := context.Background()
	u := startedUpload(t, ts, randomBytes(33, 12*mib), 7*mib)
	id := tusclient.UploadID(u)
	later := time.Now().Add(time.Hour)

	ts.Backend.setFault(failN("AbortMultipart", id, 1))
	rep, err := ts.Store.Cleanup(ctx, later)
	ts.Backend.setFault(nil)
	if err == nil || len(rep.Uploads) != 0 {
		t.Fatalf("sweep with AbortMultipart failing: %+v, %v; want an error and nothing removed", rep, err)
	}
	if _, err := os.Stat(filepath.Join(ts.Dir, id+".info")); err != nil {
		t.Fatalf(".info after a failed removal: %v", err)
	}
	if !multipartExists(t, ts, id) {
		t.Fatal("the multipart upload is gone although its abort failed")
	}
	rep, err = ts.Store.Cleanup(ctx, later)
	if err != nil || !slices.Equal(rep.Uploads, []string{id}) {
		t.Fatalf("second sweep: %+v, %v", rep, err)
	}
	for _, suffix := range []string{"", ".info", ".part"} {
		if _, err := os.Stat(filepath.Join(ts.Dir, id+suffix)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s%s after the second sweep: %v", id, suffix, err)
		}
	}
	if frags := fragmentFiles(t, ts.Dir, id); len(frags) > 0 {
		t.Errorf("tail fragments after the second sweep: %v", frags)
	}
	if _, _, err := ts.Client.Head(ctx, u); tusclient.Status(err) != http.StatusNotFound {
		t.Fatalf("HEAD of the removed upload: %v", err)
	}
}

// A sweep never cuts a running PATCH short: the upload's lock is held, so
// the sweep leaves it for later, however old its .info.
func TestSweepLeavesRunningPatch(t *testing.T) {
	ts := newTestServer(t, 4)
	ctx := context.Background()
	data := randomBytes(34, 3*mib)
	u, err := ts.Client.Create(ctx, ts.URL, int64(len(data)), nil)
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	res := make(chan error, 1)
	go func() {
		_, err := ts.Client.Patch(ctx, u, 0, pr, int64(len(data)))
		res <- err
	}()
	if _, err := pw.Write(data[:mib]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the PATCH holds the lock
	rep, err := ts.Store.Cleanup(ctx, time.Now().Add(time.Hour))
	if err != nil || len(rep.Uploads) != 0 {
		t.Fatalf("sweep during a PATCH: %+v, %v", rep, err)
	}
	if _, err := pw.Write(data[mib:]); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	if err := <-res; err != nil {
		t.Fatalf("PATCH: %v", err)
	}
	ts.mustEqual(t, u, data)
}
