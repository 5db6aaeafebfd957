package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tusvault/tusvault/internal/redisserver"
	"github.com/tusvault/tusvault/internal/s3server"
	"github.com/tusvault/tusvault/internal/tusclient"
)

// With -redis-url the server locks uploads in Redis: it says so without
// the password, /readyz follows Redis, and while Redis is away a request
// on an upload is answered 503 ERR_LOCK_UNAVAILABLE, then served again
// once Redis is back.
func TestServeRedis(t *testing.T) {
	const pw = "redis-pa55word-not-for-logs"
	rs := redisserver.StartWith(t, redisserver.Options{Password: pw})
	s := startServer(t, "-auth=none", "-redis-url", rs.URL())
	if !strings.Contains(s.stdout.String(), "Using Redis at redis://:xxxxx@"+rs.Addr+"/0 for the upload locks") {
		t.Errorf("no Redis startup line:\n%s", s.stdout)
	}
	ctx := context.Background()
	c := &tusclient.Client{}
	u, err := c.Create(ctx, s.url, 6, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Patch(ctx, u, 0, strings.NewReader("abc"), 3); err != nil {
		t.Fatal(err)
	}
	base := strings.TrimSuffix(s.url, "/files/")
	if resp := do(t, http.DefaultClient, http.MethodGet, base+"/readyz"); resp.StatusCode != http.StatusOK {
		t.Fatalf("/readyz with Redis up: %d", resp.StatusCode)
	}

	rs.Stop()
	_, _, err = c.Head(ctx, u)
	if tusclient.Status(err) != http.StatusServiceUnavailable {
		t.Errorf("HEAD while Redis is down: %v, want 503", err)
	}
	status, body := rawPatch(t, u, 3, "def")
	if status != http.StatusServiceUnavailable || !strings.HasPrefix(body, "ERR_LOCK_UNAVAILABLE: ") {
		t.Errorf("PATCH while Redis is down: %d %q", status, body)
	}
	if resp := do(t, http.DefaultClient, http.MethodGet, base+"/readyz"); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/readyz with Redis down: %d", resp.StatusCode)
	}

	rs.Restart(t)
	// Locks are granted again one lease after the subscription is back.
	var off int64
	deadline := time.Now().Add(30 * time.Second)
	for {
		off, _, err = c.Head(ctx, u)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil || off != 3 {
		t.Fatalf("HEAD after Redis came back: %d, %v; want offset 3", off, err)
	}
	if _, err := c.Patch(ctx, u, 3, strings.NewReader("def"), 3); err != nil {
		t.Fatalf("PATCH after Redis came back: %v", err)
	}
	for _, out := range []string{s.stdout.String(), s.stderr.String()} {
		if strings.Contains(out, pw) {
			t.Error("the Redis password was logged")
		}
	}
}

func rawPatch(t *testing.T, u string, off int64, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPatch, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("Content-Type", "application/offset+octet-stream")
	req.Header.Set("Upload-Offset", fmt.Sprint(off))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// An unreachable Redis fails the startup in one line that names the URL
// without its password.
func TestServeRedisUnreachableFailsFast(t *testing.T) {
	port, err := s3server.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("redis://tusvault:hunter2-secret@127.0.0.1:%d/0", port)
	start := time.Now()
	err = run(context.Background(), []string{"tusvault", "-host", "127.0.0.1", "-port", "0", "-upload-dir", t.TempDir(),
		"-auth=none", "-redis-url", url}, noEnv, io.Discard, io.Discard)
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("failed after %v", d)
	}
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), fmt.Sprintf("unable to reach Redis at redis://tusvault:xxxxx@127.0.0.1:%d/0", port)) {
		t.Fatalf("got %v, want one line naming the URL", err)
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Error("the error shows the password")
	}
	t.Log(err)
}
