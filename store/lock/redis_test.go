package lock

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tus/tusd/v2/pkg/handler"

	"github.com/tusvault/tusvault/internal/redisserver"
)

// newRedis is a Redis locker on url, closed when the test ends; cfg's URL
// and Logger are filled in.
func newRedis(t *testing.T, url string, cfg RedisConfig) *Redis {
	t.Helper()
	cfg.URL = url
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t}, nil))
	}
	r, err := NewRedis(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	waitReady(t, r)
	return r
}

// waitReady waits until r's subscription is confirmed, so that release
// requests reach it.
func waitReady(t *testing.T, r *Redis) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		n, err := r.client.PubSubNumSub(ctx, r.relCh).Result()
		if err == nil && n[r.relCh] > 0 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the locker never subscribed: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func lockCtx(t *testing.T, l handler.Locker, id string, d time.Duration, onRelease func()) (handler.Lock, error) {
	t.Helper()
	lk, err := l.NewLock(id)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return lk, lk.Lock(ctx, onRelease)
}

// 50 contenders on three lockers (three instances) never hold one lock
// at once, and every one of them gets it.
func TestRedisMutualExclusion(t *testing.T) {
	srv := redisserver.Start(t)
	var ls []*Redis
	for range 3 {
		ls = append(ls, newRedis(t, srv.URL(), RedisConfig{Lease: 5 * time.Second, Poll: 20 * time.Millisecond}))
	}
	const contenders, rounds = 50, 4
	var holding, most, done atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, contenders*rounds)
	start := time.Now()
	for i := range contenders {
		wg.Go(func() {
			l := ls[i%len(ls)]
			for range rounds {
				lk, err := lockCtx(t, l, "home/alice/contended", 60*time.Second, func() {})
				if err != nil {
					errs <- err
					return
				}
				n := holding.Add(1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				time.Sleep(time.Millisecond)
				holding.Add(-1)
				if err := lk.Unlock(); err != nil {
					errs <- err
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if m := most.Load(); m != 1 {
		t.Errorf("at most %d holders at once, want 1", m)
	}
	if n := done.Load(); n != contenders*rounds {
		t.Errorf("%d acquisitions, want %d", n, contenders*rounds)
	}
	var sent int64
	for _, l := range ls {
		sent += l.Stats().ReleaseRequestsSent.Load()
	}
	t.Logf("%d acquisitions by %d contenders on 3 lockers in %v (%d release requests published)",
		done.Load(), contenders, time.Since(start).Round(time.Millisecond), sent)
}

// A holder process killed with SIGKILL leaves a lock that expires after
// its lease; a waiter then gets it.
func TestRedisLeaseExpiresAfterSIGKILL(t *testing.T) {
	srv := redisserver.Start(t)
	l := newRedis(t, srv.URL(), RedisConfig{Lease: time.Second, Poll: 20 * time.Millisecond})
	const lease = time.Second
	h := startHelper(t, "hold", srv.URL(), "home/alice/killed", lease)
	if _, ok, err := l.TryLock("home/alice/killed"); ok || err != nil {
		t.Fatalf("TryLock while the helper holds: ok %v, err %v", ok, err)
	}
	h.signal(syscall.SIGKILL)
	killed := time.Now()
	lk, err := lockCtx(t, l, "home/alice/killed", 10*time.Second, func() {})
	if err != nil {
		t.Fatalf("Lock after the holder's SIGKILL: %v", err)
	}
	took := time.Since(killed)
	lk.Unlock()
	t.Logf("lock taken %v after the holder's SIGKILL (lease %v)", took.Round(time.Millisecond), lease)
	if took > lease+time.Second {
		t.Errorf("took %v, want within the lease of %v and a second", took, lease)
	}
}

// A waiter in this process asks the holder in another process to release
// (through Redis pub/sub); the holder's requestRelease runs, it unlocks,
// and the waiter gets the lock long before the holder's lease would end.
func TestRedisReleaseRequestAcrossProcesses(t *testing.T) {
	srv := redisserver.Start(t)
	l := newRedis(t, srv.URL(), RedisConfig{Lease: 30 * time.Second, Poll: 200 * time.Millisecond})
	h := startHelper(t, "release", srv.URL(), "guest/bob/trip/up1", 30*time.Second)
	start := time.Now()
	lk, err := lockCtx(t, l, "guest/bob/trip/up1", 10*time.Second, func() {})
	if err != nil {
		t.Fatalf("Lock held by another process: %v", err)
	}
	took := time.Since(start)
	defer lk.Unlock()
	h.expect("asked", time.Second)
	if line := h.expect("unlocked", time.Second); line != "unlocked <nil>" {
		t.Errorf("helper: %q, want a clean unlock", line)
	}
	t.Logf("lock handed over across processes in %v", took.Round(time.Microsecond))
	if took > 3*time.Second {
		t.Errorf("hand-over took %v, want a few seconds at most", took)
	}
	if n := l.Stats().ReleaseRequestsSent.Load(); n < 1 {
		t.Errorf("%d release requests published, want at least 1", n)
	}
}

// A holder whose lease ran out while it was stopped (SIGSTOP: a long
// pause) can neither renew nor delete the lock the next holder took: on
// SIGCONT its renewal finds the lock taken, it is asked to stop, and its
// Unlock leaves the new holder's lock alone.
func TestRedisFencing(t *testing.T) {
	srv := redisserver.Start(t)
	l := newRedis(t, srv.URL(), RedisConfig{Lease: 10 * time.Second, Poll: 20 * time.Millisecond})
	const id = "home/alice/fenced"
	h := startHelper(t, "release", srv.URL(), id, 600*time.Millisecond)
	h.signal(syscall.SIGSTOP)
	stopped := time.Now()
	// TryLock: no release request may reach the stale holder; only its
	// own renewal can tell it.
	var release func()
	for deadline := time.Now().Add(5 * time.Second); release == nil; {
		rel, ok, err := l.TryLock(id)
		switch {
		case err != nil:
			t.Fatal(err)
		case ok:
			release = rel
		case time.Now().After(deadline):
			t.Fatal("the stopped holder's lock did not expire within 5 s")
		default:
			time.Sleep(20 * time.Millisecond)
		}
	}
	defer release()
	t.Logf("the stopped holder's lock expired after %v", time.Since(stopped).Round(time.Millisecond))
	key := l.key(Name(id))
	mine, err := l.client.Get(context.Background(), key).Result()
	if err != nil {
		t.Fatal(err)
	}
	h.signal(syscall.SIGCONT)
	h.expect("asked", 3*time.Second)
	h.expect("unlocked <nil>", time.Second)
	if line := h.expect("lost", time.Second); line != "lost 1" {
		t.Errorf("helper: %q, want its lease counted lost once", line)
	}
	got, err := l.client.Get(context.Background(), key).Result()
	if err != nil || got != mine {
		t.Fatalf("after the stale holder's renewal and Unlock the key holds %q (%v), want the new holder's token", got, err)
	}
	if ttl := l.client.PTTL(context.Background(), key).Val(); ttl < 5*time.Second {
		t.Errorf("the new holder's lock has %v left, want its own lease", ttl)
	}
	if n := l.Stats().LeasesLost.Load(); n != 0 {
		t.Errorf("the new holder lost %d leases", n)
	}
}

// Redis stopped and restarted (empty) under load: while it is away, Lock
// fails fast with ERR_LOCK_UNAVAILABLE (503) and Ready fails; a holder
// that cannot renew is told to stop; once Redis is back and one lease has
// passed, locks are granted again; never two holders at once.
func TestRedisRestartUnderLoad(t *testing.T) {
	srv := redisserver.Start(t)
	const lease = time.Second
	cfg := RedisConfig{Lease: lease, Poll: 20 * time.Millisecond, OpTimeout: 300 * time.Millisecond}
	var ls []*Redis
	for range 3 {
		ls = append(ls, newRedis(t, srv.URL(), cfg))
	}

	// A long holder, asked to stop when its lease can no longer be renewed.
	asked := make(chan struct{})
	var once sync.Once
	long, err := lockCtx(t, ls[0], "home/alice/long", 5*time.Second, func() { once.Do(func() { close(asked) }) })
	if err != nil {
		t.Fatal(err)
	}

	type result struct {
		at  time.Time
		err error
	}
	var (
		mu       sync.Mutex
		results  []result
		holding  [4]atomic.Int32
		overlaps atomic.Int32
		stop     = make(chan struct{})
		wg       sync.WaitGroup
	)
	for w := range 12 {
		wg.Go(func() {
			l, slot := ls[w%3], w%4
			id := fmt.Sprintf("home/alice/load%d", slot)
			for {
				select {
				case <-stop:
					return
				default:
				}
				lk, err := lockCtx(t, l, id, 1500*time.Millisecond, func() {})
				mu.Lock()
				results = append(results, result{time.Now(), err})
				mu.Unlock()
				if err != nil {
					time.Sleep(20 * time.Millisecond)
					continue
				}
				if holding[slot].Add(1) > 1 {
					overlaps.Add(1)
				}
				time.Sleep(5 * time.Millisecond)
				holding[slot].Add(-1)
				lk.Unlock()
			}
		})
	}
	time.Sleep(time.Second)
	srv.Stop()
	down := time.Now()
	select {
	case <-asked:
		t.Logf("the long holder was asked to stop %v after Redis went away", time.Since(down).Round(time.Millisecond))
	case <-time.After(lease + time.Second):
		t.Error("the long holder was not asked to stop within its lease of Redis going away")
	}
	if err := ls[1].Ready(context.Background()); err == nil {
		t.Error("Ready while Redis is down: nil")
	}
	time.Sleep(500 * time.Millisecond)
	srv.Restart(t)
	up := time.Now()
	long.Unlock() // its lock went with Redis: nothing to delete
	var firstAfter time.Time
	for deadline := up.Add(lease + 5*time.Second); firstAfter.IsZero() && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		mu.Lock()
		for _, r := range results {
			if r.err == nil && r.at.After(up) {
				firstAfter = r.at
				break
			}
		}
		mu.Unlock()
	}
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()

	var before, unavailable, timeouts, after int
	for _, r := range results {
		switch {
		case r.err == nil && r.at.Before(down):
			before++
		case r.err == nil && r.at.After(up):
			after++
		case r.err == nil:
			t.Errorf("a lock was granted at %v, while Redis was away (%v to %v)", r.at, down, up)
		case errors.Is(r.err, ErrLockUnavailable):
			unavailable++
		case errors.Is(r.err, handler.ErrLockTimeout):
			timeouts++
		default:
			t.Errorf("Lock: %v", r.err)
		}
	}
	t.Logf("%d locks before the outage, %d ERR_LOCK_UNAVAILABLE, %d timeouts, %d locks after; first lock %v after the restart (lease %v)",
		before, unavailable, timeouts, after, firstAfter.Sub(up).Round(time.Millisecond), lease)
	if n := overlaps.Load(); n != 0 {
		t.Errorf("%d times two holders of one lock at once", n)
	}
	if before == 0 || unavailable == 0 || after == 0 {
		t.Errorf("want locks before, 503s during and locks after the outage")
	}
	if firstAfter.IsZero() {
		t.Fatal("no lock granted after Redis came back")
	}
	if d := firstAfter.Sub(up); d < lease-100*time.Millisecond {
		t.Errorf("a lock was granted %v after the restart, before one lease (%v) had passed", d, lease)
	}
	var resub int64
	for _, l := range ls {
		resub += l.Stats().Resubscribed.Load()
	}
	if resub < 3 {
		t.Errorf("%d subscriptions made again, want one per locker", resub)
	}
	if err := ls[1].Ready(context.Background()); err != nil {
		t.Errorf("Ready after the restart: %v", err)
	}
}

// With nothing listening, Lock fails fast with the 503 tus error, TryLock
// and Ready fail, and nothing waits for long.
func TestRedisUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	r, err := NewRedis(RedisConfig{URL: "redis://" + addr, OpTimeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	start := time.Now()
	_, err = lockCtx(t, r, "home/alice/x", 10*time.Second, func() {})
	var herr handler.Error
	if !errors.As(err, &herr) || herr.ErrorCode != "ERR_LOCK_UNAVAILABLE" || herr.HTTPResponse.StatusCode != 503 {
		t.Fatalf("Lock without Redis: %v, want ERR_LOCK_UNAVAILABLE 503", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Lock took %v to fail", d)
	}
	if _, ok, err := r.TryLock("home/alice/x"); ok || !errors.Is(err, ErrLockUnavailable) {
		t.Errorf("TryLock without Redis: ok %v, err %v", ok, err)
	}
	if err := r.Ready(context.Background()); err == nil {
		t.Error("Ready without Redis: nil")
	}
}

// A password in the URL authenticates and never shows in what the locker
// says about the URL.
func TestRedisPasswordURL(t *testing.T) {
	const pw = "s3cret-pa55word"
	srv := redisserver.StartWith(t, redisserver.Options{Password: pw})
	r := newRedis(t, srv.URL(), RedisConfig{})
	mustLock(t, r, "home/alice/pw", func() {}).Unlock()
	if red := RedactURL(srv.URL()); strings.Contains(red, pw) || !strings.Contains(red, srv.Addr) {
		t.Errorf("RedactURL = %q", red)
	}
	bad := strings.Replace(srv.URL(), "redis://", "redis://user:"+pw+"@host:notaport/", 1)
	if _, err := NewRedis(RedisConfig{URL: bad}); err == nil || strings.Contains(err.Error(), pw) {
		t.Errorf("NewRedis(bad URL): %v", err)
	}
	wrong := newRedisNoWait(t, strings.Replace(srv.URL(), pw, "wrong", 1))
	if err := wrong.Ready(context.Background()); err == nil || strings.Contains(err.Error(), pw) {
		t.Errorf("Ready with a wrong password: %v", err)
	}
}

func newRedisNoWait(t *testing.T, url string) *Redis {
	r, err := NewRedis(RedisConfig{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}
