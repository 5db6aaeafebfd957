package backendtest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tusvault/tusvault/store"
)

func testPutGet(t *testing.T, b store.Backend) {
	for i, n := range []int{0, 1, MiB} {
		key := fmt.Sprintf("roundtrip/obj-%d", n)
		data := RandomBytes(uint64(100+i), n)
		put(t, b, key, data)
		equalBytes(t, key, Get(t, b, key, 0, -1), data)
		info, err := b.Head(t.Context(), key)
		if err != nil {
			t.Fatalf("Head(%q): %v", key, err)
		}
		if info.Size != int64(n) {
			t.Errorf("Head(%q).Size = %d, want %d", key, info.Size, n)
		}
	}
}

func testGetRange(t *testing.T, b store.Backend) {
	const size = 10000
	data := RandomBytes(200, size)
	key := "range/obj"
	put(t, b, key, data)
	for _, tc := range []struct {
		name        string
		off, length int64
		want        []byte
	}{
		{"start", 0, 100, data[:100]},
		{"middle", 4000, 1234, data[4000:5234]},
		{"to end", 9000, -1, data[9000:]},
		{"whole", 0, -1, data},
		{"whole exact", 0, size, data},
		{"past end truncated", 9900, 500, data[9900:]},
		{"last byte", size - 1, 1, data[size-1:]},
		{"off == size", size, -1, nil},
		{"off == size with length", size, 10, nil},
	} {
		got := Get(t, b, key, tc.off, tc.length)
		equalBytes(t, fmt.Sprintf("%s: Get(%d, %d)", tc.name, tc.off, tc.length), got, tc.want)
	}
}

func testPutReplaceAtomic(t *testing.T, b store.Backend) {
	const (
		size    = 256 * KiB
		writes  = 20
		readers = 4
		maxRead = 500 // per reader, bounds the test on slow backends
	)
	key := "atomic/obj"
	versions := [][]byte{RandomBytes(300, size), RandomBytes(301, size)}
	put(t, b, key, versions[0])

	var done atomic.Bool
	var wg sync.WaitGroup
	for r := range readers {
		wg.Go(func() {
			for i := 0; i < maxRead && !done.Load(); i++ {
				got, err := read(t, b, key, 0, -1)
				if err != nil {
					t.Errorf("reader %d: Get during replace: %v", r, err)
					return
				}
				if !bytes.Equal(got, versions[0]) && !bytes.Equal(got, versions[1]) {
					t.Errorf("reader %d: Get returned %d bytes that are neither version", r, len(got))
					return
				}
			}
		})
	}
	for i := range writes {
		data := versions[(i+1)%2]
		if err := b.Put(t.Context(), key, bytes.NewReader(data), size); err != nil {
			t.Errorf("Put #%d: %v", i, err)
			break
		}
	}
	done.Store(true)
	wg.Wait()
	equalBytes(t, "after replaces", Get(t, b, key, 0, -1), versions[writes%2])
}

func testHead(t *testing.T, b store.Backend) {
	key := "head/obj"
	put(t, b, key, RandomBytes(400, 123))
	info, err := b.Head(t.Context(), key)
	if err != nil {
		t.Fatalf("Head: %v", err)
	}
	if info.Key != key || info.Size != 123 {
		t.Errorf("Head = {Key %q, Size %d}, want {%q, 123}", info.Key, info.Size, key)
	}
	if len(info.Meta) != 0 {
		t.Errorf("Head of a Put object: Meta = %v, want none", info.Meta)
	}
	checkModTime(t, "Head", info.ModTime)
	err = b.List(t.Context(), key, func(oi store.ObjectInfo) error {
		checkModTime(t, "List", oi.ModTime)
		return nil
	})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
}

// checkModTime fails unless mt is within a few minutes of now (server
// clocks may differ slightly from the test's).
func checkModTime(t *testing.T, what string, mt time.Time) {
	t.Helper()
	if d := time.Since(mt); d < -5*time.Minute || d > 5*time.Minute {
		t.Errorf("%s: ModTime %v is not close to now", what, mt)
	}
}

func testNotFound(t *testing.T, b store.Backend) {
	ctx := t.Context()
	_, err := b.Get(ctx, "missing/obj", 0, -1)
	wantNotFound(t, err, "Get of a missing object")
	_, err = b.Head(ctx, "missing/obj")
	wantNotFound(t, err, "Head of a missing object")

	// A "directory" of other keys is not an object.
	put(t, b, "missing/dir/obj", []byte("x"))
	_, err = b.Get(ctx, "missing/dir", 0, -1)
	wantNotFound(t, err, "Get of a key prefix")
	_, err = b.Head(ctx, "missing/dir")
	wantNotFound(t, err, "Head of a key prefix")
	// Below an existing object.
	_, err = b.Get(ctx, "missing/dir/obj/below", 0, -1)
	wantNotFound(t, err, "Get below an object")
}

func testDelete(t *testing.T, b store.Backend) {
	ctx := t.Context()
	key := "delete/obj"
	if err := b.Delete(ctx, key); err != nil {
		t.Errorf("Delete of a missing object: %v", err)
	}
	put(t, b, key, []byte("data"))
	for i := range 2 {
		if err := b.Delete(ctx, key); err != nil {
			t.Errorf("Delete #%d: %v", i, err)
		}
	}
	_, err := b.Head(ctx, key)
	wantNotFound(t, err, "Head after Delete")
	_, err = b.Get(ctx, key, 0, -1)
	wantNotFound(t, err, "Get after Delete")

	// Deleting a key prefix leaves the keys below it alone.
	put(t, b, "delete/dir/obj", []byte("keep"))
	if err := b.Delete(ctx, "delete/dir"); err != nil {
		t.Errorf("Delete of a key prefix: %v", err)
	}
	equalBytes(t, "object below a deleted prefix", Get(t, b, "delete/dir/obj", 0, -1), []byte("keep"))
}

func testSlashes(t *testing.T, b store.Backend) {
	ctx := t.Context()
	key := "deep/a/b/c/d.info"
	data := RandomBytes(500, 777)
	put(t, b, key, data)
	equalBytes(t, key, Get(t, b, key, 0, -1), data)
	if keys, _ := listKeys(t, b, "deep/"); !slices.Equal(keys, []string{key}) {
		t.Errorf("List(deep/) = %q, want [%q]", keys, key)
	}
	if err := b.Delete(ctx, key); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if keys, _ := listKeys(t, b, "deep/"); len(keys) != 0 {
		t.Errorf("List(deep/) after Delete = %q, want none", keys)
	}
	// Once "deep/a/..." is gone, "deep/a" itself can be an object.
	put(t, b, "deep/a", []byte("a"))
	equalBytes(t, "deep/a", Get(t, b, "deep/a", 0, -1), []byte("a"))
}

func testList(t *testing.T, b store.Backend) {
	ctx := t.Context()
	// '.' < '/' < '0': a naive directory walk gets "ls/a/b" and "ls/a.c"
	// in the wrong order.
	sizes := map[string]int{
		"ls/b": 4, "ls/a0": 3, "ls/a/b": 2, "ls/a.c": 1, "ls/z/y/x": 5,
		"lsx/other": 6, "other/ls/x": 7,
	}
	for _, k := range []string{"ls/z/y/x", "ls/b", "other/ls/x", "ls/a/b", "lsx/other", "ls/a0", "ls/a.c"} {
		put(t, b, k, RandomBytes(600, sizes[k]))
	}
	// An upload in progress is not an object yet.
	id, err := b.CreateMultipart(ctx, "ls/pending", nil)
	if err != nil {
		t.Fatalf("CreateMultipart: %v", err)
	}
	uploadPart(t, b, "ls/pending", id, 1, RandomBytes(601, 10))

	for _, tc := range []struct {
		prefix string
		want   []string
	}{
		{"ls/", []string{"ls/a.c", "ls/a/b", "ls/a0", "ls/b", "ls/z/y/x"}},
		{"ls/a", []string{"ls/a.c", "ls/a/b", "ls/a0"}},
		{"ls/a/", []string{"ls/a/b"}},
		{"ls/z/", []string{"ls/z/y/x"}},
		{"ls", []string{"ls/a.c", "ls/a/b", "ls/a0", "ls/b", "ls/z/y/x", "lsx/other"}},
		{"ls/b", []string{"ls/b"}},
		{"ls/nothing", nil},
		{"ls/pending", nil},
	} {
		keys, got := listKeys(t, b, tc.prefix)
		if !slices.Equal(keys, tc.want) {
			t.Errorf("List(%q) = %q, want %q", tc.prefix, keys, tc.want)
			continue
		}
		for i, k := range keys {
			if got[i] != int64(sizes[k]) {
				t.Errorf("List(%q): %s has size %d, want %d", tc.prefix, k, got[i], sizes[k])
			}
		}
	}
	if err := b.AbortMultipart(ctx, "ls/pending", id); err != nil {
		t.Errorf("AbortMultipart: %v", err)
	}
}

func testListError(t *testing.T, b store.Backend) {
	for _, k := range []string{"lserr/a", "lserr/b", "lserr/c"} {
		put(t, b, k, []byte(k))
	}
	stop := errors.New("stop here")
	calls := 0
	err := b.List(t.Context(), "lserr/", func(store.ObjectInfo) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) {
		t.Errorf("List returned %v, want the callback's error", err)
	}
	if calls != 1 {
		t.Errorf("callback called %d times after returning an error, want 1", calls)
	}
}
