package lock

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tus/tusd/v2/pkg/handler"
)

// maxLockName bounds the name a lock file is derived from, below the
// 255-byte file name limit with room for the filelocker's suffixes
// (".lock", ".stop", ".lock.<digits>").
const maxLockName = 200

// File is tusd's file locker (pkg/filelocker) with every lock file in one
// directory, plus TryLock. Upload ids are routed object keys with slashes
// ("home/alice/<rand>"); tusd's locker would put "<id>.lock" in
// subdirectories that may not exist yet. Here "/" becomes "~", which is not
// an id character, so that two ids never share a lock file.
//
// The lock files and the ".stop" files that ask a holder to let go are
// those of tusd's filelocker (see pidFile), so that processes share locks,
// but File does not use tusd's code: its lockfile library looks up the
// owner with os.FindProcess, which leaves two file descriptors open per
// unlock until the garbage collector runs.
type File struct {
	dir                      string
	holderPoll, acquirerPoll time.Duration
}

// NewFile returns a file locker keeping its lock files in dir, which it
// creates (mode 0700). holderPoll and acquirerPoll are tusd's
// -filelock-holder-poll-interval and -filelock-acquirer-poll-interval:
// how often a holder looks for a release request, and a waiter for a
// free lock.
func NewFile(dir string, holderPoll, acquirerPoll time.Duration) (*File, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("lock dir: %w", err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("lock dir: %w", err)
	}
	if holderPoll <= 0 {
		holderPoll = DefaultHolderPoll
	}
	if acquirerPoll <= 0 {
		acquirerPoll = DefaultAcquirerPoll
	}
	return &File{dir: abs, holderPoll: holderPoll, acquirerPoll: acquirerPoll}, nil
}

// UseIn registers the locker with tusd's composer.
func (f *File) UseIn(c *handler.StoreComposer) { c.UseLocker(f) }

// NewLock implements handler.Locker.
func (f *File) NewLock(id string) (handler.Lock, error) {
	name := filepath.Join(f.dir, Name(id))
	return &fileLock{
		file: pidFile(name + ".lock"), stop: name + ".stop",
		holderPoll: f.holderPoll, acquirerPoll: f.acquirerPoll,
		done: make(chan struct{}),
	}, nil
}

// tryAttempts bounds the retries of TryLock while a lock file is being
// created by someone else (errNotVisible).
const tryAttempts = 5

// TryLock takes id's lock if it is free, never asking a holder to let go:
// it never creates the ".stop" file that a holder polls for.
func (f *File) TryLock(id string) (release func(), ok bool, err error) {
	name := filepath.Join(f.dir, Name(id))
	lf := pidFile(name + ".lock")
	for range tryAttempts {
		err = lf.tryLock()
		switch {
		case err == nil:
			return func() {
				lf.unlock()
				// As tusd's Unlock: a release request made while we
				// held the lock must not stop the next holder.
				os.Remove(name + ".stop")
			}, true, nil
		case errors.Is(err, errBusy):
			return nil, false, nil
		case errors.Is(err, errNotVisible):
			time.Sleep(10 * time.Millisecond)
		default:
			return nil, false, err
		}
	}
	return nil, false, nil
}

// fileLock is one lock of File, with the protocol of tusd's filelocker:
// a waiter creates the ".stop" file and polls for the lock every
// acquirerPoll; the holder looks for the ".stop" file every holderPoll
// and, once it is there, calls its requestRelease.
type fileLock struct {
	file                     pidFile
	stop                     string
	holderPoll, acquirerPoll time.Duration
	done                     chan struct{} // closed by Unlock
}

// Lock implements handler.Lock.
func (l *fileLock) Lock(ctx context.Context, requestRelease func()) error {
	for {
		err := l.file.tryLock()
		if err == nil {
			break
		}
		wait := l.acquirerPoll
		switch {
		case errors.Is(err, errNotVisible):
			wait = 10 * time.Millisecond
		case errors.Is(err, fs.ErrNotExist):
			// The lock directory is gone: as tusd's filelocker.
			return handler.ErrNotFound
		case !errors.Is(err, errBusy):
			return err
		default:
			// Ask the holder to let go.
			sf, err := os.Create(l.stop)
			if err != nil {
				return err
			}
			sf.Close()
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return handler.ErrLockTimeout
		case <-t.C:
		}
	}
	go func() {
		t := time.NewTicker(l.holderPoll)
		defer t.Stop()
		for {
			select {
			case <-l.done:
				return
			case <-t.C:
				if _, err := os.Stat(l.stop); err == nil {
					requestRelease()
					return
				}
			}
		}
	}()
	return nil
}

// Unlock implements handler.Lock.
func (l *fileLock) Unlock() error {
	close(l.done)
	err := l.file.unlock()
	// A release request must not stop the next holder.
	os.Remove(l.stop)
	return err
}

// nameChars are the characters of a lock name mapped from an id.
const nameChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-~"

// Name is the lock file name (without ".lock") of an upload id.
func Name(id string) string {
	name := strings.ReplaceAll(id, "/", "~")
	if name == "" || len(name) > maxLockName || strings.HasPrefix(name, "~") ||
		strings.TrimLeft(name, nameChars) != "" {
		// Not an id the policy hands out (its middleware answers 404
		// before tusd locks): still a lock file of its own, whose name
		// no id maps to.
		sum := sha256.Sum256([]byte(id))
		return "~" + hex.EncodeToString(sum[:])
	}
	return name
}

// The poll intervals of tusd's filelocker and its -filelock-* flags.
const (
	DefaultHolderPoll   = 5 * time.Second
	DefaultAcquirerPoll = 2 * time.Second
)
