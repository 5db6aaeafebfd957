package backendtest

import (
	"bytes"
	"errors"
	"maps"
	"slices"
	"testing"

	"github.com/tusvault/tusvault/store"
)

// uploadPart uploads data as part num or fails the test.
func uploadPart(t *testing.T, b store.Backend, key, id string, num int32, data []byte) store.Part {
	t.Helper()
	p, err := b.UploadPart(t.Context(), key, id, num, bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("UploadPart(%q, part %d, %d bytes): %v", key, num, len(data), err)
	}
	if p.Number != num || p.Size != int64(len(data)) || p.ETag == "" {
		t.Errorf("UploadPart returned %+v, want number %d, size %d and an ETag", p, num, len(data))
	}
	return p
}

func createMultipart(t *testing.T, b store.Backend, key string, meta map[string]string) string {
	t.Helper()
	id, err := b.CreateMultipart(t.Context(), key, meta)
	if err != nil {
		t.Fatalf("CreateMultipart(%q): %v", key, err)
	}
	if id == "" {
		t.Fatalf("CreateMultipart(%q) returned an empty id", key)
	}
	return id
}

func listParts(t *testing.T, b store.Backend, key, id string) []store.Part {
	t.Helper()
	parts, err := b.ListParts(t.Context(), key, id)
	if err != nil {
		t.Fatalf("ListParts(%q): %v", key, err)
	}
	return parts
}

func testMultipart(t *testing.T, b store.Backend) {
	ctx := t.Context()
	key := "mp/object"
	id := createMultipart(t, b, key, map[string]string{"Filename": "report.pdf", "upload-ID": "abc123"})
	data := [][]byte{RandomBytes(700, MinPartSize), RandomBytes(701, MinPartSize), RandomBytes(702, 1000)}

	// Out of order.
	p3 := uploadPart(t, b, key, id, 3, data[2])
	p1 := uploadPart(t, b, key, id, 1, data[0])
	p2 := uploadPart(t, b, key, id, 2, data[1])
	if got, want := listParts(t, b, key, id), []store.Part{p1, p2, p3}; !slices.Equal(got, want) {
		t.Errorf("ListParts = %+v, want %+v", got, want)
	}
	if _, err := b.Head(ctx, key); !errors.Is(err, store.ErrObjectNotFound) {
		t.Errorf("Head of an object still being uploaded: %v, want not found", err)
	}

	// Re-uploading a part number replaces the part.
	data[1] = RandomBytes(703, MinPartSize)
	p2b := uploadPart(t, b, key, id, 2, data[1])
	if p2b.ETag == p2.ETag {
		t.Errorf("re-uploaded part 2 with other data has the same ETag %s", p2.ETag)
	}
	parts := listParts(t, b, key, id)
	if want := []store.Part{p1, p2b, p3}; !slices.Equal(parts, want) {
		t.Errorf("ListParts after re-upload = %+v, want %+v", parts, want)
	}

	if err := b.CompleteMultipart(ctx, key, id, parts); err != nil {
		t.Fatalf("CompleteMultipart: %v", err)
	}
	equalBytes(t, "completed object", Get(t, b, key, 0, -1), bytes.Join(data, nil))
	equalBytes(t, "range across parts", Get(t, b, key, MinPartSize-10, 20), bytes.Join(data, nil)[MinPartSize-10:MinPartSize+10])
	info, err := b.Head(ctx, key)
	if err != nil {
		t.Fatalf("Head: %v", err)
	}
	if want := int64(2*MinPartSize + 1000); info.Size != want {
		t.Errorf("Head.Size = %d, want %d", info.Size, want)
	}
	if want := map[string]string{"filename": "report.pdf", "upload-id": "abc123"}; !maps.Equal(info.Meta, want) {
		t.Errorf("Head.Meta = %v, want %v", info.Meta, want)
	}
	if keys, _ := listKeys(t, b, "mp/"); !slices.Equal(keys, []string{key}) {
		t.Errorf("List(mp/) = %q, want [%q]", keys, key)
	}
	// The upload is gone.
	_, err = b.ListParts(ctx, key, id)
	wantNotFound(t, err, "ListParts after CompleteMultipart")
	_, err = b.UploadPart(ctx, key, id, 4, bytes.NewReader([]byte("x")), 1)
	wantNotFound(t, err, "UploadPart after CompleteMultipart")
}

func testMultipartMissingPart(t *testing.T, b store.Backend) {
	ctx := t.Context()
	key := "mpmissing/object"
	id := createMultipart(t, b, key, nil)
	p1 := uploadPart(t, b, key, id, 1, RandomBytes(800, MinPartSize))
	p3 := uploadPart(t, b, key, id, 3, RandomBytes(801, 100))

	missing := []store.Part{p1, {Number: 2, Size: MinPartSize, ETag: p1.ETag}, p3}
	err := b.CompleteMultipart(ctx, key, id, missing)
	if err == nil {
		t.Fatal("CompleteMultipart with a missing part succeeded")
	}
	if errors.Is(err, store.ErrObjectNotFound) {
		t.Errorf("CompleteMultipart with a missing part: %v; the upload exists, so want another error", err)
	}
	wrongETag := []store.Part{p1, {Number: 3, Size: p3.Size, ETag: p1.ETag}}
	if err := b.CompleteMultipart(ctx, key, id, wrongETag); err == nil {
		t.Fatal("CompleteMultipart with a wrong ETag succeeded")
	}
	_, err = b.Head(ctx, key)
	wantNotFound(t, err, "Head after failed CompleteMultipart")

	// The upload survives a failed completion.
	if got := listParts(t, b, key, id); !slices.Equal(got, []store.Part{p1, p3}) {
		t.Errorf("ListParts after failed completion = %+v, want %+v", got, []store.Part{p1, p3})
	}
	if err := b.AbortMultipart(ctx, key, id); err != nil {
		t.Errorf("AbortMultipart: %v", err)
	}
}

func testMultipartAbort(t *testing.T, b store.Backend) {
	ctx := t.Context()
	key := "mpabort/object"
	id := createMultipart(t, b, key, map[string]string{"a": "b"})
	uploadPart(t, b, key, id, 1, RandomBytes(900, 1000))
	for i := range 2 {
		if err := b.AbortMultipart(ctx, key, id); err != nil {
			t.Errorf("AbortMultipart #%d: %v", i, err)
		}
	}
	_, err := b.ListParts(ctx, key, id)
	wantNotFound(t, err, "ListParts after AbortMultipart")
	_, err = b.UploadPart(ctx, key, id, 2, bytes.NewReader([]byte("x")), 1)
	wantNotFound(t, err, "UploadPart after AbortMultipart")
	_, err = b.Head(ctx, key)
	wantNotFound(t, err, "Head after AbortMultipart")
	if keys, _ := listKeys(t, b, "mpabort/"); len(keys) != 0 {
		t.Errorf("List after AbortMultipart = %q, want none", keys)
	}
}

func testMultipartUnknownID(t *testing.T, b store.Backend) {
	ctx := t.Context()
	key := "mpunknown/object"
	// An id that existed once, and one that never did.
	gone := createMultipart(t, b, key, nil)
	if err := b.AbortMultipart(ctx, key, gone); err != nil {
		t.Fatalf("AbortMultipart: %v", err)
	}
	for _, id := range []string{gone, "0123456789abcdef0123456789abcdef", "no-such-upload"} {
		if err := b.AbortMultipart(ctx, key, id); err != nil {
			t.Errorf("AbortMultipart(%q) of an unknown upload: %v", id, err)
		}
		_, err := b.UploadPart(ctx, key, id, 1, bytes.NewReader([]byte("x")), 1)
		wantNotFound(t, err, "UploadPart to unknown upload "+id)
		_, err = b.ListParts(ctx, key, id)
		wantNotFound(t, err, "ListParts of unknown upload "+id)
		err = b.CompleteMultipart(ctx, key, id, []store.Part{{Number: 1, Size: 1, ETag: "x"}})
		wantNotFound(t, err, "CompleteMultipart of unknown upload "+id)
	}
}

func testMultipartOddSizes(t *testing.T, b store.Backend) {
	ctx := t.Context()
	key := "mpodd/object"
	id := createMultipart(t, b, key, nil)
	data := [][]byte{RandomBytes(1000, MinPartSize+1), RandomBytes(1001, 1)}
	parts := []store.Part{uploadPart(t, b, key, id, 1, data[0]), uploadPart(t, b, key, id, 2, data[1])}
	if err := b.CompleteMultipart(ctx, key, id, parts); err != nil {
		t.Fatalf("CompleteMultipart: %v", err)
	}
	all := bytes.Join(data, nil)
	equalBytes(t, "completed object", Get(t, b, key, 0, -1), all)
	equalBytes(t, "last two bytes", Get(t, b, key, MinPartSize, -1), all[MinPartSize:])
	info, err := b.Head(ctx, key)
	if err != nil {
		t.Fatalf("Head: %v", err)
	}
	if info.Size != MinPartSize+2 || len(info.Meta) != 0 {
		t.Errorf("Head = size %d, meta %v; want size %d, no meta", info.Size, info.Meta, MinPartSize+2)
	}
}
