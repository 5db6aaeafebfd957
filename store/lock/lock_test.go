package lock

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tus/tusd/v2/pkg/filelocker"
	"github.com/tus/tusd/v2/pkg/handler"

	"github.com/tusvault/tusvault/internal/redisserver"
	"github.com/tusvault/tusvault/internal/testenv"
)

type locker interface {
	handler.Locker
	TryLock(id string) (func(), bool, error)
}

func lockers(t *testing.T) map[string]locker {
	f, err := NewFile(filepath.Join(t.TempDir(), "locks"), 20*time.Millisecond, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	ls := map[string]locker{"memory": NewMemory(), "file": f}
	if _, err := redisserver.Find(); err == nil || testenv.InCI() {
		ls["redis"] = newRedis(t, redisserver.Start(t).URL(), RedisConfig{Lease: 2 * time.Second, Poll: 10 * time.Millisecond})
	} else {
		t.Logf("no redis-server, the Redis locker is left out: %v", err)
	}
	return ls
}

func mustLock(t *testing.T, l locker, id string, onRelease func()) handler.Lock {
	t.Helper()
	lk, err := l.NewLock(id)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := lk.Lock(ctx, onRelease); err != nil {
		t.Fatal(err)
	}
	return lk
}

// TryLock never takes a held lock and never asks its holder to let go.
func TestTryLockIsPolite(t *testing.T) {
	for name, l := range lockers(t) {
		t.Run(name, func(t *testing.T) {
			var asked atomic.Int32
			held := mustLock(t, l, "home/alice/1", func() { asked.Add(1) })
			if _, ok, err := l.TryLock("home/alice/1"); ok || err != nil {
				t.Fatalf("TryLock of a held lock: ok %v, err %v", ok, err)
			}
			time.Sleep(100 * time.Millisecond) // longer than the file locker's holder poll
			if n := asked.Load(); n != 0 {
				t.Fatalf("holder asked to release %d times by TryLock", n)
			}
			if err := held.Unlock(); err != nil {
				t.Fatal(err)
			}
			release, ok, err := l.TryLock("home/alice/1")
			if !ok || err != nil {
				t.Fatalf("TryLock of a free lock: ok %v, err %v", ok, err)
			}
			if _, ok, _ := l.TryLock("home/alice/1"); ok {
				t.Fatal("TryLock twice succeeded")
			}
			if _, ok, _ := l.TryLock("home/alice/2"); !ok {
				t.Fatal("TryLock of another id failed")
			}
			release()
			mustLock(t, l, "home/alice/1", func() {}).Unlock()
		})
	}
}

// Lock asks the holder to release and gets the lock once it did; a lock
// taken by TryLock is waited for.
func TestLockRequestsRelease(t *testing.T) {
	for name, l := range lockers(t) {
		t.Run(name, func(t *testing.T) {
			asked := make(chan struct{}, 1)
			first := mustLock(t, l, "a", func() {
				select {
				case asked <- struct{}{}:
				default:
				}
			})
			go func() {
				<-asked
				first.Unlock()
			}()
			second := mustLock(t, l, "a", func() {})
			second.Unlock()

			release, ok, _ := l.TryLock("a")
			if !ok {
				t.Fatal("TryLock failed")
			}
			lk, _ := l.NewLock("a")
			ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
			defer cancel()
			if err := lk.Lock(ctx, func() {}); !errors.Is(err, handler.ErrLockTimeout) {
				t.Fatalf("Lock while TryLock holds: %v, want ErrLockTimeout", err)
			}
			go func() {
				time.Sleep(50 * time.Millisecond)
				release()
			}()
			third := mustLock(t, l, "a", func() {})
			third.Unlock()
		})
	}
}

// A release request left by a waiter while TryLock held the lock does not
// stop the next holder.
func TestFileTryLockClearsStop(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "locks")
	l, err := NewFile(dir, 20*time.Millisecond, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	release, ok, _ := l.TryLock("x/y")
	if !ok {
		t.Fatal("TryLock failed")
	}
	if err := os.WriteFile(filepath.Join(dir, "x~y.stop"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	release()
	var asked atomic.Int32
	lk := mustLock(t, l, "x/y", func() { asked.Add(1) })
	time.Sleep(100 * time.Millisecond)
	lk.Unlock()
	if asked.Load() != 0 {
		t.Fatal("the next holder was asked to release by a stale .stop file")
	}
}

func TestName(t *testing.T) {
	for id, want := range map[string]string{
		"public/0123abcd":    "public~0123abcd",
		"home/alice/ff00":    "home~alice~ff00",
		"guest/x-abc/s_1/00": "guest~x-abc~s_1~00",
		"plain":              "plain",
	} {
		if got := Name(id); got != want {
			t.Errorf("Name(%q) = %q, want %q", id, got, want)
		}
	}
	seen := map[string]bool{}
	for _, id := range []string{"", "../x", "a.b", strings.Repeat("a", 201), "~a", "/a"} {
		got := Name(id)
		if !strings.HasPrefix(got, "~") || len(got) != 65 || seen[got] {
			t.Errorf("Name(%q) = %q, want ~<sha256>, unique", id, got)
		}
		seen[got] = true
	}

	dir := filepath.Join(t.TempDir(), "locks")
	l, err := NewFile(dir, time.Second, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	lk := mustLock(t, l, "home/alice/0123", func() {})
	if _, err := os.Stat(filepath.Join(dir, "home~alice~0123.lock")); err != nil {
		t.Errorf("lock file: %v", err)
	}
	if err := lk.Unlock(); err != nil {
		t.Fatal(err)
	}
}

// openFDs counts the process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(entries)
}

// The file locker leaves no descriptor open: tusd's filelocker (through
// tus/lockfile's os.FindProcess) left two pidfds per Unlock and per busy
// attempt until the garbage collector ran. The collector is off here so
// that it cannot close them.
func TestFileLeavesNoDescriptors(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	l, err := NewFile(filepath.Join(t.TempDir(), "locks"), 20*time.Millisecond, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	mustLock(t, l, "warm/up", func() {}).Unlock()
	before := openFDs(t)
	for i := range 50 {
		lk := mustLock(t, l, "home/alice/1", func() {})
		if _, ok, err := l.TryLock("home/alice/1"); ok || err != nil {
			t.Fatalf("TryLock of a held lock: %v, %v", ok, err)
		}
		if err := lk.Unlock(); err != nil {
			t.Fatalf("Unlock %d: %v", i, err)
		}
		release, ok, err := l.TryLock("home/alice/1")
		if !ok || err != nil {
			t.Fatalf("TryLock %d: %v, %v", i, ok, err)
		}
		release()
	}
	if after := openFDs(t); after > before {
		t.Fatalf("%d descriptors open before, %d after 50 rounds", before, after)
	}
}

// File shares locks with tusd's filelocker (the lock and .stop files of
// tus/lockfile), both ways, and takes over a stale lock file.
func TestFileSharesTusdLocks(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "locks")
	l, err := NewFile(dir, 20*time.Millisecond, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	tusd := filelocker.New(dir)
	tusd.HolderPollInterval, tusd.AcquirerPollInterval = 20*time.Millisecond, 10*time.Millisecond

	// tusd holds: ours cannot try it, and Lock asks tusd's holder to let go.
	asked := make(chan struct{})
	theirs, err := tusd.NewLock(Name("home/alice/1"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := theirs.Lock(ctx, func() { close(asked) }); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := l.TryLock("home/alice/1"); ok || err != nil {
		t.Fatalf("TryLock of tusd's lock: %v, %v", ok, err)
	}
	go func() {
		<-asked
		theirs.Unlock()
	}()
	mustLock(t, l, "home/alice/1", func() {}).Unlock()

	// Ours holds: tusd's Lock asks our holder to let go.
	asked2 := make(chan struct{})
	mine := mustLock(t, l, "home/alice/1", func() { close(asked2) })
	go func() {
		<-asked2
		mine.Unlock()
	}()
	theirs2, _ := tusd.NewLock(Name("home/alice/1"))
	if err := theirs2.Lock(ctx, func() {}); err != nil {
		t.Fatalf("tusd's Lock of ours: %v", err)
	}
	theirs2.Unlock()

	// A lock file of a process that is gone, or holding no pid, is stale.
	for _, content := range []string{"2147483646\n", "junk\n", ""} {
		if err := os.WriteFile(filepath.Join(dir, Name("home/alice/2")+".lock"), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		release, ok, err := l.TryLock("home/alice/2")
		if !ok || err != nil {
			t.Fatalf("TryLock over a stale lock file %q: %v, %v", content, ok, err)
		}
		release()
	}
}
