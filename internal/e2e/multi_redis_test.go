package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tusvault/tusvault/hooks"
	"github.com/tusvault/tusvault/internal/tusclient"
)

// Two instances on one bucket, and Redis restarted (without persistence:
// every lock is gone) in the middle of an upload. While Redis is away the
// PATCH under way on A stops within its lease rather than write without
// a lock, and B answers the upload's requests 503 ERR_LOCK_UNAVAILABLE
// and /readyz 503. Once Redis is back B grants no lock for one lease (the
// holders of the lost locks have stopped by then; a request waits for it,
// within -acquire-lock-timeout), then the client resumes on B from what A stored, and the upload completes byte-exact
// from either instance, its tag verified by `tusvault decrypt`.
func TestMultiInstanceRedisRestart(t *testing.T) {
	const (
		size  = 64 * MiB
		lease = 15 * time.Second // lock.DefaultLease
	)
	ctx := testCtx(t, 240*time.Second)
	cl := newCluster(t)
	a, b := cl.start(t), cl.start(t)
	alice := cl.token(t, hooks.Claims{Subject: "alice"})
	data := randomBytes(8103, size)
	u, err := alice.Create(ctx, a.Endpoint, size, map[string]string{"filename": "redis-restart.bin"})
	if err != nil {
		t.Fatal(err)
	}

	// A PATCH on A at about 2 MiB/s: still under way when Redis goes.
	pr, pw := io.Pipe()
	result := asyncPatch(ctx, alice, u, 0, pr, size)
	feed := feedSlowly(pw, data, 64<<10, 30*time.Millisecond)
	t.Cleanup(func() {
		feed.Stop()
		pw.CloseWithError(io.ErrClosedPipe)
	})
	for deadline := time.Now().Add(30 * time.Second); feed.Written() < 6*MiB; {
		if time.Now().After(deadline) {
			t.Fatalf("only %d bytes sent in 30 s", feed.Written())
		}
		time.Sleep(20 * time.Millisecond)
	}

	cl.redis.Stop()
	down := time.Now()
	t.Logf("Redis stopped after %d bytes sent", feed.Written())
	// A HEAD answer has no body to name the error; an empty PATCH does.
	if _, _, err := alice.Head(ctx, on(b, u)); tusclient.Status(err) != http.StatusServiceUnavailable {
		t.Errorf("HEAD on B while Redis is away: %v, want 503", err)
	}
	_, err = alice.Patch(ctx, on(b, u), 0, strings.NewReader(""), 0)
	if tusclient.Status(err) != http.StatusServiceUnavailable || !strings.Contains(err.Error(), "ERR_LOCK_UNAVAILABLE") {
		t.Errorf("PATCH on B while Redis is away: %v, want 503 ERR_LOCK_UNAVAILABLE", err)
	}
	if code := getStatus(t, "http://"+b.Addr+"/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz on B while Redis is away: %d, want 503", code)
	}
	r, ok := waitPatch(t, result, lease+5*time.Second)
	if !ok {
		t.Fatalf("A's PATCH still runs %v after Redis went away (lease %v)", time.Since(down).Round(time.Millisecond), lease)
	}
	feed.Stop()
	sent := feed.Written()
	t.Logf("A's PATCH ended %v after Redis went away, %d bytes sent: offset %d, %v", time.Since(down).Round(time.Millisecond), sent, r.offset, r.err)
	if r.err == nil {
		t.Fatalf("A's PATCH succeeded without a lock: offset %d", r.offset)
	}

	cl.redis.Restart(t)
	up := time.Now()
	var off int64
	var unavailable int
	for {
		off, _, err = alice.Head(ctx, on(b, u))
		if err == nil {
			break
		}
		if tusclient.Status(err) != http.StatusServiceUnavailable || time.Since(up) > lease+15*time.Second {
			t.Fatalf("HEAD on B %v after Redis came back: %v", time.Since(up).Round(time.Millisecond), err)
		}
		unavailable++
		time.Sleep(500 * time.Millisecond)
	}
	waited := time.Since(up)
	t.Logf("B locked the upload %v after Redis came back (%d answers 503 before), offset %d", waited.Round(time.Millisecond), unavailable, off)
	if waited < lease-time.Second {
		t.Errorf("B granted a lock %v after Redis came back, before one lease (%v)", waited, lease)
	}
	if off > sent {
		t.Fatalf("offset %d on B, but only %d bytes were sent", off, sent)
	}
	if err := alice.UploadFrom(ctx, on(b, u), data, off, []int{16 * MiB}); err != nil {
		t.Fatalf("resuming on B at %d: %v", off, err)
	}
	checkGetFull(t, alice, ctx, on(a, u), data)
	checkGetFull(t, alice, ctx, on(b, u), data)
	checkDecrypt(t, b, uploadID(t, u), data)
}

// getStatus is the status of a GET of target (no body kept).
func getStatus(t *testing.T, target string) int {
	t.Helper()
	resp, err := probeClient.Get(target)
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}
