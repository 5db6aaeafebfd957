package hooks_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tusvault/tusvault/hooks"
	"github.com/tusvault/tusvault/internal/tusclient"
)

// post creates an upload with raw headers and returns the answer.
func post(t *testing.T, e *env, tok string, length int64, meta map[string]string) response {
	t.Helper()
	h := http.Header{}
	if length < 0 {
		h.Set("Upload-Defer-Length", "1")
	} else {
		h.Set("Upload-Length", strconv.FormatInt(length, 10))
	}
	if len(meta) > 0 {
		h.Set("Upload-Metadata", tusclient.EncodeMetadata(meta))
	}
	return do(t, http.MethodPost, e.URL, bearer(tok), h, nil)
}

func TestSizeLimits(t *testing.T) {
	e := newEnv(t, options{homeMax: 1000, guestMax: 500})
	homeTok := func(max int64) string {
		return mint(t, e.Signer, hooks.Claims{Subject: "alice", MaxSize: max}, time.Hour)
	}
	guestTok := func(max int64) string {
		return mint(t, e.Signer, hooks.Claims{Kind: hooks.KindGuest, Owner: "carol", Share: "trip", MaxSize: max}, time.Hour)
	}
	for _, tc := range []struct {
		name   string
		tok    string
		length int64
		want   int
	}{
		{"home, flag only, at the limit", homeTok(0), 1000, 201},
		{"home, flag only, over", homeTok(0), 1001, 413},
		{"home, token smaller, at", homeTok(300), 300, 201},
		{"home, token smaller, over", homeTok(300), 301, 413},
		{"home, flag smaller", homeTok(5000), 1001, 413},
		{"home, deferred length under a limit", homeTok(0), -1, 400},
		{"guest, flag only, at", guestTok(0), 500, 201},
		{"guest, flag only, over", guestTok(0), 501, 413},
		{"guest, token smaller, over", guestTok(100), 101, 413},
		{"guest, token smaller, at", guestTok(100), 100, 201},
		{"guest, flag smaller", guestTok(800), 501, 413},
		{"guest, deferred length", guestTok(800), -1, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t, e.Dir)
			r := post(t, e, tc.tok, tc.length, nil)
			if r.Status != tc.want {
				t.Fatalf("status %d, want %d (%q)", r.Status, tc.want, r.Body)
			}
			if tc.want == 201 {
				return
			}
			wantCode := map[int]string{413: "ERR_UPLOAD_SIZE_EXCEEDED", 400: "ERR_UPLOAD_LENGTH_REQUIRED"}[tc.want]
			if !strings.HasPrefix(r.Body, wantCode+": ") {
				t.Errorf("body %q, want %s", r.Body, wantCode)
			}
			if diff := diffSnapshots(before, snapshot(t, e.Dir)); len(diff) > 0 {
				t.Errorf("refused creation wrote %v", diff)
			}
		})
	}

	// Without flags the token alone limits; without either, nothing does.
	free := newEnv(t, options{})
	if r := post(t, free, mint(t, free.Signer, hooks.Claims{Subject: "alice", MaxSize: 50}, time.Hour), 51, nil); r.Status != 413 {
		t.Errorf("token-only limit: %d", r.Status)
	}
	if r := post(t, free, free.home(t, "alice"), -1, nil); r.Status != 201 {
		t.Errorf("deferred length without a limit: %d %q", r.Status, r.Body)
	}
	if r := post(t, free, free.home(t, "alice"), 1<<40, nil); r.Status != 201 {
		t.Errorf("1 TiB without a limit: %d %q", r.Status, r.Body)
	}
}

func TestGuestTypes(t *testing.T) {
	e := newEnv(t, options{})
	tok := mint(t, e.Signer, hooks.Claims{Kind: hooks.KindGuest, Owner: "carol", Share: "pics",
		Types: []string{"image/*", "application/pdf"}}, time.Hour)
	for _, tc := range []struct {
		filetype string // "-": no filetype key
		want     int
	}{
		{"image/png", 201}, {"IMAGE/JPEG", 201}, {"image/svg+xml; charset=utf-8", 201}, {"application/pdf", 201},
		{"text/html", 403}, {"application/pdfx", 403}, {"image", 403}, {"", 403}, {"-", 403}, {"not/a/type", 403},
	} {
		meta := map[string]string{"filename": "f"}
		if tc.filetype != "-" {
			meta["filetype"] = tc.filetype
		}
		if tc.filetype == "" {
			meta = map[string]string{"filename": "f", "filetype": ""}
		}
		r := post(t, e, tok, 10, meta)
		if r.Status != tc.want {
			t.Errorf("filetype %q: %d, want %d (%q)", tc.filetype, r.Status, tc.want, r.Body)
		}
		if tc.want == 403 && !strings.HasPrefix(r.Body, "ERR_FILE_TYPE_NOT_ALLOWED: ") {
			t.Errorf("filetype %q: body %q", tc.filetype, r.Body)
		}
	}
	if n := len(infoFiles(t, e.Dir, "guest/carol/pics/")); n != 4 {
		t.Errorf("%d uploads stored, want the 4 allowed", n)
	}
	// Malformed metadata is refused before anything else.
	h := http.Header{"Upload-Length": {"10"}, "Upload-Metadata": {"filetype !!!"}}
	if r := do(t, http.MethodPost, e.URL, bearer(tok), h, nil); r.Status != 400 || !strings.HasPrefix(r.Body, "ERR_INVALID_METADATA") {
		t.Errorf("malformed metadata: %d %q", r.Status, r.Body)
	}
}

// TestMaxFiles: max_files holds under concurrent creations for one share,
// and a DELETE frees a slot.
func TestMaxFiles(t *testing.T) {
	e := newEnv(t, options{})
	const max, tries = 5, 20
	tok := mint(t, e.Signer, hooks.Claims{Kind: hooks.KindGuest, Owner: "carol", Share: "trip", MaxFiles: max}, time.Hour)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		statuses = map[int]int{}
		created  []string
	)
	start := make(chan struct{})
	for range tries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			u, err := client(bearer(tok)).Create(context.Background(), e.URL, 10, nil)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				statuses[tusclient.Status(err)]++
				if tusclient.Status(err) == 403 && !strings.Contains(err.Error(), "ERR_MAX_FILES_REACHED") {
					t.Errorf("403 without ERR_MAX_FILES_REACHED: %v", err)
				}
				return
			}
			statuses[201]++
			created = append(created, u)
		}()
	}
	close(start)
	wg.Wait()
	if statuses[201] != max || statuses[403] != tries-max {
		t.Fatalf("statuses %v; want %d × 201 and %d × 403", statuses, max, tries-max)
	}
	if n := len(infoFiles(t, e.Dir, "guest/carol/trip/")); n != max {
		t.Fatalf("%d uploads stored for the share, want %d", n, max)
	}
	if r := post(t, e, tok, 10, nil); r.Status != 403 {
		t.Fatalf("6th creation: %d", r.Status)
	}
	// Another share of the same owner has its own count.
	other := mint(t, e.Signer, hooks.Claims{Kind: hooks.KindGuest, Owner: "carol", Share: "party", MaxFiles: 1}, time.Hour)
	if r := post(t, e, other, 10, nil); r.Status != 201 {
		t.Fatalf("other share: %d %q", r.Status, r.Body)
	}
	if err := client(bearer(tok)).Delete(context.Background(), created[0]); err != nil {
		t.Fatal(err)
	}
	if r := post(t, e, tok, 10, nil); r.Status != 201 {
		t.Fatalf("creation after a DELETE: %d %q", r.Status, r.Body)
	}
	if r := post(t, e, tok, 10, nil); r.Status != 403 {
		t.Fatalf("creation over the limit again: %d", r.Status)
	}

	// A slot freed before any listing saw the upload: the reservation
	// ended with the creation request, so it does not linger.
	solo := mint(t, e.Signer, hooks.Claims{Kind: hooks.KindGuest, Owner: "carol", Share: "solo", MaxFiles: 1}, time.Hour)
	u := e.create(t, solo, 10, nil)
	if err := client(bearer(solo)).Delete(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	if r := post(t, e, solo, 10, nil); r.Status != 201 {
		t.Fatalf("creation after create+delete with max_files=1: %d %q", r.Status, r.Body)
	}
}
