package lock

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The test binary doubles as a lock holder in a process of its own: run
// with TUSVAULT_LOCK_HELPER set, it takes a Redis lock and reports on
// stdout ("locked", "asked", "unlocked <err>", "lost <n>").
const (
	envHelper = "TUSVAULT_LOCK_HELPER" // hold (ignores release requests) or release (honours them)
	envURL    = "TUSVAULT_LOCK_URL"
	envID     = "TUSVAULT_LOCK_ID"
	envLease  = "TUSVAULT_LOCK_LEASE"
)

// helperLifetime bounds a helper that nobody stops.
const helperLifetime = 60 * time.Second

func TestMain(m *testing.M) {
	// go-redis's dial failures while a test stops Redis.
	SetRedisLogger(slog.New(slog.DiscardHandler))
	if mode := os.Getenv(envHelper); mode != "" {
		os.Exit(runHelper(mode))
	}
	os.Exit(m.Run())
}

func runHelper(mode string) int {
	lease, err := time.ParseDuration(os.Getenv(envLease))
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	r, err := NewRedis(RedisConfig{URL: os.Getenv(envURL), Lease: lease, Poll: 10 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))})
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	defer r.Close()
	lk, _ := r.NewLock(os.Getenv(envID))
	asked := make(chan struct{}, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := lk.Lock(ctx, func() {
		select {
		case asked <- struct{}{}:
		default:
		}
	}); err != nil {
		fmt.Println("error:", err)
		return 1
	}
	fmt.Println("locked")
	stdin := make(chan struct{})
	go func() {
		io.Copy(io.Discard, os.Stdin)
		close(stdin)
	}()
	deadline := time.After(helperLifetime)
	for {
		select {
		case <-asked:
			fmt.Println("asked")
			if mode == "release" {
				err := lk.Unlock()
				fmt.Println("unlocked", err)
				fmt.Println("lost", r.Stats().LeasesLost.Load())
			}
		case <-stdin:
			return 0
		case <-deadline:
			return 2
		}
	}
}

// helper is a lock holder process.
type helper struct {
	t     *testing.T
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
	out   strings.Builder // every line, for failure reports
	mu    sync.Mutex
	done  chan struct{}
}

// startHelper runs the test binary as a holder of id's lock and waits for
// "locked".
func startHelper(t *testing.T, mode, url, id string, lease time.Duration) *helper {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envHelper+"="+mode, envURL+"="+url, envID+"="+id, envLease+"="+lease.String())
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &lockedWriter{w: &stderr}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &helper{t: t, cmd: cmd, stdin: stdin, lines: make(chan string, 16), done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			h.mu.Lock()
			h.out.WriteString(sc.Text() + "\n")
			h.mu.Unlock()
			select {
			case h.lines <- sc.Text():
			default:
			}
		}
		cmd.Wait()
		close(h.done)
	}()
	t.Cleanup(func() {
		h.stdin.Close()
		select {
		case <-h.done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-h.done
		}
		if t.Failed() {
			h.mu.Lock()
			t.Logf("helper %s output:\n%s\nstderr:\n%s", mode, h.out.String(), stderr.String())
			h.mu.Unlock()
		}
	})
	h.expect("locked", 10*time.Second)
	return h
}

// expect waits up to d for a line starting with prefix and returns it.
func (h *helper) expect(prefix string, d time.Duration) string {
	h.t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case line := <-h.lines:
			if strings.HasPrefix(line, prefix) {
				return line
			}
			if strings.HasPrefix(line, "error:") {
				h.t.Fatalf("helper: %s", line)
			}
		case <-h.done:
			h.t.Fatalf("helper exited before %q", prefix)
		case <-timer.C:
			h.t.Fatalf("helper printed no %q within %v", prefix, d)
		}
	}
}

func (h *helper) signal(sig syscall.Signal) {
	h.t.Helper()
	if err := h.cmd.Process.Signal(sig); err != nil {
		h.t.Fatal(err)
	}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
