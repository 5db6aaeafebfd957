package lock

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tus/lockfile"
	"github.com/tus/tusd/v2/pkg/filelocker"
	"github.com/tus/tusd/v2/pkg/handler"
)

// maxLockName bounds the name a lock file is derived from, below the
// 255-byte file name limit with room for the filelocker's suffixes
// (".lock", ".stop", ".lock.<digits>").
const maxLockName = 200

// File is tusd's file locker with every lock file in one directory, plus
// TryLock. Upload ids are routed object keys with slashes
// ("home/alice/<rand>"); tusd's locker would put "<id>.lock" in
// subdirectories that may not exist yet. Here "/" becomes "~", which is not
// an id character, so that two ids never share a lock file.
type File struct {
	dir string
	fl  filelocker.FileLocker
}

// NewFile returns a file locker keeping its lock files in dir, which it
// creates (mode 0700). holderPoll and acquirerPoll are tusd's
// -filelock-holder-poll-interval and -filelock-acquirer-poll-interval.
func NewFile(dir string, holderPoll, acquirerPoll time.Duration) (*File, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("lock dir: %w", err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("lock dir: %w", err)
	}
	fl := filelocker.New(abs)
	fl.HolderPollInterval = holderPoll
	fl.AcquirerPollInterval = acquirerPoll
	return &File{dir: abs, fl: fl}, nil
}

// UseIn registers the locker with tusd's composer.
func (f *File) UseIn(c *handler.StoreComposer) { c.UseLocker(f) }

// NewLock implements handler.Locker.
func (f *File) NewLock(id string) (handler.Lock, error) {
	return f.fl.NewLock(Name(id))
}

// tryAttempts bounds the retries of TryLock while a lock file is being
// created by someone else (lockfile.ErrNotExist).
const tryAttempts = 5

// TryLock takes id's lock if it is free, never asking a holder to let go:
// it never creates the ".stop" file that tusd's filelocker polls for.
func (f *File) TryLock(id string) (release func(), ok bool, err error) {
	name := filepath.Join(f.dir, Name(id))
	lf := lockfile.Lockfile(name + ".lock")
	for range tryAttempts {
		err = lf.TryLock()
		switch {
		case err == nil:
			return func() {
				lf.Unlock()
				// As tusd's Unlock: a release request made while we
				// held the lock must not stop the next holder.
				os.Remove(name + ".stop")
			}, true, nil
		case errors.Is(err, lockfile.ErrBusy):
			return nil, false, nil
		case errors.Is(err, lockfile.ErrNotExist):
			time.Sleep(10 * time.Millisecond)
		default:
			return nil, false, err
		}
	}
	return nil, false, nil
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
