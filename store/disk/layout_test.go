package disk_test

import (
	"bytes"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tusvault/tusvault/internal/backendtest"
	"github.com/tusvault/tusvault/store"
)

func TestLayout(t *testing.T) {
	dir := t.TempDir()
	b := newBackend(t, dir)
	ctx := t.Context()
	data := []byte("0123456789")
	completeMultipart(t, b, "x/y", map[string]string{"Name": "v"}, data)
	if got, err := os.ReadFile(filepath.Join(dir, "x", "y")); err != nil || !bytes.Equal(got, data) {
		t.Errorf("object file: %q, %v; want %q", got, err, data)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, ".tusvault", "multipart")); len(entries) != 0 {
		t.Errorf("multipart directory not removed after completion: %v", entries)
	}
	info, err := b.Head(ctx, "x/y")
	if err != nil || !maps.Equal(info.Meta, map[string]string{"name": "v"}) {
		t.Errorf("Head = %+v, %v", info, err)
	}
	// Put replaces the object and drops its metadata.
	put(t, b, "x/y", []byte("plain"))
	if info, err := b.Head(ctx, "x/y"); err != nil || info.Meta != nil {
		t.Errorf("Head after Put = %+v, %v; want nil meta", info, err)
	}
	if _, err := os.Stat(filepath.Join(dir, ".tusvault", "meta", "x", "y")); !os.IsNotExist(err) {
		t.Errorf("sidecar remains after Put: %v", err)
	}
	// Delete removes the sidecar and empty directories of both trees.
	completeMultipart(t, b, "x/y", map[string]string{"k": "v"}, data)
	if err := b.Delete(ctx, "x/y"); err != nil {
		t.Fatal(err)
	}
	if got := files(t, dir); len(got) != 0 {
		t.Errorf("files after Delete: %q", got)
	}
	for _, d := range []string{"x", ".tusvault/meta/x"} {
		if _, err := os.Stat(filepath.Join(dir, d)); !os.IsNotExist(err) {
			t.Errorf("%s remains after Delete: %v", d, err)
		}
	}
}

func TestStaleSidecarIgnored(t *testing.T) {
	dir := t.TempDir()
	b := newBackend(t, dir)
	completeMultipart(t, b, "obj", map[string]string{"k": "v"}, []byte("four"))
	// As if a crash happened after a Put's rename, before the sidecar went.
	if err := os.WriteFile(filepath.Join(dir, "obj"), []byte("longer"), 0o600); err != nil {
		t.Fatal(err)
	}
	if info, err := b.Head(t.Context(), "obj"); err != nil || info.Size != 6 || info.Meta != nil {
		t.Errorf("Head = %+v, %v; want size 6 and no meta", info, err)
	}
}

func TestMultipartArguments(t *testing.T) {
	b := newBackend(t, t.TempDir())
	ctx := t.Context()
	if _, err := b.CreateMultipart(ctx, "m", map[string]string{"K": "1", "k": "2"}); err == nil {
		t.Error("CreateMultipart with meta keys differing only in case succeeded")
	}
	id, err := b.CreateMultipart(ctx, "m", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" {
		t.Errorf("multipart id %q is not 32 hex digits", id)
	}
	for _, num := range []int32{0, -1, 10001} {
		if _, err := b.UploadPart(ctx, "m", id, num, bytes.NewReader([]byte("x")), 1); err == nil {
			t.Errorf("UploadPart with part number %d succeeded", num)
		}
	}
	p10000, err := b.UploadPart(ctx, "m", id, 10000, bytes.NewReader([]byte("last")), 4)
	if err != nil {
		t.Fatal(err)
	}
	p1, err := b.UploadPart(ctx, "m", id, 1, bytes.NewReader([]byte("first")), 5)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.ListParts(ctx, "other", id); !errors.Is(err, store.ErrObjectNotFound) {
		t.Errorf("ListParts with another key: %v, want not found", err)
	}
	for name, parts := range map[string][]store.Part{
		"no parts":   nil,
		"descending": {p10000, p1},
		"duplicate":  {p1, p1},
	} {
		if err := b.CompleteMultipart(ctx, "m", id, parts); err == nil {
			t.Errorf("CompleteMultipart with %s succeeded", name)
		}
	}
	quoted := store.Part{Number: 1, ETag: `"` + p1.ETag + `"`}
	if err := b.CompleteMultipart(ctx, "m", id, []store.Part{quoted, p10000}); err != nil {
		t.Fatalf("CompleteMultipart with a quoted ETag: %v", err)
	}
	if got := backendtest.Get(t, b, "m", 0, -1); string(got) != "firstlast" {
		t.Errorf("object = %q, want \"firstlast\"", got)
	}
}

func TestCompleteConflictLeavesNoSidecar(t *testing.T) {
	dir := t.TempDir()
	b := newBackend(t, dir)
	put(t, b, "a/b", []byte("below"))
	ctx := t.Context()
	id, err := b.CreateMultipart(ctx, "a", map[string]string{"k": "v"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := b.UploadPart(ctx, "a", id, 1, bytes.NewReader([]byte("x")), 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.CompleteMultipart(ctx, "a", id, []store.Part{p}); err == nil {
		t.Fatal("CompleteMultipart over a directory of keys succeeded")
	}
	if _, err := os.Stat(filepath.Join(dir, ".tusvault", "meta", "a")); !os.IsNotExist(err) {
		t.Errorf("sidecar of the failed object remains: %v", err)
	}
	if err := b.AbortMultipart(ctx, "a", id); err != nil {
		t.Fatal(err)
	}
	wantNoTemp(t, dir)
}
