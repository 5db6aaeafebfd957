package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tusvault/tusvault/hooks"
	"github.com/tusvault/tusvault/web/api"
)

type uploadsDoc struct {
	Uploads    []uploadDoc `json:"uploads"`
	NextCursor *string     `json:"next_cursor"`
}

type uploadDoc struct {
	ID              string  `json:"id"`
	Name            string  `json:"name"`
	Type            string  `json:"type"`
	Size            *int64  `json:"size"`
	Offset          int64   `json:"offset"`
	Route           string  `json:"route"`
	Share           string  `json:"share"`
	Created         *string `json:"created"`
	Updated         *string `json:"updated"`
	Finished        bool    `json:"finished"`
	Download        *string `json:"download"`
	DownloadExpires *string `json:"download_expires"`
}

// walk pages through /api/uploads with limit and returns every upload in
// the order listed.
func (e *env) walk(t *testing.T, tok string, limit int) []uploadDoc {
	t.Helper()
	var all []uploadDoc
	cursor := ""
	for page := 0; ; page++ {
		if page > 100 {
			t.Fatal("the cursor does not end")
		}
		path := fmt.Sprintf("%s?limit=%d", api.UploadsPath, limit)
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		var d uploadsDoc
		e.getJSON(t, path, tok, &d)
		if len(d.Uploads) > limit || (d.NextCursor != nil && len(d.Uploads) != limit) {
			t.Fatalf("page %d: %d uploads, next %v", page, len(d.Uploads), d.NextCursor)
		}
		all = append(all, d.Uploads...)
		if d.NextCursor == nil {
			return all
		}
		cursor = *d.NextCursor
	}
}

// TestUploadsList: more uploads than a page, walked with the cursor: each
// of the account's uploads (home and every share) once, newest first, with
// names decrypted; nobody else's.
func TestUploadsList(t *testing.T) {
	e := newEnv(t, options{})
	alice := e.home(t, "alice")
	trip, party := e.guest(t, "alice", "trip"), e.guest(t, "alice", "the party!")
	want := map[string]string{} // id → name
	for i := range 9 {
		tok := []string{alice, trip, party}[i%3]
		name := fmt.Sprintf("Fête n°%d.txt", i)
		u := e.upload(t, tok, []byte(fmt.Sprintf("contents %d", i)), map[string]string{"filename": name, "filetype": "text/plain"})
		want[e.idOf(u)] = name
		time.Sleep(2 * time.Millisecond) // distinct .info times
	}
	// Not Alice's: Bob's home, a share of Bob's, an owner named alike.
	bob := e.home(t, "bob")
	e.upload(t, bob, []byte("bob"), map[string]string{"filename": "bob.txt"})
	e.upload(t, e.guest(t, "bob", "trip"), []byte("bob's guest"), nil)
	e.upload(t, e.home(t, "alicex"), []byte("x"), nil)
	e.upload(t, e.guest(t, "alicex", "trip"), []byte("x"), nil)

	got := e.walk(t, alice, 4)
	if len(got) != len(want) {
		t.Fatalf("listed %d uploads, want %d: %+v", len(got), len(want), got)
	}
	seen := map[string]bool{}
	for i, u := range got {
		if seen[u.ID] {
			t.Errorf("%s listed twice", u.ID)
		}
		seen[u.ID] = true
		name, ok := want[u.ID]
		if !ok {
			t.Errorf("%s is not Alice's", u.ID)
			continue
		}
		if u.Name != name || u.Type != "text/plain" {
			t.Errorf("%s: name %q type %q, want %q", u.ID, u.Name, u.Type, name)
		}
		if i > 0 && deref(got[i-1].Updated) < deref(u.Updated) {
			t.Errorf("not newest first: %s after %s", deref(u.Updated), deref(got[i-1].Updated))
		}
		if i > 0 && want[got[i-1].ID] < name {
			t.Errorf("not newest first: %q after %q", name, want[got[i-1].ID])
		}
		created, err := time.Parse(time.RFC3339, deref(u.Created))
		if err != nil || time.Since(created) > time.Minute {
			t.Errorf("%s: created %v", u.ID, deref(u.Created))
		}
		switch {
		case strings.HasPrefix(u.ID, "home/alice/"):
			if u.Route != "home" || u.Share != "" {
				t.Errorf("%s: route %q share %q", u.ID, u.Route, u.Share)
			}
		case strings.HasPrefix(u.ID, "guest/alice/trip/"):
			if u.Route != "guest" || u.Share != "trip" {
				t.Errorf("%s: route %q share %q", u.ID, u.Route, u.Share)
			}
		default:
			if u.Route != "guest" || u.Share != "the party!" {
				t.Errorf("%s: route %q share %q", u.ID, u.Route, u.Share)
			}
		}
		if !u.Finished || u.Size == nil || *u.Size != u.Offset || u.Download == nil || u.DownloadExpires == nil {
			t.Errorf("%s: finished %v size %v offset %d download %v", u.ID, u.Finished, u.Size, u.Offset, u.Download)
		}
	}
	// Bob sees his own only.
	if b := e.walk(t, bob, 50); len(b) != 2 {
		t.Errorf("bob lists %d uploads, want 2 (home and share)", len(b))
	}
	// A large limit is capped, a bad one refused.
	var d uploadsDoc
	e.getJSON(t, api.UploadsPath+"?limit=100000", alice, &d)
	if len(d.Uploads) != len(want) || d.NextCursor != nil {
		t.Errorf("limit=100000: %d uploads, next %v", len(d.Uploads), d.NextCursor)
	}
	// However many digits it has: it was refused once past int64.
	e.getJSON(t, api.UploadsPath+"?limit=99999999999999999999999", alice, &d)
	if len(d.Uploads) != len(want) || d.NextCursor != nil {
		t.Errorf("limit=99999999999999999999999: %d uploads, next %v", len(d.Uploads), d.NextCursor)
	}
	e.getJSON(t, api.UploadsPath+"?limit=0001", alice, &d)
	if len(d.Uploads) != 1 {
		t.Errorf("limit=0001: %d uploads", len(d.Uploads))
	}
	for _, q := range []string{"limit=0", "limit=000", "limit=-1", "limit=ten", "limit=1.5", "limit=+5", "limit=%205", "limit=0x10"} {
		wantError(t, q, e.get(t, http.MethodGet, api.UploadsPath+"?"+q, alice, nil), 400, "ERR_INVALID_LIMIT")
	}
	for _, c := range []string{"x", "MSAxIGhvbWUvYm9iLy4", strings.Repeat("A", 3000)} {
		wantError(t, "cursor "+c[:1], e.get(t, http.MethodGet, api.UploadsPath+"?cursor="+c, alice, nil), 400, "ERR_INVALID_CURSOR")
	}
}

// TestUploadsStates: unfinished and deferred uploads are listed without a
// link; the default page size is 50.
func TestUploadsStates(t *testing.T) {
	e := newEnv(t, options{})
	alice := e.home(t, "alice")
	partial := e.create(t, alice, 20, map[string]string{"filename": "half.bin"})
	if _, err := client(alice).Patch(context.Background(), partial, 0, strings.NewReader("0123456789"), 10); err != nil {
		t.Fatal(err)
	}
	deferred := e.create(t, alice, -1, nil)
	var d uploadsDoc
	e.getJSON(t, api.UploadsPath, alice, &d)
	if len(d.Uploads) != 2 || d.NextCursor != nil {
		t.Fatalf("%+v", d)
	}
	for _, u := range d.Uploads {
		if u.Finished || u.Download != nil || u.DownloadExpires != nil {
			t.Errorf("%s: unfinished, yet %+v", u.ID, u)
		}
		switch u.ID {
		case e.idOf(partial):
			if u.Size == nil || *u.Size != 20 || u.Offset != 10 || u.Name != "half.bin" {
				t.Errorf("partial: %+v", u)
			}
		case e.idOf(deferred):
			if u.Size != nil || u.Offset != 0 || u.Name != "" || u.Type != "" {
				t.Errorf("deferred: %+v", u)
			}
		default:
			t.Errorf("unexpected %s", u.ID)
		}
	}
	for range 55 {
		e.create(t, alice, 1, nil)
	}
	d = uploadsDoc{}
	e.getJSON(t, api.UploadsPath, alice, &d)
	if len(d.Uploads) != api.DefaultListLimit || d.NextCursor == nil {
		t.Errorf("default page: %d uploads, next %v", len(d.Uploads), d.NextCursor)
	}
}

// TestUploadsRefusals: guests may not list; a home token in its resume
// grace may not either; no token is 401.
func TestUploadsRefusals(t *testing.T) {
	e := newEnv(t, options{grace: time.Hour})
	guest := e.guest(t, "alice", "trip")
	e.upload(t, guest, []byte("x"), nil)
	before := e.Policy.Refusals()
	wantError(t, "guest", e.get(t, http.MethodGet, api.UploadsPath, guest, nil), http.StatusForbidden, "ERR_GUEST_CANNOT_LIST")
	if e.Policy.Refusals()["forbidden"] != before["forbidden"]+1 {
		t.Error("the guest's refusal is not counted")
	}
	wantError(t, "no token", e.get(t, http.MethodGet, api.UploadsPath, "", nil), 401, "ERR_UNAUTHORIZED")
	soon := e.mint(t, hooks.Claims{Kind: hooks.KindHome, Subject: "alice"}, time.Minute)
	e.shift.Store(int64(5 * time.Minute))
	wantError(t, "home in the grace", e.get(t, http.MethodGet, api.UploadsPath, soon, nil), 401, "ERR_TOKEN_EXPIRED")
}

// TestDownloadLinks: the links of the listing fetch the exact bytes
// without a bearer token, for the one upload each names, until they
// expire.
func TestDownloadLinks(t *testing.T) {
	e := newEnv(t, options{})
	alice := e.home(t, "alice")
	contents := map[string]string{}
	for i, tok := range []string{alice, e.guest(t, "alice", "trip")} {
		body := strings.Repeat(fmt.Sprintf("upload %d, ", i), 5000)
		u := e.upload(t, tok, []byte(body), map[string]string{"filename": fmt.Sprintf("f%d.txt", i), "filetype": "text/plain"})
		contents[e.idOf(u)] = body
	}
	list := e.walk(t, alice, 50)
	if len(list) != 2 {
		t.Fatalf("%d uploads", len(list))
	}
	for _, u := range list {
		link := deref(u.Download)
		if !strings.HasPrefix(link, "/files/"+u.ID+"?download=") {
			t.Fatalf("%s: link %q", u.ID, link)
		}
		exp, err := time.Parse(time.RFC3339, deref(u.DownloadExpires))
		if err != nil || time.Until(exp) > 5*time.Minute || time.Until(exp) < 4*time.Minute {
			t.Errorf("%s: link expires %v", u.ID, deref(u.DownloadExpires))
		}
		r := e.get(t, http.MethodGet, link, "", nil)
		if r.Status != http.StatusOK || r.Body != contents[u.ID] {
			t.Errorf("%s by link: %d, %d bytes, want %d", u.ID, r.Status, len(r.Body), len(contents[u.ID]))
		}
		if cd := r.Header.Get("Content-Disposition"); !strings.Contains(cd, "f") {
			t.Errorf("%s: Content-Disposition %q", u.ID, cd)
		}
	}
	// Scoped: one upload's signature on the other's id.
	sig := (*list[0].Download)[strings.Index(*list[0].Download, "?"):]
	wantError(t, "swapped link", e.get(t, http.MethodGet, "/files/"+list[1].ID+sig, "", nil), http.StatusForbidden, "ERR_INVALID_LINK")
	// Expired.
	e.shift.Store(int64(5*time.Minute + time.Second))
	wantError(t, "expired link", e.get(t, http.MethodGet, *list[0].Download, "", nil), http.StatusUnauthorized, "ERR_LINK_EXPIRED")
}
