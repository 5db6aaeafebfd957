package store_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/tus/tusd/v2/pkg/handler"

	"github.com/tusvault/tusvault/store"
	"github.com/tusvault/tusvault/store/crypt"
	"github.com/tusvault/tusvault/store/disk"
)

// BenchmarkPatchHistory measures one PATCH of 4 KiB (tusd's GetUpload,
// then WriteChunk) to an upload that has history PATCHes behind it, in
// the v1 layout (every segment in .info, as before segment pages) and in
// the paged layout: time, .info bytes read and written and backend
// requests per PATCH, on the disk backend. The history is forged
// (store.ForgeHistory) and .info put back before each PATCH, so every
// iteration is the history+1st PATCH.
func BenchmarkPatchHistory(b *testing.B) {
	for _, layout := range []struct {
		name    string
		pageLen int
	}{{"v1", -1}, {"paged", 0}} {
		for _, n := range []int{10, 10000} {
			b.Run(fmt.Sprintf("layout=%s/history=%d", layout.name, n), func(b *testing.B) {
				benchPatchAfter(b, layout.pageLen, n)
			})
		}
	}
}

func benchPatchAfter(b *testing.B, pageLen, history int) {
	ctx := context.Background()
	db, err := disk.New(b.TempDir())
	if err != nil {
		b.Fatal(err)
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
