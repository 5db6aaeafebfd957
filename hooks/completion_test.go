package hooks_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	tushooks "github.com/tus/tusd/v2/pkg/hooks"
	tushttp "github.com/tus/tusd/v2/pkg/hooks/http"

	"github.com/tusvault/tusvault/internal/tusclient"
	"github.com/tusvault/tusvault/store"
	"github.com/tusvault/tusvault/store/disk"
)

// failingComplete fails CompleteMultipart while failing is set.
type failingComplete struct {
	store.Backend
	failing atomic.Bool
}

func (f *failingComplete) CompleteMultipart(ctx context.Context, key, id string, parts []store.Part) error {
	if f.failing.Load() {
		return errors.New("injected CompleteMultipart failure")
	}
	return f.Backend.CompleteMultipart(ctx, key, id, parts)
}

// A completed upload is never lost, and its post-finish hook fires once:
// when every part is committed but the completion failed (tusd reports
// the upload done and never finishes it again), the expiry sweep completes
// it instead of removing it, or the next request that loads it does, and
// the store reports it to the hook layer, which sends the post-finish
// event tusd never sent.
func TestCompletionAfterFailedFinish(t *testing.T) {
	hs := newHookServer(t)
	ext := &tushttp.HttpHook{Endpoint: hs.srv.URL, MaxRetries: 1, Backoff: 10 * time.Millisecond, Timeout: 10 * time.Second, SizeLimit: 64 << 10}
	dir := t.TempDir()
	b, err := disk.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	fb := &failingComplete{Backend: b}
	e := newEnv(t, options{backend: fb, external: ext, events: []tushooks.HookType{tushooks.HookPostFinish}})
	ctx := context.Background()
	guest, owner := e.guest(t, "carol", "trip"), e.home(t, "carol")
	gc := client(bearer(guest))

	failedUpload := func(data []byte) string {
		t.Helper()
		u := e.create(t, guest, int64(len(data)), nil)
		fb.failing.Store(true)
		_, err := gc.Patch(ctx, u, 0, bytes.NewReader(data), int64(len(data)))
		fb.failing.Store(false)
		if tusclient.Status(err) != http.StatusInternalServerError {
			t.Fatalf("final PATCH with the completion failing: %v, want 500", err)
		}
		if n := len(hs.find("post-finish", e.id(t, u))); n != 0 {
			t.Fatalf("%d post-finish events for an upload whose completion failed", n)
		}
		return u
	}
	once := func(what, id string) {
		t.Helper()
		fin := hs.wait(t, "post-finish", id)
		if fin.Event.Upload.Storage["Tag"] == "" || fin.Event.Upload.Offset != fin.Event.Upload.Size {
			t.Errorf("%s: post-finish event %+v", what, fin.Event.Upload)
		}
		time.Sleep(300 * time.Millisecond) // room for a second one
		if n := len(hs.find("post-finish", id)); n != 1 {
			t.Fatalf("%s: %d post-finish events, want 1", what, n)
		}
	}
	download := func(u string, want []byte) {
		t.Helper()
		if r := do(t, http.MethodGet, u, bearer(owner), nil, nil); r.Status != http.StatusOK || r.Body != string(want) {
			t.Fatalf("owner GET: %d, %d bytes; want the %d uploaded", r.Status, len(r.Body), len(want))
		}
	}

	t.Run("sweep past -expire-after", func(t *testing.T) {
		data := testData(7 * mib)
		u := failedUpload(data)
		id := e.id(t, u)
		rep, err := e.Store.Cleanup(ctx, time.Now().Add(time.Hour))
		if err != nil || len(rep.Uploads) != 0 || !slices.Equal(rep.Completed, []string{id}) {
			t.Fatalf("sweep: %+v, %v; want %s completed, nothing removed", rep, err, id)
		}
		once("sweep", id)
		download(u, data)
		if _, err := e.Store.Cleanup(ctx, time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if off, _, err := gc.Head(ctx, u); err != nil || off != int64(len(data)) {
			t.Fatalf("HEAD: %d, %v", off, err)
		}
		once("after a second sweep and a HEAD", id)
	})
	t.Run("next request", func(t *testing.T) {
		data := testData(6 * mib)
		u := failedUpload(data)
		if off, _, err := gc.Head(ctx, u); err != nil || off != int64(len(data)) {
			t.Fatalf("HEAD after the failed completion: %d, %v", off, err)
		}
		once("HEAD", e.id(t, u))
		download(u, data)
	})
	t.Run("share owner's GET", func(t *testing.T) {
		data := testData(5*mib + 1)
		u := failedUpload(data)
		download(u, data)
		once("owner GET", e.id(t, u))
	})
}
