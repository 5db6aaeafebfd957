package loadgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"sync"
	"time"

	"github.com/tusvault/tusvault/internal/testenv"
)

// Timeouts of StartServer and Server.Stop.
const (
	startTimeout = 30 * time.Second // from exec to the upload URL line
	stopTimeout  = 10 * time.Second // from SIGTERM to SIGKILL
	waitDelay    = 5 * time.Second  // for output pipes after the process exits
	outputKept   = 64 << 10         // bytes of server output kept for errors
)

// ErrNotLoopback is returned for a server URL or endpoint whose host is not
// a loopback IP address.
var ErrNotLoopback = errors.New("loadgen: not a loopback address")

// uploadLine is the startup line of tusd and tusvault that carries the
// bound address (so -port 0 works).
var uploadLine = regexp.MustCompile(`You can now upload files to: (\S+)`)

// Server is a running server process. Its fields are read-only.
type Server struct {
	URL string // the upload creation URL the server announced
	PID int

	cmd      *exec.Cmd
	out      *lineWriter
	exited   chan struct{} // closed once the process has been waited for
	waitErr  error         // valid once exited is closed
	stopOnce sync.Once
}

// StartServer runs bin with args and waits (at most 30 s, and not past ctx)
// until it prints its upload URL on stdout or stderr. env holds extra
// KEY=VALUE variables added to the current environment (later ones win).
// The process is killed when ctx ends; call Stop to end it gracefully.
// stdout and stderr are kept (the last 64 KiB) for Output.
func StartServer(ctx context.Context, bin string, args, env []string) (*Server, error) {
	return StartServerLog(ctx, bin, args, env, nil)
}

// StartServerLog is StartServer that also copies everything the process
// prints to log (nil: nowhere), such as a file that keeps a long run's
// whole log. A failing log is ignored.
func StartServerLog(ctx context.Context, bin string, args, env []string, log io.Writer) (*Server, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.WaitDelay = waitDelay
	lw := newLineWriter(outputKept, uploadLine)
	cmd.Stdout, cmd.Stderr = lw, lw
	if log != nil {
		tee := &teeWriter{w: lw, log: log}
		cmd.Stdout, cmd.Stderr = tee, tee
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("loadgen: start %s: %w", bin, err)
	}
	s := &Server{PID: cmd.Process.Pid, cmd: cmd, out: lw, exited: make(chan struct{})}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	var err error
	select {
	case s.URL = <-lw.found:
		err = checkLoopback(s.URL)
	case <-s.exited:
		err = fmt.Errorf("loadgen: %s exited before announcing its URL (%v); output:\n%s", bin, s.waitErr, s.Output())
	case <-ctx.Done():
		err = fmt.Errorf("loadgen: waiting for %s to announce its URL: %w", bin, ctx.Err())
	case <-timer.C:
		err = fmt.Errorf("loadgen: %s did not print its upload URL within %v; output:\n%s", bin, startTimeout, s.Output())
	}
	if err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// Stop sends SIGTERM, waits up to 10 s for the process to exit, then kills
// it. It is safe to call more than once; the exit status of a process that
// ended on the signal is not an error.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() { testenv.StopProcess(s.cmd.Process, s.exited, stopTimeout) })
	<-s.exited
	var ee *exec.ExitError
	if errors.As(s.waitErr, &ee) && !ee.Exited() {
		return nil // ended by a signal: ours
	}
	return s.waitErr
}

// RSS returns the process's current resident set size in bytes.
func (s *Server) RSS() (int64, error) { return readStatus(s.PID, "VmRSS") }

// Output returns the last 64 KiB the process printed on stdout and stderr.
func (s *Server) Output() string { return s.out.String() }

// checkLoopback returns ErrNotLoopback unless u's host is a loopback IP.
func checkLoopback(u string) error {
	p, err := url.Parse(u)
	if err != nil {
		return fmt.Errorf("loadgen: bad URL %q: %w", u, err)
	}
	if ip := net.ParseIP(p.Hostname()); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%w: %q", ErrNotLoopback, u)
	}
	return nil
}

// teeWriter writes to w and, while it works, to log; it is called from
// one goroutine at a time (os/exec copies stdout and stderr, when they are
// the same writer, through one pipe).
type teeWriter struct {
	w      io.Writer
	log    io.Writer
	failed bool
}

func (t *teeWriter) Write(p []byte) (int, error) {
	if !t.failed {
		if _, err := t.log.Write(p); err != nil {
			t.failed = true
		}
	}
	return t.w.Write(p)
}

// lineWriter keeps the last max bytes written and sends the first
// submatch of re found in a complete line on found (once).
type lineWriter struct {
	mu      sync.Mutex
	max     int
	tail    []byte
	partial []byte
	re      *regexp.Regexp
	found   chan string
	sent    bool
}

func newLineWriter(max int, re *regexp.Regexp) *lineWriter {
	return &lineWriter{max: max, re: re, found: make(chan string, 1)}
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.tail = append(w.tail, p...)
	if len(w.tail) > w.max {
		w.tail = append(w.tail[:0], w.tail[len(w.tail)-w.max:]...)
	}
	if w.sent {
		return len(p), nil
	}
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		line := w.partial[:i]
		w.partial = w.partial[i+1:]
		if m := w.re.FindSubmatch(line); m != nil {
			w.found <- string(m[1])
			w.sent, w.partial = true, nil
			break
		}
	}
	if len(w.partial) > w.max { // a very long line without the URL
		w.partial = w.partial[len(w.partial)-w.max:]
	}
	return len(p), nil
}

func (w *lineWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(w.tail)
}
