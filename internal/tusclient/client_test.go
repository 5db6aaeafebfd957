package tusclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeTus is a minimal in-memory tus 1.0 server that records what the
// client sent.
type fakeTus struct {
	mu      sync.Mutex
	t       *testing.T
	next    int
	uploads map[string]*fakeUpload
	patches []patchRecord
	headers []http.Header // headers of every request
}

type fakeUpload struct {
	data     []byte
	length   int64 // -1 deferred
	metadata string
}

type patchRecord struct {
	offset  int64
	n       int
	chunked bool
}

func newFake(t *testing.T) (*fakeTus, *httptest.Server) {
	f := &fakeTus{t: t, uploads: map[string]*fakeUpload{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeTus) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.headers = append(f.headers, r.Header.Clone())
	if r.Header.Get("Tus-Resumable") != "1.0.0" {
		http.Error(w, "missing Tus-Resumable", http.StatusPreconditionFailed)
		return
	}
	if r.URL.Path == "/files/" && r.Method == http.MethodPost {
		u := &fakeUpload{metadata: r.Header.Get("Upload-Metadata")}
		if r.Header.Get("Upload-Defer-Length") == "1" {
			u.length = -1
		} else {
			n, err := strconv.ParseInt(r.Header.Get("Upload-Length"), 10, 64)
			if err != nil || n < 0 {
				http.Error(w, "ERR_INVALID_UPLOAD_LENGTH", http.StatusBadRequest)
				return
			}
			u.length = n
		}
		f.next++
		id := fmt.Sprintf("up%d", f.next)
		f.uploads[id] = u
		w.Header().Set("Location", "/files/"+id) // relative on purpose
		w.WriteHeader(http.StatusCreated)
		return
	}
	id, ok := strings.CutPrefix(r.URL.Path, "/files/")
	u := f.uploads[id]
	if !ok || u == nil {
		http.Error(w, "ERR_UPLOAD_NOT_FOUND", http.StatusNotFound)
		return
	}
	switch r.Method {
	case http.MethodHead:
		w.Header().Set("Upload-Offset", strconv.Itoa(len(u.data)))
		if u.length >= 0 {
			w.Header().Set("Upload-Length", strconv.FormatInt(u.length, 10))
		}
		w.WriteHeader(http.StatusOK)
	case http.MethodPatch:
		if r.Header.Get("Content-Type") != "application/offset+octet-stream" {
			http.Error(w, "ERR_INVALID_CONTENT_TYPE", http.StatusUnsupportedMediaType)
			return
		}
		off, err := strconv.ParseInt(r.Header.Get("Upload-Offset"), 10, 64)
		if err != nil || off != int64(len(u.data)) {
			http.Error(w, "ERR_MISMATCHED_OFFSET", http.StatusConflict)
			return
		}
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if u.length >= 0 && off+int64(len(b)) > u.length {
			http.Error(w, "ERR_UPLOAD_SIZE_EXCEEDED", http.StatusRequestEntityTooLarge)
			return
		}
		chunked := len(r.TransferEncoding) > 0 && r.TransferEncoding[0] == "chunked"
		f.patches = append(f.patches, patchRecord{offset: off, n: len(b), chunked: chunked})
		u.data = append(u.data, b...)
		w.Header().Set("Upload-Offset", strconv.Itoa(len(u.data)))
		w.WriteHeader(http.StatusNoContent)
	case http.MethodGet:
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(u.data))
	case http.MethodDelete:
		delete(f.uploads, id)
		w.WriteHeader(http.StatusNoContent)
	default:
		http.Error(w, "method", http.StatusMethodNotAllowed)
	}
}

func testData(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

func TestEncodeDecodeMetadata(t *testing.T) {
	meta := map[string]string{"filename": "a b,c.jpg", "filetype": "image/jpeg", "empty": ""}
	enc := EncodeMetadata(meta)
	want := "empty,filename YSBiLGMuanBn,filetype aW1hZ2UvanBlZw=="
	if enc != want {
		t.Fatalf("EncodeMetadata = %q, want %q", enc, want)
	}
	got, err := DecodeMetadata(enc)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(meta) {
		t.Fatalf("DecodeMetadata = %v, want %v", got, meta)
	}
	for k, v := range meta {
		if got[k] != v {
			t.Fatalf("DecodeMetadata[%q] = %q, want %q", k, got[k], v)
		}
	}
	for _, bad := range []string{"filename !!!notbase64", "a b c", ",x"} {
		if _, err := DecodeMetadata(bad); err == nil {
			t.Errorf("DecodeMetadata(%q) accepted a malformed value", bad)
		}
	}
}

func TestCreateHeadUploadGetDelete(t *testing.T) {
	f, srv := newFake(t)
	ctx := context.Background()
	c := &Client{HTTP: srv.Client(), Header: http.Header{"Authorization": {"Bearer xyz"}}}

	data := testData(1000)
	u, err := c.Create(ctx, srv.URL+"/files/", int64(len(data)), map[string]string{"filename": "x.bin"})
	if err != nil {
		t.Fatal(err)
	}
	if want := srv.URL + "/files/up1"; u != want {
		t.Fatalf("Create returned %q, want the resolved Location %q", u, want)
	}
	if got := UploadID(u); got != "up1" {
		t.Fatalf("UploadID(%q) = %q", u, got)
	}
	if got := f.uploads["up1"].metadata; got != "filename eC5iaW4=" {
		t.Fatalf("Upload-Metadata sent = %q", got)
	}

	off, length, err := c.Head(ctx, u)
	if err != nil || off != 0 || length != 1000 {
		t.Fatalf("Head = %d, %d, %v; want 0, 1000, nil", off, length, err)
	}
	if err := c.Upload(ctx, u, data, []int{1, 15, 100}); err != nil {
		t.Fatal(err)
	}
	var sizes []int
	for _, p := range f.patches {
		sizes = append(sizes, p.n)
		if p.chunked {
			t.Errorf("PATCH at %d was chunked although its size is known", p.offset)
		}
	}
	wantSizes := []int{1, 15, 100, 100, 100, 100, 100, 100, 100, 100, 100, 84}
	if fmt.Sprint(sizes) != fmt.Sprint(wantSizes) {
		t.Fatalf("PATCH sizes = %v, want %v", sizes, wantSizes)
	}
	if off, _, err := c.Head(ctx, u); err != nil || off != 1000 {
		t.Fatalf("Head after upload = %d, %v", off, err)
	}

	status, body, hdr, err := c.Get(ctx, u, "")
	if err != nil || status != 200 || !bytes.Equal(body, data) {
		t.Fatalf("Get = %d, %d bytes, %v", status, len(body), err)
	}
	status, body, hdr, err = c.Get(ctx, u, "bytes=10-99")
	if err != nil || status != http.StatusPartialContent || !bytes.Equal(body, data[10:100]) {
		t.Fatalf("ranged Get = %d, %d bytes, %v", status, len(body), err)
	}
	if got := hdr.Get("Content-Range"); got != "bytes 10-99/1000" {
		t.Fatalf("Content-Range = %q", got)
	}

	for _, h := range f.headers {
		if h.Get("Authorization") != "Bearer xyz" || h.Get("Tus-Resumable") != "1.0.0" {
			t.Fatalf("a request lacked the client headers: %v", h)
		}
	}

	if err := c.Delete(ctx, u); err != nil {
		t.Fatal(err)
	}
	if _, _, err = c.Head(ctx, u); Status(err) != http.StatusNotFound {
		t.Fatalf("Head after Delete: %v, want 404", err)
	}
	_, err = c.Patch(ctx, u, 0, strings.NewReader("x"), 1)
	var se *StatusError
	if !errors.As(err, &se) || se.Status != http.StatusNotFound || !strings.Contains(se.Body, "ERR_UPLOAD_NOT_FOUND") {
		t.Fatalf("Patch after Delete: %v, want a 404 StatusError with the body", err)
	}
}

func TestDeferredLengthAndChunkedPatch(t *testing.T) {
	f, srv := newFake(t)
	ctx := context.Background()
	c := &Client{HTTP: srv.Client()}
	u, err := c.Create(ctx, srv.URL+"/files/", -1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if f.uploads["up1"].length != -1 {
		t.Fatal("Create(-1) did not send Upload-Defer-Length: 1")
	}
	if _, length, err := c.Head(ctx, u); err != nil || length != -1 {
		t.Fatalf("Head of a deferred upload = length %d, %v; want -1", length, err)
	}
	data := testData(300)
	// A reader whose size the transport cannot know.
	off, err := c.Patch(ctx, u, 0, io.MultiReader(bytes.NewReader(data)), -1)
	if err != nil || off != 300 {
		t.Fatalf("chunked Patch = %d, %v", off, err)
	}
	if len(f.patches) != 1 || !f.patches[0].chunked {
		t.Fatalf("PATCH with size -1 was not chunked: %+v", f.patches)
	}
	// Empty PATCH.
	if off, err := c.Patch(ctx, u, 300, nil, 0); err != nil || off != 300 {
		t.Fatalf("empty Patch = %d, %v", off, err)
	}
}

func TestStatusErrors(t *testing.T) {
	_, srv := newFake(t)
	ctx := context.Background()
	c := &Client{HTTP: srv.Client()}
	u, err := c.Create(ctx, srv.URL+"/files/", 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Patch(ctx, u, 5, strings.NewReader("abc"), 3)
	var se *StatusError
	if !errors.As(err, &se) || se.Status != http.StatusConflict || !strings.Contains(se.Body, "ERR_MISMATCHED_OFFSET") {
		t.Fatalf("Patch at a wrong offset: %v; want 409 with the body", err)
	}
	if _, err := c.Patch(ctx, u, 0, bytes.NewReader(testData(11)), 11); Status(err) != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized Patch: %v; want 413", err)
	}
	if err := c.Upload(ctx, u, testData(10), []int{0}); err == nil {
		t.Fatal("Upload accepted a zero piece size")
	}
	if _, err := c.Create(ctx, srv.URL+"/nowhere/", 1, nil); Status(err) != http.StatusNotFound {
		t.Fatalf("Create at a bad endpoint: %v; want 404", err)
	}
	// Missing Tus-Resumable is added by Do.
	req, _ := http.NewRequest(http.MethodHead, u, nil)
	resp, err := c.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("Do without Tus-Resumable: %v %v", resp, err)
	}
	resp.Body.Close()
}

func TestResume(t *testing.T) {
	f, srv := newFake(t)
	ctx := context.Background()
	c := &Client{HTTP: srv.Client()}
	data := testData(500)
	u, err := c.Create(ctx, srv.URL+"/files/", 500, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Patch(ctx, u, 0, bytes.NewReader(data[:123]), 123); err != nil {
		t.Fatal(err)
	}
	if err := c.Resume(ctx, u, data, []int{200}); err != nil {
		t.Fatal(err)
	}
	if got := f.uploads["up1"].data; !bytes.Equal(got, data) {
		t.Fatal("resumed upload differs")
	}
	if len(f.patches) != 3 || f.patches[1].offset != 123 || f.patches[2].n != 177 {
		t.Fatalf("patches = %+v", f.patches)
	}
}
