package lock

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// pidFile is a lock file holding its owner's process id, in the format
// and with the algorithm of github.com/tus/lockfile, which tusd's
// filelocker uses, so that tusd, tusvault and `tusvault cleanup` share
// locks: the file holds "<pid>\n" and is created by hard-linking a temp
// file "<name>.<digits>" in the same directory onto its name, which
// succeeds for one process only. A lock file whose owner is gone, or that
// holds no pid, is stale and taken over. A live owner, this process
// included, holds the lock (errBusy).
//
// Unlike tus/lockfile it checks owners with kill(pid, 0): os.FindProcess,
// which tus/lockfile calls twice per Unlock and per busy attempt, opens a
// pidfd on Linux (Go 1.23 and later) that stays open until the garbage
// collector finalizes the *os.Process it never releases.
type pidFile string

var (
	// errBusy: a live process holds the lock.
	errBusy = errors.New("lock: held by a live process")
	// errNotVisible: the lock file was linked but is not visible yet (a
	// file system under load); a retry helps.
	errNotVisible = errors.New("lock: lock file created but not visible")
	// errStale: the lock file holds no pid, or one of a process that is
	// gone.
	errStale = errors.New("lock: stale lock file")
	// errNotOwner: Unlock of a lock file this process does not hold.
	errNotOwner = errors.New("lock: lock file not held by this process")
)

// staleAttempts bounds the stale lock files tryLock removes in a row.
const staleAttempts = 8

// tryLock takes the lock if it is free or stale: nil, errBusy,
// errNotVisible, or the file system's error.
func (l pidFile) tryLock() error {
	name := string(l)
	tmp, err := os.CreateTemp(filepath.Dir(name), filepath.Base(name)+".")
	if err != nil {
		return err
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}()
	if _, err := fmt.Fprintf(tmp, "%d\n", os.Getpid()); err != nil {
		return err
	}
	tmpInfo, err := tmp.Stat()
	if err != nil {
		return err
	}
	for range staleAttempts {
		// EEXIST is part of the algorithm: someone else linked first.
		if err := os.Link(tmp.Name(), name); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		fi, err := os.Lstat(name)
		if errors.Is(err, fs.ErrNotExist) {
			return errNotVisible
		} else if err != nil {
			return err
		}
		if os.SameFile(tmpInfo, fi) {
			return nil
		}
		switch _, err := l.owner(); {
		case err == nil:
			return errBusy
		case errors.Is(err, fs.ErrNotExist):
			return errNotVisible
		case !errors.Is(err, errStale):
			return err
		}
		if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return errBusy
}

// owner returns the pid of the live process holding the lock file:
// errStale when it holds no pid, or that of a process that is gone.
func (l pidFile) owner() (int, error) {
	b, err := os.ReadFile(string(l))
	if err != nil {
		return 0, err
	}
	var pid int
	if _, err := fmt.Sscanln(string(b), &pid); err != nil || pid <= 0 {
		return 0, errStale
	}
	if !alive(pid) {
		return 0, errStale
	}
	return pid, nil
}

// unlock removes the lock file if this process holds it.
func (l pidFile) unlock() error {
	pid, err := l.owner()
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, errStale):
		return errNotOwner
	case err != nil:
		return err
	case pid != os.Getpid():
		return errNotOwner
	}
	return os.Remove(string(l))
}

// alive reports whether a process pid exists: kill with signal 0
// delivers nothing and opens nothing. EPERM means it exists under
// another user.
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
