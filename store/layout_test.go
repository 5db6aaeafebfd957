package store_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tus/tusd/v2/pkg/handler"

	"github.com/tusvault/tusvault/store"
	"github.com/tusvault/tusvault/store/crypt"
	"github.com/tusvault/tusvault/store/disk"
)

// failingDelete fails the Deletes of key while fail is set.
type failingDelete struct {
	store.Backend
	key  string
	fail atomic.Bool
}

func (f *failingDelete) Delete(ctx context.Context, key string) error {
	if key == f.key && f.fail.Load() {
		return errors.New("injected delete failure")
	}
	return f.Backend.Delete(ctx, key)
}

// newLayoutStore is a store of 5 MiB parts over b.
func newLayoutStore(t *testing.T, b store.Backend, kr *crypt.Keyring) *store.Store {
	t.Helper()
	// Layout 1 is of format v1: tusvault wrote no other then.
	s, err := store.New(store.Config{Backend: b, Keyring: kr, PartSize: 5 * mib, SpoolDir: t.TempDir(), Format: 1})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// newLayoutUpload creates an upload of size bytes and returns its id.
func newLayoutUpload(t *testing.T, s *store.Store, size int64) string {
	t.Helper()
	up, err := s.NewUpload(context.Background(), handler.FileInfo{Size: size})
	if err != nil {
		t.Fatal(err)
	}
	fi, err := up.GetInfo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return fi.ID
}

// patch sends data[off:off+n] through GetUpload and WriteChunk, as tusd
// does, and finishes the upload at its last byte.
func patch(t *testing.T, s *store.Store, id string, data []byte, off, n int) {
	t.Helper()
	ctx := context.Background()
	up, err := s.GetUpload(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := up.WriteChunk(ctx, int64(off), bytes.NewReader(data[off:off+n])); err != nil || got != int64(n) {
		t.Fatalf("WriteChunk at %d: %d, %v", off, got, err)
	}
	if off+n == len(data) {
		if err := up.FinishUpload(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// mustDecrypt fails unless upload id decrypts to data.
func mustDecrypt(t *testing.T, s *store.Store, id string, data []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := s.Decrypt(context.Background(), id, &buf); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), data) {
		t.Fatal("decrypted upload differs")
	}
}

// An upload in progress in layout 1 (a tail in <key>.part, a MAC state
// over the committed bytes only) resumes after an upgrade: the next
// request that leaves a tail turns it into layout 2 and deletes
// <key>.part, and the upload ends byte-exact with a valid tag; so does
// one whose next requests fill the part or end the upload.
func TestLayout1UploadResumes(t *testing.T) {
	const size = 12*mib + 11
	for i, tc := range []struct {
		name string
		// committed bytes are sent first, then a layout 1 tail of v1
		// bytes; then the PATCH sizes, and one more to the end.
		committed, v1 int
		patches       []int
	}{
		{"tail-then-fragments", 0, 1*mib + 7, []int{1 * mib, 2 * mib, 5 * mib}},
		{"tail-then-part", 5 * mib, 3 * mib, []int{2*mib + 1, 1 * mib}},
		{"tail-then-end", 5 * mib, 3*mib + 5, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := disk.New(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			kr, err := crypt.NewKeyring()
			if err != nil {
				t.Fatal(err)
			}
			old := newLayoutStore(t, b, kr)
			data := randomBytes(uint64(60+i), size)
			id := newLayoutUpload(t, old, size)
			off := 0
			if tc.committed > 0 {
				patch(t, old, id, data, 0, tc.committed)
				off = tc.committed
			}
			if err := store.WriteLayout1Tail(old, id, int64(off), data[off:off+tc.v1]); err != nil {
				t.Fatal(err)
			}
			off += tc.v1
			if info := readTailInfo(t, b, id); info.Enc.Layout != 0 || info.Enc.TailLen != int64(tc.v1) {
				t.Fatalf("layout 1 .info: %+v", info.Enc)
			}
			s := newLayoutStore(t, b, kr) // the upgraded process
			rest := size - off
			for _, n := range tc.patches {
				rest -= n
			}
			for _, n := range append(tc.patches, rest) {
				patch(t, s, id, data, off, n)
				off += n
				if off == size {
					break
				}
				if info := checkTail(t, b, id); info.Enc.Layout != 2 {
					t.Fatalf("after a PATCH to %d: layout %d, want 2", off, info.Enc.Layout)
				}
			}
			mustDecrypt(t, s, id, data)
			if objs := tailObjects(t, b, id); len(objs) != 0 {
				t.Fatalf("tail objects after completion: %q", objs)
			}
		})
	}
}

// A change to layout 2 whose deletion of <key>.part failed (a crash at
// the tail-converted stage leaves the same) leaves a tail object that
// nothing refers to: the sweep deletes it and the upload goes on.
func TestLayout1LeftoverTailObject(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d, err := disk.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	kr, err := crypt.NewKeyring()
	if err != nil {
		t.Fatal(err)
	}
	const size = 8 * mib
	data := randomBytes(70, size)
	fb := &failingDelete{Backend: d}
	s := newLayoutStore(t, fb, kr)
	id := newLayoutUpload(t, s, size)
	if err := store.WriteLayout1Tail(s, id, 0, data[:1*mib]); err != nil {
		t.Fatal(err)
	}
	fb.key = id + ".part"
	fb.fail.Store(true)
	patch(t, s, id, data, 1*mib, 1*mib)
	fb.fail.Store(false)
	if _, err := os.Stat(filepath.Join(dir, id+".part")); err != nil {
		t.Fatalf("tail object after its failed deletion: %v", err)
	}
	rep, err := s.Cleanup(ctx, time.Now().Add(-time.Hour))
	if err != nil || rep.Tails != 1 || len(rep.Uploads) != 0 {
		t.Fatalf("sweep: %+v, %v; want the leftover tail object deleted", rep, err)
	}
	if _, err := os.Stat(filepath.Join(dir, id+".part")); !os.IsNotExist(err) {
		t.Fatalf("tail object after the sweep: %v", err)
	}
	checkTail(t, d, id)
	patch(t, s, id, data, 2*mib, size-2*mib)
	mustDecrypt(t, s, id, data)
}
