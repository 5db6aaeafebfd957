package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/tusvault/tusvault/internal/tusclient"
	"github.com/tusvault/tusvault/store"
	"github.com/tusvault/tusvault/store/crypt"
)

// A deferred length declared by a PATCH without data, after data that
// ended in the tail, whose final part then fails: .info already holds the
// length, so tusd reports the upload finished (offset = length) and never
// passes a PATCH for it to the store again. The next request that loads
// it sends the tail as the final part and completes it (sendLastPart), in
// either format, reported once.
func TestRequestSendsLastPartOfDeclaredLength(t *testing.T) {
	for _, format := range []int{crypt.Version, crypt.V2Version} {
		t.Run(fmt.Sprintf("v%d", format), func(t *testing.T) {
			ts := newTestServerWith(t, 4, func(c *store.Config) { c.Format = format })
			ctx := context.Background()
			data := randomBytes(23, 7*mib+5) // part 1, then 2 MiB + 5 in the tail
			u, err := ts.Client.Create(ctx, ts.URL, -1, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := ts.Client.Patch(ctx, u, 0, bytes.NewReader(data), int64(len(data))); err != nil {
				t.Fatal(err)
			}
			ts.Backend.setFailPart(func(num int32) error {
				if num == 2 {
					return errors.New("injected: the final part fails")
				}
				return nil
			})
			if status := declareLength(t, ts, u, int64(len(data))); status != http.StatusInternalServerError {
				t.Fatalf("declaring PATCH with the final part failing: status %d, want 500", status)
			}
			ts.Backend.setFailPart(nil)
			if off, length, err := ts.Client.Head(ctx, u); err != nil || off != int64(len(data)) || length != int64(len(data)) {
				t.Fatalf("HEAD: offset %d, length %d, %v; want both %d", off, length, err, len(data))
			}
			ts.mustEqual(t, u, data)
			if n := ts.completed.count(tusclient.UploadID(u)); n != 1 {
				t.Fatalf("OnComplete called %d times, want 1", n)
			}
		})
	}
}
