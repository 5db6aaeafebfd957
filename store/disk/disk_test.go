package disk_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tusvault/tusvault/internal/backendtest"
	"github.com/tusvault/tusvault/store"
	"github.com/tusvault/tusvault/store/disk"
)

func TestConformance(t *testing.T) {
	backendtest.Run(t, func(t *testing.T) store.Backend {
		return newBackend(t, t.TempDir())
	})
}

func newBackend(t *testing.T, dir string) *disk.Backend {
	t.Helper()
	b, err := disk.New(dir)
	if err != nil {
		t.Fatalf("New(%q): %v", dir, err)
	}
	return b
}

func put(t *testing.T, b *disk.Backend, key string, data []byte) {
	t.Helper()
	if err := b.Put(t.Context(), key, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

func list(t *testing.T, b *disk.Backend, prefix string) []string {
	t.Helper()
	var keys []string
	if err := b.List(t.Context(), prefix, func(oi store.ObjectInfo) error {
		keys = append(keys, oi.Key)
		return nil
	}); err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	return keys
}

// files returns the regular files below dir, relative, slash-separated.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// completeMultipart stores data as a two-part multipart object with meta.
func completeMultipart(t *testing.T, b *disk.Backend, key string, meta map[string]string, data []byte) {
	t.Helper()
	ctx := t.Context()
	id, err := b.CreateMultipart(ctx, key, meta)
	if err != nil {
		t.Fatal(err)
	}
	half := len(data) / 2
	var parts []store.Part
	for i, chunk := range [][]byte{data[:half], data[half:]} {
		p, err := b.UploadPart(ctx, key, id, int32(i+1), bytes.NewReader(chunk), int64(len(chunk)))
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, p)
	}
	if err := b.CompleteMultipart(ctx, key, id, parts); err != nil {
		t.Fatal(err)
	}
}

func TestInvalidKeys(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "store")
	b := newBackend(t, dir)
	ctx := t.Context()
	// The longest valid key: 1024 bytes, segments within NAME_MAX.
	longest := strings.Repeat(strings.Repeat("a", 250)+"/", 4) + strings.Repeat("b", 20)
	long := longest + "c"
	for _, key := range []string{
		"", "/a", "a/", "a//b", "../x", "a/../b", "./a", "a/./b", "..", ".hidden",
		"a/.x", ".tusvault/tmp/x", "a\\b", "a\x00b", "a\nb", "a\x7fb", "a\xffb",
		"x.lock", "a/x.stop", "x.lock.123", long,
	} {
		body := bytes.NewReader([]byte("x"))
		errs := map[string]error{"Put": b.Put(ctx, key, body, 1), "Delete": b.Delete(ctx, key)}
		_, errs["Get"] = b.Get(ctx, key, 0, -1)
		_, errs["Head"] = b.Head(ctx, key)
		_, errs["CreateMultipart"] = b.CreateMultipart(ctx, key, nil)
		_, errs["UploadPart"] = b.UploadPart(ctx, key, "0123456789abcdef0123456789abcdef", 1, body, 1)
		_, errs["ListParts"] = b.ListParts(ctx, key, "0123456789abcdef0123456789abcdef")
		errs["CompleteMultipart"] = b.CompleteMultipart(ctx, key, "0123456789abcdef0123456789abcdef", nil)
		errs["AbortMultipart"] = b.AbortMultipart(ctx, key, "0123456789abcdef0123456789abcdef")
		for op, err := range errs {
			if !errors.Is(err, disk.ErrInvalidKey) {
				t.Errorf("%s(%q): %v, want ErrInvalidKey", op, key, err)
			}
		}
	}
	if entries, _ := os.ReadDir(parent); len(entries) != 1 {
		t.Errorf("files created next to the store directory: %v", entries)
	}
	if got := files(t, dir); len(got) != 0 {
		t.Errorf("files created for invalid keys: %q", got)
	}
	// The longest valid key works.
	if len(longest) != 1024 {
		t.Fatalf("longest key has %d bytes", len(longest))
	}
	put(t, b, longest, []byte("ok"))
}

func TestInternalsNotListed(t *testing.T) {
	dir := t.TempDir()
	b := newBackend(t, dir)
	put(t, b, "plain", []byte("p"))
	completeMultipart(t, b, "done", map[string]string{"k": "v"}, []byte("done!"))
	if _, err := b.CreateMultipart(t.Context(), "pending", map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	if got, want := list(t, b, ""), []string{"done", "plain"}; !slices.Equal(got, want) {
		t.Errorf("List = %q, want %q", got, want)
	}
	for _, prefix := range []string{".", ".tusvault", ".tusvault/meta/", ".tusvault/multipart/"} {
		if got := list(t, b, prefix); len(got) != 0 {
			t.Errorf("List(%q) = %q, want none", prefix, got)
		}
	}
	// The sidecar and the upload really are on disk.
	all := files(t, dir)
	if !slices.Contains(all, ".tusvault/meta/done") {
		t.Errorf("no metadata sidecar in %q", all)
	}
	if n := len(slices.DeleteFunc(all, func(f string) bool { return !strings.HasPrefix(f, ".tusvault/multipart/") })); n != 1 {
		t.Errorf("%d files in .tusvault/multipart, want 1 (the pending upload's record)", n)
	}
}

func TestForeignFilesSkipped(t *testing.T) {
	dir := t.TempDir()
	b := newBackend(t, dir)
	put(t, b, "abc", []byte("upload"))
	put(t, b, "sub/abc.info", []byte("info"))
	for _, name := range []string{
		"abc.lock", "abc.stop", "abc.lock.4242", "sub/abc.lock", "sub/abc.stop", ".hidden", "sub/.x",
		"back\\slash", "ctl\x01", ".dotdir/obj", "lock.lock/obj",
	} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("foreign"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(dir, "abc"), filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	// lock.lock/obj is a valid key in a directory with a lock-like name.
	put(t, b, "abc.lock.txt", []byte("not a lock file"))
	want := []string{"abc", "abc.lock.txt", "lock.lock/obj", "sub/abc.info"}
	if got := list(t, b, ""); !slices.Equal(got, want) {
		t.Errorf("List = %q, want %q", got, want)
	}
	if _, err := b.Head(t.Context(), "abc.lock"); !errors.Is(err, disk.ErrInvalidKey) {
		t.Errorf("Head(abc.lock): %v, want ErrInvalidKey", err)
	}
}

func TestFilePermissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "store")
	b := newBackend(t, dir)
	put(t, b, "a/b/put", []byte("x"))
	completeMultipart(t, b, "c/multi", map[string]string{"k": "v"}, []byte("multipart"))
	id, err := b.CreateMultipart(t.Context(), "c/pending", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.UploadPart(t.Context(), "c/pending", id, 1, bytes.NewReader([]byte("p")), 1); err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode().Perm(), want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
