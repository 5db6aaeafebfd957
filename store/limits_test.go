package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/tus/tusd/v2/pkg/handler"

	"github.com/tusvault/tusvault/internal/tusclient"
	"github.com/tusvault/tusvault/store"
)

// post creates an upload with raw headers and returns the status and body.
func post(t *testing.T, ts *testServer, hdr map[string]string) (int, string) {
	t.Helper()
	req, err := ts.Client.NewRequest(context.Background(), http.MethodPost, ts.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := ts.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// An Upload-Length that would need parts over S3's 5 GiB is refused at
// creation with 413, naming the largest size accepted, even with no
// -max-size; nothing is stored.
func TestHugeUploadLengthRefused(t *testing.T) {
	ts := newTestServer(t, 4)
	for _, n := range []int64{1e18, store.MaxUploadSize + 1, 1<<63 - 1} {
		status, body := post(t, ts, map[string]string{"Upload-Length": fmt.Sprint(n)})
		if status != http.StatusRequestEntityTooLarge || !strings.Contains(body, fmt.Sprint(store.MaxUploadSize)) {
			t.Fatalf("Upload-Length %d: %d %q; want 413 naming %d", n, status, body, store.MaxUploadSize)
		}
	}
	if ids, err := ts.Store.UploadIDs(context.Background(), ""); err != nil || len(ids) != 0 {
		t.Fatalf("refused creations stored %v (%v)", ids, err)
	}
	if status, _ := post(t, ts, map[string]string{"Upload-Length": fmt.Sprint(int64(store.MaxUploadSize))}); status != http.StatusCreated {
		t.Fatalf("Upload-Length of the largest size: %d, want 201", status)
	}
}

// A deferred-length upload keeps its part size, so it may have at most
// MaxParts of them: a PATCH that goes past them is 413, the parts before
// stay, and so does a declared length over the bound.
func TestDeferredLengthOutgrowsParts(t *testing.T) {
	cfg := func(c *store.Config) { store.SetMaxParts(c, 2) }
	ts := newTestServerWith(t, 4, cfg)
	ctx := context.Background()
	u, err := ts.Client.Create(ctx, ts.URL, -1, nil)
	if err != nil {
		t.Fatal(err)
	}
	data := randomBytes(41, 10*mib+1)
	_, err = ts.Client.Patch(ctx, u, 0, bytes.NewReader(data), -1)
	if tusclient.Status(err) != http.StatusRequestEntityTooLarge {
		t.Fatalf("PATCH past the last part: %v, want 413", err)
	}
	if off, _, err := ts.Client.Head(ctx, u); err != nil || off != 10*mib {
		t.Fatalf("offset after the refused PATCH: %d, %v; want the two parts (%d)", off, err, 10*mib)
	}
	req, err := ts.Client.NewRequest(ctx, http.MethodPatch, u, bytes.NewReader(nil))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", tusclient.ContentTypeOffset)
	req.Header.Set("Upload-Offset", fmt.Sprint(10*mib))
	req.Header.Set("Upload-Length", fmt.Sprint(10*mib+1))
	resp, err := ts.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("declaring a length over the bound: %d, want 413", resp.StatusCode)
	}
}

// WriteChunk returns the bytes of its request that are stored, never
// those of the tail it started from: after a committed part and a failed
// one, tusd's offset is the stored one.
func TestWriteChunkCountExcludesTail(t *testing.T) {
	ts := newTestServer(t, 4)
	ctx := context.Background()
	data := randomBytes(42, 20*mib)
	const tail = 3 * mib
	u, err := ts.Client.Create(ctx, ts.URL, int64(len(data)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Client.Patch(ctx, u, 0, bytes.NewReader(data[:tail]), tail); err != nil {
		t.Fatal(err)
	}
	ts.Backend.setFailPart(func(num int32) error {
		if num == 2 {
			return errors.New("injected")
		}
		return nil
	})
	up, err := ts.Store.GetUpload(ctx, tusclient.UploadID(u))
	if err != nil {
		t.Fatal(err)
	}
	n, err := up.WriteChunk(ctx, tail, bytes.NewReader(data[tail:tail+10*mib]))
	var herr handler.Error
	if !errors.As(err, &herr) || herr.HTTPResponse.StatusCode != http.StatusInternalServerError {
		t.Fatalf("WriteChunk with part 2 failing: %v, want a 500", err)
	}
	// Part 1 holds the 3 MiB tail and the first 2 MiB of this request.
	if n != 5*mib-tail {
		t.Fatalf("WriteChunk returned %d, want %d (the request's bytes in part 1)", n, 5*mib-tail)
	}
	ts.Backend.setFailPart(nil)
	if off, _, err := ts.Client.Head(ctx, u); err != nil || off != tail+n {
		t.Fatalf("stored offset %d, %v; want %d", off, err, tail+n)
	}
	if err := ts.Client.Resume(ctx, u, data, nil); err != nil {
		t.Fatal(err)
	}
	ts.mustEqual(t, u, data)
}

// A body longer than the upload is handled as tusd does: the bytes up to
// Upload-Length are kept, the upload completes, the answer is 413.
func TestOverlongBodyKeepsUpToLength(t *testing.T) {
	ts := newTestServer(t, 4)
	ctx := context.Background()
	const size = 10 << 10
	data := randomBytes(43, 50<<10)
	u, err := ts.Client.Create(ctx, ts.URL, size, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = ts.Client.Patch(ctx, u, 0, struct{ io.Reader }{bytes.NewReader(data)}, -1)
	if tusclient.Status(err) != http.StatusRequestEntityTooLarge {
		t.Fatalf("chunked PATCH of 50 KiB on a 10 KiB upload: %v, want 413", err)
	}
	if off, _, err := ts.Client.Head(ctx, u); err != nil || off != size {
		t.Fatalf("offset after the over-long PATCH: %d, %v; want %d", off, err, size)
	}
	ts.mustEqual(t, u, data[:size])
}
