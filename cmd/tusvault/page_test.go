package main

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/tusvault/tusvault/internal/tusclient"
)

// TestServePage: the real server with the web page flags: the page under
// its policy (connect-src naming the refresh URL's origin), the session
// carrying the flags, and a finished upload listed with a link that
// downloads it without a token.
func TestServePage(t *testing.T) {
	t.Parallel()
	s := startServer(t, "-web-chunk-size", "20MiB", "-web-retry-delays", "0,2s,1m",
		"-web-token-refresh-url", "https://app.example.com/tusvault-token", "-max-size", "1000000")
	root := strings.TrimSuffix(s.url, "files/")
	resp, err := http.Get(root)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "connect-src 'self' https://app.example.com;") {
		t.Errorf("CSP %q", csp)
	}
	if resp.Header.Get("Referrer-Policy") != "no-referrer" || resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("headers %v", resp.Header)
	}

	tok := devToken(t, s)
	var session struct {
		Kind, Account, Endpoint string
		ChunkSize               int64   `json:"chunk_size"`
		RetryDelaysMs           []int64 `json:"retry_delays_ms"`
		TokenRefreshURL         string  `json:"token_refresh_url"`
		ResumeGraceS            int64   `json:"resume_grace_s"`
		Limits                  struct {
			MaxSize int64 `json:"max_size"`
		}
	}
	getJSON(t, root+"api/session", tok, &session)
	if session.Kind != "home" || session.Account != "dev" || session.Endpoint != "/files/" || session.ChunkSize != 20<<20 ||
		!slices.Equal(session.RetryDelaysMs, []int64{0, 2000, 60000}) || session.TokenRefreshURL != "https://app.example.com/tusvault-token" ||
		session.ResumeGraceS != 86400 || session.Limits.MaxSize != 1000000 {
		t.Errorf("session %+v", session)
	}

	c := tusclient.Client{Header: tokenHeader(tok)}
	ctx := context.Background()
	u, err := c.Create(ctx, s.url, int64(len(testData)), map[string]string{"filename": "notes.txt", "filetype": "text/plain"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Upload(ctx, u, testData, nil); err != nil {
		t.Fatal(err)
	}
	var list struct {
		Uploads []struct {
			ID, Name string
			Download *string
		}
	}
	getJSON(t, root+"api/uploads", tok, &list)
	if len(list.Uploads) != 1 || list.Uploads[0].Name != "notes.txt" || list.Uploads[0].Download == nil ||
		root+"files/"+list.Uploads[0].ID != u {
		t.Fatalf("uploads %+v", list)
	}
	resp, err = http.Get(strings.TrimSuffix(root, "/") + *list.Uploads[0].Download)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != string(testData) {
		t.Errorf("download by link: %s, %d bytes", resp.Status, len(body))
	}
	if !strings.Contains(s.stdout.String(), "Serving the upload page at / and its API at /api/session and /api/uploads.") {
		t.Errorf("no startup line for the page in:\n%s", s.stdout)
	}
}
