package store_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tusvault/tusvault/internal/tusclient"
)

// failFinal creates an upload of data and sends all of it while every
// CompleteMultipart attempt fails, so the final PATCH is a 500 although
// every part is committed. It returns the upload URL.
func failFinal(t *testing.T, ts *testServer, data []byte) string {
	t.Helper()
	ctx := context.Background()
	u, err := ts.Client.Create(ctx, ts.URL, int64(len(data)), nil)
	if err != nil {
		t.Fatal(err)
	}
	ts.Backend.setFault(failN("CompleteMultipart", "", 1000))
	_, err = ts.Client.Patch(ctx, u, 0, bytes.NewReader(data), int64(len(data)))
	if tusclient.Status(err) != http.StatusInternalServerError {
		t.Fatalf("final PATCH with CompleteMultipart failing: %v, want 500", err)
	}
	ts.Backend.setFault(nil)
	return u
}

// An upload whose parts are all committed but whose completion failed is
// completed by the next sweep past -expire-after, not removed, and
// reported once.
func TestSweepCompletesFailedCompletion(t *testing.T) {
	ts := newTestServer(t, 4)
	ctx := context.Background()
	data := randomBytes(21, 7*mib)
	u := failFinal(t, ts, data)
	id := tusclient.UploadID(u)

	rep, err := ts.Store.Cleanup(ctx, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Uploads) != 0 || !slices.Equal(rep.Completed, []string{id}) {
		t.Fatalf("sweep report %+v, want %s completed and nothing removed", rep, id)
	}
	ts.mustEqual(t, u, data)
	if _, err := ts.Store.Cleanup(ctx, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if off, _, err := ts.Client.Head(ctx, u); err != nil || off != int64(len(data)) {
		t.Fatalf("HEAD: offset %d, %v", off, err)
	}
	ts.mustEqual(t, u, data)
	if n := ts.completed.count(id); n != 1 {
		t.Fatalf("OnComplete called %d times for the upload, want 1", n)
	}
}

// The next request that loads such an upload completes it (tusd reports
// it finished and never calls FinishUpload again), reported once.
func TestRequestCompletesFailedCompletion(t *testing.T) {
	ts := newTestServer(t, 4)
	ctx := context.Background()
	data := randomBytes(22, 6*mib)
	u := failFinal(t, ts, data)
	if off, _, err := ts.Client.Head(ctx, u); err != nil || off != int64(len(data)) {
		t.Fatalf("HEAD after the failed completion: offset %d, %v", off, err)
	}
	ts.mustEqual(t, u, data)
	if _, err := ts.Client.Patch(ctx, u, int64(len(data)), bytes.NewReader(nil), 0); err != nil {
		t.Fatalf("empty PATCH on the finished upload: %v", err)
	}
	if n := ts.completed.count(tusclient.UploadID(u)); n != 1 {
		t.Fatalf("OnComplete called %d times, want 1", n)
	}
}

// FinishUpload retries transient backend errors: a request whose
// completion fails a couple of times still ends 204, and tusd (not the
// store) reports the upload finished.
func TestFinishRetriesTransientErrors(t *testing.T) {
	for _, op := range []string{"ListParts", "CompleteMultipart"} {
		t.Run(op, func(t *testing.T) {
			ts := newTestServer(t, 4)
			ctx := context.Background()
			data := randomBytes(23, 5*mib+100)
			u, err := ts.Client.Create(ctx, ts.URL, int64(len(data)), nil)
			if err != nil {
				t.Fatal(err)
			}
			ts.Backend.setFault(failN(op, "", 2))
			if _, err := ts.Client.Patch(ctx, u, 0, bytes.NewReader(data), int64(len(data))); err != nil {
				t.Fatalf("PATCH with %s failing twice: %v", op, err)
			}
			ts.mustEqual(t, u, data)
			if n := ts.completed.count(tusclient.UploadID(u)); n != 0 {
				t.Fatalf("OnComplete called %d times for an upload tusd finished", n)
			}
		})
	}
}

// An empty upload whose completion failed is completed by the sweep too.
func TestSweepCompletesEmptyUpload(t *testing.T) {
	ts := newTestServer(t, 4)
	ctx := context.Background()
	// tusd finishes an empty upload at its creation: fail the Put of its
	// (empty) data object, not those of its .info.
	ts.Backend.setFault(func(op, key string) error {
		if op == "Put" && !strings.Contains(key, ".") {
			return errors.New("injected Put failure")
		}
		return nil
	})
	u, err := ts.Client.Create(ctx, ts.URL, 0, nil)
	if err == nil {
		t.Fatalf("creation of an empty upload with completion failing succeeded: %s", u)
	}
	ts.Backend.setFault(nil)
	ids, err := ts.Store.UploadIDs(ctx, "")
	if err != nil || len(ids) != 1 {
		t.Fatalf("uploads: %v, %v", ids, err)
	}
	rep, err := ts.Store.Cleanup(ctx, time.Now().Add(time.Hour))
	if err != nil || !slices.Equal(rep.Completed, ids) {
		t.Fatalf("sweep: %+v, %v", rep, err)
	}
	var buf bytes.Buffer
	if err := ts.Store.Decrypt(ctx, ids[0], &buf); err != nil || buf.Len() != 0 {
		t.Fatalf("Decrypt: %d bytes, %v", buf.Len(), err)
	}
}
