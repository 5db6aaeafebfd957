package hooks_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tusvault/tusvault/hooks"
	"github.com/tusvault/tusvault/internal/s3server"
	"github.com/tusvault/tusvault/store/s3"
)

var randPart = `[0-9a-f]{32}`

// routedUploads uploads as alice (home), as a guest of carol's share
// "trip", and as a home user whose name is not a literal segment; it
// checks the ids and returns them.
func routedUploads(t *testing.T, e *env) (homeID, guestID, mailID string) {
	t.Helper()
	meta := map[string]string{"filename": "secret-name.txt", "filetype": "text/plain"}
	homeID = e.id(t, e.upload(t, e.home(t, "alice"), []byte("home bytes"), meta))
	guestID = e.id(t, e.upload(t, e.guest(t, "carol", "trip"), []byte("guest bytes"), meta))
	mailID = e.id(t, e.upload(t, e.home(t, "alice@example.com"), []byte("mail bytes"), meta))
	for id, re := range map[string]string{
		homeID:  `^home/alice/` + randPart + `$`,
		guestID: `^guest/carol/trip/` + randPart + `$`,
		mailID:  `^home/` + regexp.QuoteMeta(hooks.Segment("alice@example.com")) + `/` + randPart + `$`,
	} {
		if !regexp.MustCompile(re).MatchString(id) {
			t.Errorf("upload id %q does not match %s", id, re)
		}
	}
	return homeID, guestID, mailID
}

// TestRoutingDisk: keys land under home/<sub>/ and guest/<owner>/<share>/,
// .info records the route with the real names, file names stay out of
// keys.
func TestRoutingDisk(t *testing.T) {
	e := newEnv(t, options{})
	homeID, guestID, mailID := routedUploads(t, e)
	for id, want := range map[string]map[string]string{
		homeID:  {"Route": "home", "Owner": "alice", "Key": homeID, "Type": "disk"},
		guestID: {"Route": "guest", "Owner": "carol", "Share": "trip", "Key": guestID, "Type": "disk"},
		mailID:  {"Route": "home", "Owner": "alice@example.com", "Key": mailID, "Type": "disk"},
	} {
		for _, suffix := range []string{"", ".info"} {
			if _, err := os.Stat(filepath.Join(e.Dir, filepath.FromSlash(id+suffix))); err != nil {
				t.Errorf("object %s%s: %v", id, suffix, err)
			}
		}
		info := readInfo(t, filepath.Join(e.Dir, filepath.FromSlash(id+".info")))
		if info.ID != id {
			t.Errorf(".info of %s names %q", id, info.ID)
		}
		for k, v := range want {
			if info.Storage[k] != v {
				t.Errorf(".info of %s: Storage[%s] = %q, want %q (Storage %v)", id, k, info.Storage[k], v, info.Storage)
			}
		}
		if _, ok := info.Storage["Share"]; ok != (want["Share"] != "") {
			t.Errorf(".info of %s: Storage %v", id, info.Storage)
		}
	}
	for k := range snapshot(t, e.Dir) {
		if strings.Contains(k, "secret-name") {
			t.Errorf("a file name reached a key: %s", k)
		}
	}
}

// TestRoutingS3 is TestRoutingDisk's routing check on a real S3 server
// (versitygw's posix root shows the objects as files).
func TestRoutingS3(t *testing.T) {
	srv := s3server.Start(t)
	b, err := s3.New(context.Background(), s3.Config{
		Bucket: srv.Bucket, Endpoint: srv.Endpoint, Region: srv.Region, Credentials: srv.Credentials(),
	})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, options{backend: b, storageType: "s3", bucket: srv.Bucket})
	homeID, guestID, _ := routedUploads(t, e)
	root := filepath.Join(srv.Dir, srv.Bucket)
	for _, id := range []string{homeID, guestID} {
		for _, suffix := range []string{"", ".info"} {
			if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(id+suffix))); err != nil {
				t.Errorf("object %s%s in the bucket: %v", id, suffix, err)
			}
		}
	}
	for _, dir := range []string{"home/alice", "guest/carol/trip"} {
		entries, err := os.ReadDir(filepath.Join(root, filepath.FromSlash(dir)))
		if err != nil || len(entries) == 0 {
			t.Errorf("bucket directory %s: %d entries, %v", dir, len(entries), err)
		}
	}
	info := readInfo(t, filepath.Join(root, filepath.FromSlash(guestID+".info")))
	for k, v := range map[string]string{"Route": "guest", "Owner": "carol", "Share": "trip", "Key": guestID, "Type": "s3", "Bucket": srv.Bucket} {
		if info.Storage[k] != v {
			t.Errorf("guest .info: Storage[%s] = %q, want %q", k, info.Storage[k], v)
		}
	}
	// Access works the same on S3: the share owner reads, strangers don't.
	u := e.URL + guestID
	if r := do(t, http.MethodGet, u, bearer(e.home(t, "carol")), nil, nil); r.Status != http.StatusOK || r.Body != "guest bytes" {
		t.Fatalf("owner GET on S3: %d %q", r.Status, r.Body)
	}
	if r := do(t, http.MethodGet, u, bearer(e.home(t, "bob")), nil, nil); r.Status != http.StatusNotFound {
		t.Fatalf("stranger GET on S3: %d", r.Status)
	}
}

// TestOpenMode: with -auth=none uploads are tusd-style: public/<id>, no
// token needed; ids of other routes are 404 even when the upload exists,
// and an auth-mode server over the same storage refuses public ids.
func TestOpenMode(t *testing.T) {
	authEnv := newEnv(t, options{})
	alice := authEnv.home(t, "alice")
	homeURL := authEnv.upload(t, alice, []byte("private"), nil)
	homeID := authEnv.id(t, homeURL)

	open := newEnv(t, options{open: true, dir: authEnv.Dir})
	ctx := context.Background()
	c := client("")
	data := []byte("open upload")
	u, err := c.Create(ctx, open.URL, int64(len(data)), map[string]string{"filename": "x.txt"})
	if err != nil {
		t.Fatal(err)
	}
	id := open.id(t, u)
	if !regexp.MustCompile(`^public/` + randPart + `$`).MatchString(id) {
		t.Fatalf("open upload id %q", id)
	}
	if err := c.Upload(ctx, u, data, []int{4}); err != nil {
		t.Fatal(err)
	}
	if off, _, err := c.Head(ctx, u); err != nil || off != int64(len(data)) {
		t.Fatalf("HEAD: %d, %v", off, err)
	}
	if st, body, _, err := c.Get(ctx, u, ""); err != nil || st != http.StatusOK || string(body) != string(data) {
		t.Fatalf("GET: %d %q %v", st, body, err)
	}
	info := readInfo(t, filepath.Join(open.Dir, filepath.FromSlash(id+".info")))
	if info.Storage["Route"] != "public" || info.Storage["Owner"] != "" {
		t.Errorf("public .info Storage %v", info.Storage)
	}
	// The home upload exists in the shared directory, yet open mode serves
	// only public ids; with alice's token too.
	for _, auth := range []string{"", bearer(alice)} {
		for _, m := range []string{http.MethodHead, http.MethodGet, http.MethodDelete} {
			if r := do(t, m, open.URL+homeID, auth, nil, nil); r.Status != http.StatusNotFound {
				t.Errorf("open mode %s %s: %d, want 404", m, homeID, r.Status)
			}
		}
	}
	for _, bad := range []string{"abc", "public/XYZ", "public/" + strings.Repeat("a", 32) + "/x", "../home"} {
		if r := do(t, http.MethodHead, open.URL+bad, "", nil, nil); r.Status != http.StatusNotFound {
			t.Errorf("open mode HEAD %q: %d, want 404", bad, r.Status)
		}
	}
	// Auth mode refuses public ids, even to a valid token.
	if r := do(t, http.MethodGet, authEnv.URL+id, bearer(alice), nil, nil); r.Status != http.StatusNotFound {
		t.Errorf("auth mode GET %s: %d, want 404", id, r.Status)
	}
	if err := c.Delete(ctx, u); err != nil {
		t.Fatal(err)
	}
	if r := do(t, http.MethodGet, authEnv.URL+homeID, bearer(alice), nil, nil); r.Status != http.StatusOK {
		t.Errorf("home upload after open-mode requests: %d", r.Status)
	}
}
