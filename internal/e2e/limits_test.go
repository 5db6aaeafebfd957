package e2e

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tusvault/tusvault/internal/tusclient"
)

// A PATCH body longer than Upload-Length is handled as in tusd: the bytes
// up to the length are kept (tus 1.0: store as much of the received data
// as possible), the upload completes, and the answer is 413.
func TestOverlongBodyKeepsUpToLength(t *testing.T) {
	ctx := testCtx(t, 60*time.Second)
	dir := t.TempDir()
	s := startServer(t, dir)
	c := newClient()
	const size = 10240
	body := randomBytes(6101, 50<<10)
	u, err := c.Create(ctx, s.Endpoint, size, map[string]string{"filename": "over.bin"})
	if err != nil {
		t.Fatal(err)
	}
	hdr := map[string]string{"Content-Type": tusclient.ContentTypeOffset, "Upload-Offset": "0"}
	status, text := rawRequest(t, c, ctx, http.MethodPatch, u, hdr, onlyReader{bytes.NewReader(body)}, -1)
	if status != http.StatusRequestEntityTooLarge {
		t.Fatalf("chunked 50 KiB PATCH on a 10 KiB upload: %d %q, want 413", status, text)
	}
	if off, _, err := c.Head(ctx, u); err != nil || off != size {
		t.Fatalf("offset after the over-long PATCH: %d, %v; want %d", off, err, size)
	}
	checkGetFull(t, c, ctx, u, body[:size])
	checkDecrypt(t, s, uploadID(t, u), body[:size])

	// With a Content-Length beyond the length, tusd refuses before
	// reading: nothing of that request is stored.
	u2, err := c.Create(ctx, s.Endpoint, size, nil)
	if err != nil {
		t.Fatal(err)
	}
	status, _ = rawRequest(t, c, ctx, http.MethodPatch, u2, hdr, bytes.NewReader(body), int64(len(body)))
	if off, _, err := c.Head(ctx, u2); status != http.StatusRequestEntityTooLarge || err != nil || off != 0 {
		t.Fatalf("PATCH with Content-Length %d on a %d-byte upload: %d, offset %d, %v; want 413 at 0", len(body), size, status, off, err)
	}
}

// An Upload-Length that would need more than 10,000 parts of S3's largest
// (5 GiB) is refused at creation with 413 naming the largest size
// accepted, with no -max-size; nothing is stored.
func TestHugeUploadLengthRefused(t *testing.T) {
	ctx := testCtx(t, 30*time.Second)
	dir := t.TempDir()
	s := startServer(t, dir)
	c := newClient()
	status, body := rawRequest(t, c, ctx, http.MethodPost, s.Endpoint, map[string]string{"Upload-Length": "1000000000000000000"}, nil, 0)
	if status != http.StatusRequestEntityTooLarge || !strings.Contains(body, "ERR_UPLOAD_SIZE_EXCEEDED") || !strings.Contains(body, "53687091200000 bytes") {
		t.Fatalf("POST with Upload-Length 1e18: %d %q; want 413 naming 53687091200000 bytes", status, body)
	}
	if n := countInfos(t, dir); n != 0 {
		t.Fatalf("a refused creation stored %d uploads", n)
	}
}
