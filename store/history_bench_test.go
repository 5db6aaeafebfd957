package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/tus/tusd/v2/pkg/handler"

	"github.com/tusvault/tusvault/store"
	"github.com/tusvault/tusvault/store/crypt"
	"github.com/tusvault/tusvault/store/disk"
)

// BenchmarkPatchHistory measures one PATCH of 4 KiB (tusd's GetUpload,
// which is all a HEAD costs, then WriteChunk) to an upload that has
// history PATCHes behind it, in the v1 layout (every segment in .info, as
// before segment pages) and in the paged layout: time, .info bytes read
// and written and backend requests per PATCH, on an in-memory backend
// (the store's own cost) and on the disk backend (fsyncs included). The
// history is forged (store.ForgeHistory) and .info put back before each
// PATCH, so every iteration is the history+1st PATCH. history=10048 is
// the worst phase of the paged layout: 64 segments left in .info, one
// short of a page.
func BenchmarkPatchHistory(b *testing.B) {
	for _, backend := range []string{"mem", "disk"} {
		for _, layout := range []struct {
			name    string
			pageLen int
		}{{"v1", -1}, {"paged", 0}} {
			for _, n := range []int{10, 10000, 10048} {
				b.Run(fmt.Sprintf("backend=%s/layout=%s/history=%d", backend, layout.name, n), func(b *testing.B) {
					benchPatchAfter(b, backend, layout.pageLen, n)
				})
			}
		}
	}
}

func benchPatchAfter(b *testing.B, backend string, pageLen, history int) {
	ctx := context.Background()
	var db store.Backend = &memBackend{objects: map[string][]byte{}}
	if backend == "disk" {
		d, err := disk.New(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		db = d
	}
	kr, err := crypt.NewKeyring()
	if err != nil {
		b.Fatal(err)
	}
	cb := &countBackend{Backend: db}
	cfg := store.Config{Backend: cb, Keyring: kr, PartSize: 5 * mib, SpoolDir: b.TempDir()}
	store.SetPageLen(&cfg, pageLen)
	st, err := store.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	up, err := st.NewUpload(ctx, handler.FileInfo{Size: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	fi, _ := up.GetInfo(ctx)
	id := fi.ID
	if err := store.ForgeHistory(ctx, st, id, history); err != nil {
		b.Fatal(err)
	}
	rc, err := db.Get(ctx, id+".info", 0, -1)
	if err != nil {
		b.Fatal(err)
	}
	saved, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		b.Fatal(err)
	}
	body := randomBytes(5, 4<<10)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	var total requestCost
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		if err := db.Put(ctx, id+".info", bytes.NewReader(saved), int64(len(saved))); err != nil {
			b.Fatal(err)
		}
		before := cb.snap()
		b.StartTimer()
		up, err := st.GetUpload(ctx, id)
		if err != nil {
			b.Fatal(err)
		}
		if n, err := up.WriteChunk(ctx, 5*mib, bytes.NewReader(body)); err != nil || n != int64(len(body)) {
			b.Fatalf("WriteChunk: %d, %v", n, err)
		}
		b.StopTimer()
		c := cb.since(before)
		total.requests += c.requests
		total.infoRead += c.infoRead
		total.infoWritten += c.infoWritten
		b.StartTimer()
	}
	b.StopTimer()
	per := func(v int64) float64 { return float64(v) / float64(b.N) }
	b.ReportMetric(per(total.infoRead), "info-read-B/op")
	b.ReportMetric(per(total.infoWritten), "info-written-B/op")
	b.ReportMetric(per(total.requests), "requests/op")
	b.ReportMetric(float64(len(saved)), "info-B")
}

// memBackend keeps objects in memory, for what BenchmarkPatchHistory
// needs: objects, and multipart uploads that are created and never used.
type memBackend struct {
	mu      sync.Mutex
	objects map[string][]byte
}

var errMemUnsupported = errors.New("memBackend: not supported")

func (m *memBackend) Put(_ context.Context, key string, body io.ReadSeeker, size int64) error {
	b, err := io.ReadAll(io.LimitReader(body, size))
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.objects[key] = b
	m.mu.Unlock()
	return nil
}

func (m *memBackend) Get(_ context.Context, key string, off, length int64) (io.ReadCloser, error) {
	m.mu.Lock()
	b, ok := m.objects[key]
	m.mu.Unlock()
	if !ok {
		return nil, store.ErrObjectNotFound
	}
	b = b[min(off, int64(len(b))):]
	if length >= 0 {
		b = b[:min(length, int64(len(b)))]
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

func (m *memBackend) Head(_ context.Context, key string) (store.ObjectInfo, error) {
	m.mu.Lock()
	b, ok := m.objects[key]
	m.mu.Unlock()
	if !ok {
		return store.ObjectInfo{}, store.ErrObjectNotFound
	}
	return store.ObjectInfo{Key: key, Size: int64(len(b))}, nil
}

func (m *memBackend) Delete(_ context.Context, key string) error {
	m.mu.Lock()
	delete(m.objects, key)
	m.mu.Unlock()
	return nil
}

func (m *memBackend) List(context.Context, string, func(store.ObjectInfo) error) error {
	return errMemUnsupported
}

func (m *memBackend) CreateMultipart(context.Context, string, map[string]string) (string, error) {
	return "mem-multipart", nil
}

func (m *memBackend) UploadPart(context.Context, string, string, int32, io.ReadSeeker, int64) (store.Part, error) {
	return store.Part{}, errMemUnsupported
}

func (m *memBackend) ListParts(context.Context, string, string) ([]store.Part, error) {
	return nil, errMemUnsupported
}

func (m *memBackend) CompleteMultipart(context.Context, string, string, []store.Part) error {
	return errMemUnsupported
}

func (m *memBackend) AbortMultipart(context.Context, string, string) error { return nil }
