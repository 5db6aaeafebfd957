package disk_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/tusvault/tusvault/internal/backendtest"
	"github.com/tusvault/tusvault/store"
)

// failingReader yields the first n bytes of data, then fails.
type failingReader struct {
	*bytes.Reader
	n int64
}

var errBroken = errors.New("connection broken")

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errBroken
	}
	if int64(len(p)) > f.n {
		p = p[:f.n]
	}
	n, err := f.Reader.Read(p)
	f.n -= int64(n)
	return n, err
}

// wantNoTemp fails if the backend's temp directory is not empty.
func wantNoTemp(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, ".tusvault", "tmp"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("temp files left behind: %q", names)
	}
}

func TestInterruptedPut(t *testing.T) {
	dir := t.TempDir()
	b := newBackend(t, dir)
	old := backendtest.RandomBytes(1, 100*1024)
	put(t, b, "obj", old)
	next := backendtest.RandomBytes(2, len(old))

	body := &failingReader{bytes.NewReader(next), int64(len(next) / 2)}
	if err := b.Put(t.Context(), "obj", body, int64(len(next))); !errors.Is(err, errBroken) {
		t.Errorf("Put with a failing body: %v, want %v", err, errBroken)
	}
	// A body shorter than the announced size is an error too.
	short := bytes.NewReader(next[:10])
	if err := b.Put(t.Context(), "obj", short, int64(len(next))); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("Put with a short body: %v, want io.ErrUnexpectedEOF", err)
	}
	if !bytes.Equal(backendtest.Get(t, b, "obj", 0, -1), old) {
		t.Error("interrupted Put changed the object")
	}
	// Same for a part.
	id, err := b.CreateMultipart(t.Context(), "mp", nil)
	if err != nil {
		t.Fatal(err)
	}
	p1, err := b.UploadPart(t.Context(), "mp", id, 1, bytes.NewReader(old), int64(len(old)))
	if err != nil {
		t.Fatal(err)
	}
	body = &failingReader{bytes.NewReader(next), int64(len(next) / 2)}
	if _, err := b.UploadPart(t.Context(), "mp", id, 1, body, int64(len(next))); !errors.Is(err, errBroken) {
		t.Errorf("UploadPart with a failing body: %v, want %v", err, errBroken)
	}
	if parts, err := b.ListParts(t.Context(), "mp", id); err != nil || !slices.Equal(parts, []store.Part{p1}) {
		t.Errorf("ListParts after interrupted UploadPart = %+v, %v; want [%+v]", parts, err, p1)
	}
	wantNoTemp(t, dir)
}

func TestNoTempFilesLeft(t *testing.T) {
	dir := t.TempDir()
	b := newBackend(t, dir)
	ctx := t.Context()
	put(t, b, "a/b", []byte("x"))
	put(t, b, "a/b", []byte("y"))
	completeMultipart(t, b, "c/d", map[string]string{"k": "v"}, []byte("hello world"))
	id, err := b.CreateMultipart(ctx, "e", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.UploadPart(ctx, "e", id, 1, bytes.NewReader([]byte("z")), 1); err != nil {
		t.Fatal(err)
	}
	if err := b.CompleteMultipart(ctx, "e", id, []store.Part{{Number: 1, ETag: "bad"}}); err == nil {
		t.Error("CompleteMultipart with a bad ETag succeeded")
	}
	if err := b.AbortMultipart(ctx, "e", id); err != nil {
		t.Fatal(err)
	}
	if err := b.Delete(ctx, "a/b"); err != nil {
		t.Fatal(err)
	}

	wantNoTemp(t, dir)
	want := []string{".tusvault/meta/c/d", "c/d"}
	if got := files(t, dir); !slices.Equal(got, want) {
		t.Errorf("files = %q, want %q", got, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "a")); !os.IsNotExist(err) {
		t.Errorf("empty parent directory of a deleted object remains: %v", err)
	}
}

func TestKeyDirectoryConflict(t *testing.T) {
	b := newBackend(t, t.TempDir())
	put(t, b, "a/b", []byte("below"))
	if err := b.Put(t.Context(), "a", bytes.NewReader([]byte("x")), 1); err == nil {
		t.Error("Put over a directory of keys succeeded")
	}
	put(t, b, "f", []byte("file"))
	if err := b.Put(t.Context(), "f/g", bytes.NewReader([]byte("x")), 1); err == nil {
		t.Error("Put below an object succeeded")
	}
	if !bytes.Equal(backendtest.Get(t, b, "a/b", 0, -1), []byte("below")) || !bytes.Equal(backendtest.Get(t, b, "f", 0, -1), []byte("file")) {
		t.Error("a failed Put changed other objects")
	}
}

func TestCanceledContext(t *testing.T) {
	b := newBackend(t, t.TempDir())
	put(t, b, "obj", []byte("x"))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := b.Put(ctx, "obj2", bytes.NewReader([]byte("x")), 1); !errors.Is(err, context.Canceled) {
		t.Errorf("Put: %v", err)
	}
	if _, err := b.Get(ctx, "obj", 0, -1); !errors.Is(err, context.Canceled) {
		t.Errorf("Get: %v", err)
	}
	if err := b.List(ctx, "", func(store.ObjectInfo) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("List: %v", err)
	}
	if _, err := b.CreateMultipart(ctx, "obj3", nil); !errors.Is(err, context.Canceled) {
		t.Errorf("CreateMultipart: %v", err)
	}
}

func TestReaderKeepsVersion(t *testing.T) {
	b := newBackend(t, t.TempDir())
	put(t, b, "obj", []byte("old content"))
	rc, err := b.Get(t.Context(), "obj", 4, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	put(t, b, "obj", []byte("new content"))
	if err := b.Delete(t.Context(), "obj"); err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(rc); err != nil || string(got) != "con" {
		t.Errorf("read = %q, %v; want \"con\"", got, err)
	}
}

func TestNewRemovesStaleTemp(t *testing.T) {
	dir := t.TempDir()
	newBackend(t, dir)
	tmp := filepath.Join(dir, ".tusvault", "tmp")
	old, fresh := filepath.Join(tmp, "put-old"), filepath.Join(tmp, "put-fresh")
	for _, p := range []string{old, fresh} {
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	past := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(old, past, past); err != nil {
		t.Fatal(err)
	}
	newBackend(t, dir)
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("stale temp file not removed: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("recent temp file (maybe in use) removed: %v", err)
	}
}
