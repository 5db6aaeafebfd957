package main

import (
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the tests run the real main (signals, exit status) in a
// child process: the test binary re-executed with TUSVAULT_TEST_MAIN=1.
func TestMain(m *testing.M) {
	if os.Getenv("TUSVAULT_TEST_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// mainProcess starts `tusvault args...` as a child process.
type mainProcess struct {
	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
}

func startMain(t *testing.T, args ...string) *mainProcess {
	t.Helper()
	p := &mainProcess{cmd: exec.Command(os.Args[0], args...), stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	p.cmd.Env = append(os.Environ(), "TUSVAULT_TEST_MAIN=1")
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			p.cmd.Wait()
		}
	})
	return p
}

func (p *mainProcess) waitOutput(t *testing.T, s string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(p.stdout.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q; stdout:\n%s\nstderr:\n%s", s, p.stdout, p.stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// wait returns the exit status, failing after 15s.
func (p *mainProcess) wait(t *testing.T) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(15 * time.Second):
		t.Fatalf("process did not exit; stdout:\n%s", p.stdout)
		return -1
	}
}

func TestMainSIGTERMShutsDownCleanly(t *testing.T) {
	t.Parallel()
	p := startMain(t, "-host", "127.0.0.1", "-port", "0", "-upload-dir", t.TempDir())
	p.waitOutput(t, "You can now upload files to: http://127.0.0.1:")
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t); code != 0 {
		t.Errorf("exit status %d, want 0; stderr:\n%s", code, p.stderr)
	}
	out := p.stdout.String()
	if !strings.Contains(out, "Received interrupt signal. Shutting down tusvault...") || !strings.Contains(out, "Shutdown completed. Goodbye!") {
		t.Errorf("stdout:\n%s", out)
	}
}

func TestMainSecondSignalExitsAtOnce(t *testing.T) {
	t.Parallel()
	p := startMain(t, "-host", "127.0.0.1", "-port", "0", "-upload-dir", t.TempDir(), "-shutdown-timeout", "1m")
	p.waitOutput(t, "You can now upload files to: http://")
	m := uploadLine.FindStringSubmatch(p.stdout.String())
	addr := strings.TrimPrefix(strings.TrimSuffix(m[1], "/files/"), "http://")
	// An unfinished request keeps the graceful shutdown waiting.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "OPTIONS /files/ HTTP/1.1\r\nHost: x\r\n")
	time.Sleep(100 * time.Millisecond)

	p.cmd.Process.Signal(os.Interrupt)
	p.waitOutput(t, "Shutting down tusvault...")
	start := time.Now()
	p.cmd.Process.Signal(os.Interrupt)
	if code := p.wait(t); code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("second signal took %s", d)
	}
	if !strings.Contains(p.stderr.String(), "Received second interrupt signal. Exiting immediately!") {
		t.Errorf("stderr: %q", p.stderr)
	}
}

func TestMainInvalidFlagExitStatus(t *testing.T) {
	t.Parallel()
	p := startMain(t, "-port", "http", "-upload-dir", t.TempDir())
	if code := p.wait(t); code != 2 {
		t.Errorf("exit status %d, want 2", code)
	}
	msg := strings.TrimSuffix(p.stderr.String(), "\n")
	if strings.Contains(msg, "\n") || !strings.Contains(msg, `invalid -port "http"`) {
		t.Errorf("stderr %q, want one line naming -port", msg)
	}
	if p.stdout.String() != "" {
		t.Errorf("stdout %q", p.stdout)
	}
}
