// Package testenv holds what the test harnesses share: where the
// repository root is (tools are installed into its bin/), whether the run
// is CI's (where a missing tool fails a test instead of skipping it), and
// how to stop a server process they started, a free loopback port and a
// buffer that keeps the end of its output.
package testenv

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// RepoRoot walks up from the working directory (a package directory when
// run by go test) to the directory holding go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// InCI reports whether the environment variable CI is set to anything but
// a false value ("", "0", "false").
func InCI() bool {
	v := os.Getenv("CI")
	if v == "" {
		return false
	}
	if b, err := strconv.ParseBool(v); err == nil {
		return b
	}
	return true
}

// StopProcess sends p SIGTERM and waits for exited to be closed, killing
// p if it has not exited after grace. A process already gone is left alone.
func StopProcess(p *os.Process, exited <-chan struct{}, grace time.Duration) {
	select {
	case <-exited:
		return
	default:
	}
	p.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(grace):
		p.Kill()
		<-exited
	}
}
