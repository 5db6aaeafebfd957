package store_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/tusvault/tusvault/internal/tusclient"
	"github.com/tusvault/tusvault/store"
)

// A data-less PATCH that declares a deferred length after data that ended
// in the tail, and fails while it sends the tail as the last part, has
// stored the length already (tusd calls DeclareLength first): tusd then
// sees the upload as finished (offset = length) and answers every later
// PATCH itself, so the store completes it on the next request (here the
// client's retry) or in the next sweep, even one for which the upload has
// expired. It used to stay unfinished for good (GET 400), until a sweep
// removed it as expired.
func TestDeclaredLengthCompletionFailed(t *testing.T) {
	for _, format := range []func(*store.Config){store.SetFormatV1, store.SetFormatV2} {
		for _, sweep := range []bool{false, true} {
			ts := newTestServerWith(t, 4, format)
			ctx := context.Background()
			data := randomBytes(91, 100000)
			u, err := ts.Client.Create(ctx, ts.URL, -1, nil)
			if err != nil {
				t.Fatal(err)
			}
			id := tusclient.UploadID(u)
			if _, err := ts.Client.Patch(ctx, u, 0, bytes.NewReader(data), int64(len(data))); err != nil {
				t.Fatal(err)
			}
			ts.Backend.setFailPart(func(int32) error { return errors.New("injected part failure") })
			if status := declareLength(t, ts, u, int64(len(data))); status != http.StatusInternalServerError {
				t.Fatalf("declaring the length with the part failing: status %d, want 500", status)
			}
			ts.Backend.setFailPart(nil)
			if sweep {
				rep, err := ts.Store.Cleanup(ctx, time.Now().Add(time.Hour))
				if err != nil || !slices.Contains(rep.Completed, id) || len(rep.Uploads) != 0 {
					t.Fatalf("sweep: %+v, %v; want the upload completed", rep, err)
				}
			} else if status := declareLength(t, ts, u, int64(len(data))); status != http.StatusNoContent {
				t.Fatalf("the retry: status %d", status)
			}
			ts.mustEqual(t, u, data)
			if n := ts.completed.count(id); n != 1 {
				t.Errorf("OnComplete ran %d times, want once", n)
			}
		}
	}
}
