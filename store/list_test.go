package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tus/tusd/v2/pkg/handler"

	"github.com/tusvault/tusvault/store"
)

// newListed creates an empty-bodied upload id with a file name, and dates
// its .info at written (the disk backend lists the file's mtime).
func newListed(t *testing.T, ts *testServer, id string, written time.Time) {
	t.Helper()
	_, err := ts.Store.NewUpload(context.Background(), handler.FileInfo{
		ID: id, Size: 3, MetaData: handler.MetaData{"filename": "name of " + id, "filetype": "text/plain"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(filepath.Join(ts.Dir, filepath.FromSlash(id+".info")), written, written); err != nil {
		t.Fatal(err)
	}
}

func TestListUploadsPages(t *testing.T) {
	ts := newTestServer(t, 2)
	ctx := context.Background()
	base := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	rnd := func(i int) string { return fmt.Sprintf("%032x", i) }
	var want []string // newest first
	// Alice's home and shares, interleaved in time; two pairs written
	// at the same instant (ordered by id, descending).
	for i := range 12 {
		var id string
		switch i % 3 {
		case 0:
			id = "home/alice/" + rnd(i)
		case 1:
			id = "guest/alice/trip/" + rnd(i)
		default:
			id = "guest/alice/x-aaaaaaaaaaaaaaaaaaaaaaaaaa/" + rnd(i)
		}
		at := base.Add(time.Duration(i/2*2) * time.Minute) // i and i+1 tie for even i
		newListed(t, ts, id, at)
		want = append(want, id)
	}
	slices.SortFunc(want, func(a, b string) int {
		ia, ib := idx(a), idx(b)
		ta, tb := ia/2, ib/2
		if ta != tb {
			return tb - ta
		}
		return strings.Compare(b, a)
	})
	// Not Alice's: another account, and an owner whose name starts alike.
	newListed(t, ts, "home/bob/"+rnd(100), base.Add(time.Hour))
	newListed(t, ts, "guest/alicex/trip/"+rnd(101), base.Add(time.Hour))
	newListed(t, ts, "home/alicex/"+rnd(102), base.Add(time.Hour))

	var gets atomic.Int32
	ts.Backend.setFault(func(op, key string) error {
		if op == "Get" {
			gets.Add(1)
		}
		return nil
	})
	prefixes := []string{"home/alice/", "guest/alice/"}
	var got []string
	cursor := ""
	for page := 0; ; page++ {
		if page > 10 {
			t.Fatal("the cursor does not end")
		}
		gets.Store(0)
		items, next, err := ts.Store.ListUploads(ctx, prefixes, 5, cursor)
		if err != nil {
			t.Fatal(err)
		}
		if n := gets.Load(); int(n) != len(items) {
			t.Errorf("page %d: %d backend reads for %d uploads", page, n, len(items))
		}
		if len(items) > 5 || (next != "" && len(items) != 5) {
			t.Errorf("page %d: %d uploads, next %q", page, len(items), next)
		}
		for _, it := range items {
			got = append(got, it.Info.ID)
			if it.Info.MetaData["filename"] != "name of "+it.Info.ID {
				t.Errorf("%s: metadata %v", it.Info.ID, it.Info.MetaData)
			}
			if it.Written.IsZero() || it.Created.IsZero() || it.Created.After(time.Now().Add(time.Minute)) {
				t.Errorf("%s: written %v, created %v", it.Info.ID, it.Written, it.Created)
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if !slices.Equal(got, want) {
		t.Errorf("listed\n%q\nwant\n%q", got, want)
	}
}

// idx is the number in the last segment of a test id.
func idx(id string) int {
	var n int
	fmt.Sscanf(id[strings.LastIndex(id, "/")+1:], "%x", &n)
	return n
}

func TestListUploadsCreated(t *testing.T) {
	ts := newTestServer(t, 2)
	ctx := context.Background()
	before := time.Now().Add(-time.Second).Truncate(time.Second)
	old := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	newListed(t, ts, "home/a/00000000000000000000000000000001", old)
	newListed(t, ts, "home/a/00000000000000000000000000000002", old.Add(time.Minute))
	// An upload stored before Created was recorded: the listing falls
	// back to the .info time.
	path := filepath.Join(ts.Dir, "home", "a", "00000000000000000000000000000002.info")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	st := doc["Storage"].(map[string]any)
	if _, ok := st["Created"]; !ok {
		t.Fatalf("no Storage.Created in %s", raw)
	}
	delete(st, "Created")
	raw, _ = json.Marshal(doc)
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(path, old.Add(time.Minute), old.Add(time.Minute))

	items, next, err := ts.Store.ListUploads(ctx, []string{"home/a/"}, 10, "")
	if err != nil || next != "" || len(items) != 2 {
		t.Fatalf("ListUploads: %d items, next %q, %v", len(items), next, err)
	}
	if !items[0].Created.Equal(old.Add(time.Minute)) {
		t.Errorf("created %v, want the .info time %v", items[0].Created, old.Add(time.Minute))
	}
	if c := items[1].Created; c.Before(before) || c.After(time.Now()) {
		t.Errorf("created %v, want about now", c)
	}
}

func TestListUploadsRefuses(t *testing.T) {
	ts := newTestServer(t, 2)
	ctx := context.Background()
	for _, id := range []string{"home/a/00000000000000000000000000000001", "home/a/00000000000000000000000000000002"} {
		newListed(t, ts, id, time.Now())
	}
	_, next, err := ts.Store.ListUploads(ctx, []string{"home/a/"}, 1, "")
	if err != nil || next == "" {
		t.Fatalf("first page: next %q, %v", next, err)
	}
	for _, c := range []string{"x", next + "A", "=" + next, "MSAxIGhvbWUvYS8u", "MiAxIGhvbWUvYS9i" /* "2 1 home/a/b" */} {
		if _, _, err := ts.Store.ListUploads(ctx, []string{"home/a/"}, 1, c); !errors.Is(err, store.ErrBadCursor) {
			t.Errorf("cursor %q: %v, want ErrBadCursor", c, err)
		}
	}
	if _, _, err := ts.Store.ListUploads(ctx, []string{"home/", "home/a/"}, 1, ""); err == nil {
		t.Error("overlapping prefixes accepted")
	}
	if _, _, err := ts.Store.ListUploads(ctx, []string{"home/a/"}, 0, ""); err == nil {
		t.Error("limit 0 accepted")
	}
	// An .info that cannot be read is left out; the rest is listed.
	ts.Backend.setFault(func(op, key string) error {
		if op == "Get" && key == "home/a/00000000000000000000000000000001.info" {
			return errors.New("injected")
		}
		return nil
	})
	items, _, err := ts.Store.ListUploads(ctx, []string{"home/a/"}, 10, "")
	if err != nil || len(items) != 1 || items[0].Info.ID != "home/a/00000000000000000000000000000002" {
		t.Errorf("with one unreadable .info: %v, %v", items, err)
	}
}
