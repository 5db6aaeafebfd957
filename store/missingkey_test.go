package store_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/tus/tusd/v2/pkg/handler"

	"github.com/tusvault/tusvault/internal/tusclient"
	"github.com/tusvault/tusvault/store"
	"github.com/tusvault/tusvault/store/crypt"
	"github.com/tusvault/tusvault/store/disk"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// An instance whose keyring lacks an upload's key id (another keyring than
// the instance that created it) answers every request on it with the 500
// ERR_KEY_UNAVAILABLE tus error, never bytes, and logs the kid and the
// upload id; it still serves uploads of its own keyring.
func TestMissingKidIsKeyUnavailable(t *testing.T) {
	a := newTestServer(t, 2)
	data := []byte(strings.Repeat("only the right keyring opens this. ", 300))
	finished := a.upload(t, data)
	ctx := context.Background()
	open, err := a.Client.Create(ctx, a.URL, 1<<20, nil)
	if err != nil {
		t.Fatal(err)
	}

	// Instance B: the same storage, another keyring.
	b, err := disk.New(a.Dir)
	if err != nil {
		t.Fatal(err)
	}
	other, err := crypt.NewKeyring()
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	st, err := store.New(store.Config{Backend: b, Keyring: other, PartSize: 5 * mib, SpoolDir: t.TempDir(),
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	composer := handler.NewStoreComposer()
	st.UseIn(composer)
	h, err := handler.NewHandler(handler.Config{BasePath: "/files/", StoreComposer: composer, DisableConcatenation: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.StripPrefix("/files/", h))
	defer srv.Close()
	onB := func(u string) string { return strings.Replace(u, a.URL, srv.URL+"/files/", 1) }
	c := &tusclient.Client{}

	const want = "ERR_KEY_UNAVAILABLE: this server cannot decrypt the upload; its operator must give every instance the same keyring"
	status, body, _, err := c.Get(ctx, onB(finished), "")
	if err != nil || status != http.StatusInternalServerError || strings.TrimSpace(string(body)) != want {
		t.Errorf("GET on B: %d %q, %v; want 500 %q", status, body, err, want)
	}
	if _, _, err := c.Head(ctx, onB(open)); tusclient.Status(err) != http.StatusInternalServerError {
		t.Errorf("HEAD on B: %v, want 500", err)
	}
	if _, err := c.Patch(ctx, onB(open), 0, strings.NewReader("abc"), 3); tusclient.Status(err) != http.StatusInternalServerError {
		t.Errorf("PATCH on B: %v, want 500", err)
	}
	var herr handler.Error
	if _, err := st.Peek(ctx, tusclient.UploadID(finished)); !errors.As(err, &herr) || herr.ErrorCode != "ERR_KEY_UNAVAILABLE" {
		t.Errorf("Peek on B: %v", err)
	}
	out := logs.String()
	for _, s := range []string{"kid=" + a.Keyring.Primary, "id=" + tusclient.UploadID(finished), "id=" + tusclient.UploadID(open)} {
		if !strings.Contains(out, s) {
			t.Errorf("B's log lacks %q:\n%s", s, out)
		}
	}
	// The upload is untouched: A still serves it.
	a.mustEqual(t, finished, data)
	// B serves its own uploads.
	own, err := c.Create(ctx, srv.URL+"/files/", 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Patch(ctx, own, 0, strings.NewReader("abc"), 3); err != nil {
		t.Errorf("B's own upload: %v", err)
	}
}
