package s3server

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tusvault/tusvault/internal/testenv"
)

// Timeouts of the harness.
const (
	readyTimeout = 20 * time.Second // from exec to the first HTTP answer
	stopTimeout  = 5 * time.Second  // from SIGTERM to SIGKILL
	launchTries  = 5                // port races and the xattr fallback
)

// Server is a running versitygw. Its fields are read-only.
type Server struct {
	Endpoint  string // http://127.0.0.1:PORT, or https:// with Options.TLS
	Bucket    string // created fresh by Start
	AccessKey string // root credentials, random per server
	SecretKey string
	Region    string
	Dir       string // the posix root: bucket b, key k is the file Dir/b/k
	// CAFile is the PEM file of the server's self-signed certificate, the
	// one CA a client must trust (AWS_CA_BUNDLE); "" without TLS.
	CAFile string

	bin, sidecar string // how it was launched, for Up
	keepAlive    bool
	addr         string
	cert         *testCert // nil without TLS

	cmd      *exec.Cmd
	out      *testenv.TailBuffer
	exited   chan struct{} // closed when the process has been waited for
	waitErr  error         // valid once exited is closed
	stopOnce sync.Once
}

// Errors that make Start launch again with other settings.
var (
	errAddrInUse = errors.New("address already in use")
	errNoXattr   = errors.New("file system has no user xattrs")
)

// Options change how StartWith runs the server. Every field says its
// default.
type Options struct {
	// TLS serves HTTPS only, with a self-signed certificate for 127.0.0.1
	// made at start (Server.CAFile, Server.HTTPClient). Default false:
	// plain HTTP.
	TLS bool
	// KeepAlive keeps client connections open between requests
	// (versitygw's --keep-alive), as S3 and every S3-compatible service
	// do. Default false: versitygw answers every request with
	// "Connection: close", so each request is a new connection (and over
	// TLS a new handshake).
	KeepAlive bool
}

// Start launches versitygw with its posix backend on a free loopback port,
// waits until it answers and creates a fresh bucket. The server is stopped
// when the test ends. If versitygw is not installed, Start skips the test
// with an installation hint, or fails it when the CI environment variable
// is set.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartWith(t, Options{})
}

// StartWith is Start with options.
func StartWith(t testing.TB, o Options) *Server {
	t.Helper()
	bin, err := findBinary()
	if err != nil {
		if testenv.InCI() {
			t.Fatalf("s3server: %v (CI must provide it); %s", err, installHint())
		}
		t.Skipf("s3server: %v; %s", err, installHint())
	}
	base := t.TempDir()
	s := &Server{
		AccessKey: "tv" + rand.Text()[:18],
		SecretKey: rand.Text() + rand.Text(),
		Region:    "us-east-1",
		Dir:       filepath.Join(base, "root"),
		keepAlive: o.KeepAlive,
	}
	if err := os.Mkdir(s.Dir, 0o755); err != nil {
		t.Fatalf("s3server: %v", err)
	}
	if o.TLS {
		if s.cert, err = newTestCert(base); err != nil {
			t.Fatalf("s3server: %v", err)
		}
		s.CAFile = s.cert.certFile
	}
	sidecar := ""
	for try := 1; ; try++ {
		err = s.launch(bin, sidecar)
		if err == nil {
			break
		}
		switch {
		case try >= launchTries:
		case errors.Is(err, errAddrInUse):
			continue // lost the port to another process: pick another
		case errors.Is(err, errNoXattr) && sidecar == "":
			sidecar = filepath.Join(base, "sidecar")
			if err = os.Mkdir(sidecar, 0o755); err == nil {
				continue
			}
		}
		t.Fatalf("s3server: %v", err)
	}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("s3server: versitygw output:\n%s", s.Output())
		}
	})
	s.Bucket = s.NewBucket(t)
	return s
}

// launch starts versitygw on a fresh port and waits until it answers HTTP.
// On failure the process is gone and the error tells why.
func (s *Server) launch(bin, sidecar string) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	return s.launchAt(bin, sidecar, net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
}

// launchAt starts versitygw on addr and waits until it answers HTTP.
func (s *Server) launchAt(bin, sidecar, addr string) error {
	s.bin, s.sidecar, s.addr = bin, sidecar, addr
	args := []string{"--port", addr, "--region", s.Region, "--quiet"}
	if s.keepAlive {
		args = append(args, "--keep-alive")
	}
	scheme := "http://"
	if s.cert != nil {
		args = append(args, "--cert", s.cert.certFile, "--key", s.cert.keyFile)
		scheme = "https://"
	}
	args = append(args, "posix")
	if sidecar != "" {
		args = append(args, "--sidecar", sidecar)
	}
	args = append(args, s.Dir)
	cmd := exec.Command(bin, args...)
	// Credentials go through the environment, not the command line (ps).
	cmd.Env = append(cleanEnv(os.Environ()),
		"ROOT_ACCESS_KEY_ID="+s.AccessKey, "ROOT_SECRET_ACCESS_KEY="+s.SecretKey)
	s.out = &testenv.TailBuffer{Max: 64 << 10}
	cmd.Stdout, cmd.Stderr = s.out, s.out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", bin, err)
	}
	s.cmd, s.exited = cmd, make(chan struct{})
	go func() {
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()
	s.Endpoint = scheme + addr
	if err := s.waitReady(); err != nil {
		s.terminate()
		return err
	}
	return nil
}

// waitReady polls the endpoint until versitygw answers HTTP (an anonymous
// request gets 403), the process exits or readyTimeout passes.
func (s *Server) waitReady() error {
	client := s.HTTPClient()
	client.Timeout = time.Second
	defer client.CloseIdleConnections()
	deadline := time.Now().Add(readyTimeout)
	for {
		select {
		case <-s.exited:
			out := s.Output()
			err := fmt.Errorf("versitygw exited before answering (%v); output:\n%s", s.waitErr, out)
			switch {
			case strings.Contains(out, "address already in use"):
				err = fmt.Errorf("%w: %w", errAddrInUse, err)
			case strings.Contains(out, "xattrs are not supported"):
				err = fmt.Errorf("%w: %w", errNoXattr, err)
			}
			return err
		default:
		}
		resp, err := client.Get(s.Endpoint + "/")
		if err == nil {
			resp.Body.Close()
			// Another server may hold the port if versitygw lost the race
			// for it: that one would not call itself VERSITYGW.
			if resp.Header.Get("Server") == "VERSITYGW" {
				return nil
			}
			err = fmt.Errorf("answer from a server that is not versitygw (%q)", resp.Header.Get("Server"))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("versitygw did not answer at %s within %v (last error: %v); output:\n%s",
				s.Endpoint, readyTimeout, err, s.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// cleanEnv drops the variables versitygw reads its settings from, so that
// the caller's environment cannot change the server under test.
func cleanEnv(env []string) []string {
	var kept []string
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(name, "VGW_"), strings.HasPrefix(name, "ROOT_"),
			name == "LOGFILE", name == "WEBHOOK":
		default:
			kept = append(kept, kv)
		}
	}
	return kept
}

// Stop stops the server (SIGTERM, then SIGKILL after a grace period) and
// waits for it to exit. It is safe to call more than once; Start registers
// it with t.Cleanup.
func (s *Server) Stop() { s.stopOnce.Do(s.terminate) }

func (s *Server) terminate() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	testenv.StopProcess(s.cmd.Process, s.exited, stopTimeout)
}

// upTimeout bounds how long Up retries a port another process holds.
const upTimeout = 10 * time.Second

// Down stops the server, as Stop does, for an outage: Up starts it again.
// Requests meanwhile are refused (nothing listens on the port).
func (s *Server) Down() { s.terminate() }

// Up starts a server stopped by Down again on the same port, root
// directory, credentials and buckets, and waits until it answers. Another
// process may have taken the port meanwhile: Up retries for a while, then
// fails.
func (s *Server) Up() error {
	select {
	case <-s.exited:
	default:
		return errors.New("s3server: Up while the server is running")
	}
	deadline := time.Now().Add(upTimeout)
	for {
		err := s.launchAt(s.bin, s.sidecar, s.addr)
		if err == nil || !errors.Is(err, errAddrInUse) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Output returns the last 64 KiB the server printed.
func (s *Server) Output() string {
	if s.out == nil {
		return ""
	}
	return s.out.String()
}

// freePort is FreePort, replaced by a test that makes Start lose a port race.
var freePort = FreePort

// FreePort returns a TCP port that was free on 127.0.0.1 a moment ago
// (testenv.FreePort); callers retry on a bind failure.
func FreePort() (int, error) { return testenv.FreePort() }
