package redisserver

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tusvault/tusvault/internal/testenv"
)

// EnvBinary names the environment variable that points at redis-server,
// overriding the search in PATH.
const EnvBinary = "TUSVAULT_REDIS_SERVER"

// Timeouts and bounds of the harness.
const (
	readyTimeout = 10 * time.Second // from exec to the first PONG
	stopTimeout  = 5 * time.Second  // from SIGTERM to SIGKILL
	launchTries  = 5                // port races
)

// Options change what Start runs.
type Options struct {
	// Password, when set, is required of every client (requirepass); URL
	// then carries it as redis://:<password>@host:port/0.
	Password string
}

// Server is a running (or stopped) redis-server. Its fields are
// read-only.
type Server struct {
	Addr     string // 127.0.0.1:PORT, kept across Restart
	Password string
	Dir      string // the working directory

	bin    string
	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	out    *testenv.TailBuffer
}

// Find returns the path of redis-server: $TUSVAULT_REDIS_SERVER, else
// redis-server in PATH (Debian puts it in /usr/bin).
func Find() (string, error) {
	if p := os.Getenv(EnvBinary); p != "" {
		if fi, err := os.Stat(p); err != nil || fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
			return "", fmt.Errorf("%s=%s is not an executable file", EnvBinary, p)
		}
		return p, nil
	}
	p, err := exec.LookPath("redis-server")
	if err != nil {
		return "", errors.New("redis-server not found in $" + EnvBinary + " or PATH")
	}
	return p, nil
}

// InstallHint is the one-line instruction printed when redis-server is
// missing.
const InstallHint = "install it with `sudo apt-get install -y redis-server` (make test does so as root; the tests start their own server, the Debian service is not needed), or set " + EnvBinary

// Start launches redis-server on a free loopback port and waits until it
// answers PING. It is stopped when the test ends. Without redis-server the
// test is skipped with an installation hint, or fails when CI is set.
func Start(t testing.TB) *Server { return StartWith(t, Options{}) }

// StartWith is Start with options.
func StartWith(t testing.TB, opt Options) *Server {
	t.Helper()
	bin, err := Find()
	if err != nil {
		if testenv.InCI() {
			t.Fatalf("redisserver: %v (CI must provide it); %s", err, InstallHint)
		}
		t.Skipf("redisserver: %v; %s", err, InstallHint)
	}
	s := &Server{bin: bin, Password: opt.Password, Dir: t.TempDir()}
	for try := 1; ; try++ {
		port, err := testenv.FreePort()
		if err == nil {
			s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
			err = s.launch()
		}
		if err == nil {
			break
		}
		if try >= launchTries {
			t.Fatalf("redisserver: %v", err)
		}
	}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("redisserver: redis-server output:\n%s", s.Output())
		}
	})
	return s
}

// URL is the redis:// URL of the server (with the password, if any).
func (s *Server) URL() string {
	u := url.URL{Scheme: "redis", Host: s.Addr, Path: "/0"}
	if s.Password != "" {
		u.User = url.UserPassword("", s.Password)
	}
	return u.String()
}

// launch starts redis-server on s.Addr and waits for its PONG.
func (s *Server) launch() error {
	_, port, _ := net.SplitHostPort(s.Addr)
	args := []string{
		"--port", port, "--bind", "127.0.0.1", "--dir", s.Dir,
		"--save", "", "--appendonly", "no", "--daemonize", "no",
		"--protected-mode", "yes", "--logfile", "", "--databases", "1",
	}
	if s.Password != "" {
		args = append(args, "--requirepass", s.Password)
	}
	cmd := exec.Command(s.bin, args...)
	out := &testenv.TailBuffer{Max: 64 << 10}
	cmd.Stdout, cmd.Stderr = out, out
	// Should the test binary die, take the server along.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	s.mu.Lock()
	s.cmd, s.exited, s.out = cmd, exited, out
	s.mu.Unlock()
	deadline := time.Now().Add(readyTimeout)
	for {
		select {
		case <-exited:
			return fmt.Errorf("redis-server exited before answering (%v); output:\n%s", cmd.ProcessState, out.String())
		default:
		}
		err := s.ping()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			testenv.StopProcess(cmd.Process, exited, stopTimeout)
			return fmt.Errorf("redis-server did not answer at %s within %v (last error: %v); output:\n%s", s.Addr, readyTimeout, err, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ping sends AUTH (when needed) and PING over a raw connection.
func (s *Server) ping() error {
	conn, err := net.DialTimeout("tcp", s.Addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(time.Second))
	rd := bufio.NewReader(conn)
	if s.Password != "" {
		fmt.Fprintf(conn, "AUTH %s\r\n", s.Password)
		if line, err := rd.ReadString('\n'); err != nil || !strings.HasPrefix(line, "+OK") {
			return fmt.Errorf("AUTH: %q, %v", line, err)
		}
	}
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := rd.ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("PING answered %q", strings.TrimSpace(line))
	}
	return nil
}

// Running reports whether the process is up.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.exited == nil {
		return false
	}
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// Stop stops the server (SIGTERM, then SIGKILL after a grace period) and
// waits for it to exit. Keys are lost (no persistence). It is safe to call
// more than once; Start registers it with t.Cleanup.
func (s *Server) Stop() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	testenv.StopProcess(cmd.Process, exited, stopTimeout)
}

// Restart starts a stopped server again on the same address, empty. The
// port may have been taken meanwhile: Restart retries for a few seconds
// and fails the test after that.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop()
	var err error
	for try := 0; try < launchTries; try++ {
		if err = s.launch(); err == nil {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("redisserver: restart on %s: %v", s.Addr, err)
}

// Output returns the last 64 KiB the server printed.
func (s *Server) Output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.out == nil {
		return ""
	}
	return s.out.String()
}
