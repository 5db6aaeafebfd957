package jsclient

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tusvault/tusvault/internal/testenv"
)

const (
	partSize     = 5 << 20 // -part-size of every test server
	startTimeout = 20 * time.Second
	stopTimeout  = 10 * time.Second
	eventTimeout = 60 * time.Second // for the next line of upload.js
	nodeTimeout  = 2 * time.Minute  // for the whole upload.js run
	outputLimit  = 256 << 10        // server output kept for failure reports
)

// binPath is the tusvault binary built once by TestMain (as internal/e2e
// builds it).
var binPath string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "tusvault-jsclient-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "jsclient:", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	binPath = filepath.Join(tmp, "tusvault")
	if err := testenv.BuildTusvault(binPath, nil); err != nil {
		fmt.Fprintln(os.Stderr, "jsclient:", err)
		return 1
	}
	return m.Run()
}

// requireNode returns the node binary once node, npm and the installed
// packages are there. Without them the test fails in CI, with the one
// command that fixes it, and is skipped elsewhere.
func requireNode(t *testing.T) string {
	t.Helper()
	missing := func(format string, args ...any) {
		t.Helper()
		msg := fmt.Sprintf(format, args...)
		if testenv.InCI() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = exec.LookPath("npm")
	}
	if err != nil {
		missing("node or npm is missing: install them (Debian: apt-get install -y nodejs npm), then run npm ci --prefix internal/jsclient")
	}
	if _, err := os.Stat(filepath.Join("node_modules", "tus-js-client", "package.json")); err != nil {
		missing("internal/jsclient/node_modules is missing: run npm ci --prefix internal/jsclient (make test does)")
	}
	return node
}

// ---- the server ----

var (
	readyLine = regexp.MustCompile(`You can now upload files to: (http://[^\s"]+/files/)`)
	homeLine  = regexp.MustCompile(`Home upload link \(user "dev", valid 24h\): http://\S+/#token=(\S+)`)
)

// server is one tusvault process with the embedded default's auth (a
// token secret created in its upload dir, startup links with dev tokens).
type server struct {
	t        *testing.T
	Dir      string // -upload-dir
	Endpoint string // http://127.0.0.1:PORT/files/
	Port     string
	Token    string // the home token of the startup link (user "dev")

	cmd    *exec.Cmd
	out    *testenv.TailBuffer
	exited chan struct{}
	state  *os.ProcessState
}

// startServer starts tusvault on 127.0.0.1:port ("0": a free one) with
// the upload dir dir and waits for its upload URL line. The process gets
// SIGTERM (then SIGKILL) in t.Cleanup, and its output is logged when the
// test failed.
func startServer(t *testing.T, dir, port string, extra ...string) *server {
	t.Helper()
	args := append([]string{"-host", "127.0.0.1", "-port", port, "-upload-dir", dir, "-part-size", fmt.Sprint(partSize)}, extra...)
	s := &server{t: t, Dir: dir, out: &testenv.TailBuffer{Max: outputLimit}, exited: make(chan struct{})}
	s.cmd = exec.Command(binPath, args...)
	s.cmd.Stdout = s.out
	s.cmd.Stderr = s.out
	s.cmd.WaitDelay = 5 * time.Second
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("starting tusvault: %v", err)
	}
	go func() {
		s.cmd.Wait()
		s.state = s.cmd.ProcessState
		close(s.exited)
	}()
	t.Cleanup(func() {
		testenv.StopProcess(s.cmd.Process, s.exited, stopTimeout)
		if t.Failed() {
			t.Logf("tusvault %s output (exit: %v):\n%s", strings.Join(args, " "), s.state, s.out.String())
		}
	})
	deadline := time.Now().Add(startTimeout)
	for {
		out := s.out.String()
		if m := readyLine.FindStringSubmatch(out); m != nil {
			s.Endpoint = m[1]
			if h := homeLine.FindStringSubmatch(out); h != nil {
				s.Token = h[1]
			}
			break
		}
		select {
		case <-s.exited:
			t.Fatalf("tusvault %s exited before it was ready (%v); output:\n%s", strings.Join(args, " "), s.state, out)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("tusvault %s not ready after %v; output:\n%s", strings.Join(args, " "), startTimeout, out)
		}
	}
	u, err := url.Parse(s.Endpoint)
	if err != nil || u.Hostname() != "127.0.0.1" || u.Port() == "" || u.Port() == "0" {
		t.Fatalf("tusvault announced %q, want http://127.0.0.1:PORT/files/", s.Endpoint)
	}
	s.Port = u.Port()
	if s.Token == "" {
		t.Fatalf("no home upload link in the startup output:\n%s", s.out.String())
	}
	return s
}

// kill sends SIGKILL and waits for the process to be gone.
func (s *server) kill() {
	s.t.Helper()
	s.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-s.exited:
	case <-time.After(stopTimeout):
		s.t.Fatal("tusvault survived SIGKILL")
	}
}

// ---- upload.js ----

// nodeConfig is upload.js's argument.
type nodeConfig struct {
	Endpoint  string `json:"endpoint"`
	File      string `json:"file"`
	Token     string `json:"token"`
	Protocol  string `json:"protocol"`
	Storage   string `json:"storage"`
	ChunkSize int64  `json:"chunkSize"`
	Throttle  int64  `json:"throttle"`
	TimeoutMs int64  `json:"timeoutMs"`
}

// event is one line upload.js prints.
type event struct {
	Event       string `json:"event"`
	URL         string `json:"url"`
	Offset      any    `json:"offset"` // a number (chunk) or a header value (response)
	Total       int64  `json:"total"`
	Method      string `json:"method"`
	Status      int    `json:"status"`
	Message     string `json:"message"`
	Instance    int    `json:"instance"`
	Fingerprint string `json:"fingerprint"`
	Count       int    `json:"count"`
	UploadURL   string `json:"uploadUrl"`
	// TusResumable and Interop are the answer's Tus-Resumable and
	// Upload-Draft-Interop-Version (response).
	TusResumable string `json:"tusResumable"`
	Interop      string `json:"interop"`
}

// offset is the event's offset as a number (-1 when absent or not one).
func (e event) offset() int64 {
	switch v := e.Offset.(type) {
	case float64:
		return int64(v)
	case string:
		var n int64
		if _, err := fmt.Sscan(v, &n); err == nil {
			return n
		}
	}
	return -1
}

// nodeRun is a running upload.js.
type nodeRun struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	events chan event
	stderr *testenv.TailBuffer
	lines  *testenv.TailBuffer // stdout as printed, for failure reports
	exited chan struct{}
	err    error
}

// startNode runs `node upload.js CONFIG`, bounded by nodeTimeout.
func startNode(t *testing.T, node string, cfg nodeConfig) *nodeRun {
	t.Helper()
	cfg.TimeoutMs = nodeTimeout.Milliseconds()
	arg, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), nodeTimeout+10*time.Second)
	t.Cleanup(cancel)
	n := &nodeRun{t: t, events: make(chan event, 1024), stderr: &testenv.TailBuffer{Max: outputLimit}, lines: &testenv.TailBuffer{Max: outputLimit}, exited: make(chan struct{})}
	n.cmd = exec.CommandContext(ctx, node, "upload.js", string(arg))
	n.cmd.Stderr = n.stderr
	n.cmd.WaitDelay = 5 * time.Second
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, err := n.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if n.stdin, err = n.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := n.cmd.Start(); err != nil {
		t.Fatalf("starting node: %v", err)
	}
	go func() {
		defer close(n.events)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			n.lines.Write(append(bytes.Clone(sc.Bytes()), '\n'))
			var e event
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				e = event{Event: "unparsed", Message: sc.Text()}
			}
			n.events <- e
		}
	}()
	go func() {
		n.err = n.cmd.Wait()
		close(n.exited)
	}()
	t.Cleanup(func() {
		n.stdin.Close()
		select {
		case <-n.exited:
		case <-time.After(stopTimeout):
			n.cmd.Process.Kill()
			<-n.exited
		}
		if t.Failed() {
			t.Logf("upload.js stdout:\n%s\nstderr:\n%s", n.lines.String(), n.stderr.String())
		}
	})
	return n
}

// next returns the next event; it fails the test when upload.js reports a
// failure, ends or stays silent for eventTimeout.
func (n *nodeRun) next() event {
	n.t.Helper()
	select {
	case e, ok := <-n.events:
		if !ok {
			<-n.exited
			n.t.Fatalf("upload.js ended (%v) before the test was done", n.err)
		}
		if e.Event == "failure" || e.Event == "unparsed" {
			n.t.Fatalf("upload.js: %s", e.Message)
		}
		return e
	case <-time.After(eventTimeout):
		n.t.Fatalf("upload.js silent for %v", eventTimeout)
	}
	return event{}
}

// resume tells upload.js that the server is back.
func (n *nodeRun) resume() {
	n.t.Helper()
	if _, err := io.WriteString(n.stdin, "resume\n"); err != nil {
		n.t.Fatalf("writing to upload.js: %v", err)
	}
}

// wait waits for upload.js to exit and fails the test unless it exited 0.
func (n *nodeRun) wait() {
	n.t.Helper()
	select {
	case <-n.exited:
	case <-time.After(stopTimeout):
		n.t.Fatalf("upload.js did not exit within %v of its success", stopTimeout)
	}
	if n.err != nil {
		n.t.Fatalf("upload.js: %v", n.err)
	}
}
