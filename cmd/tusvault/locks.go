package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tus/tusd/v2/pkg/filelocker"
	"github.com/tus/tusd/v2/pkg/handler"
)

// maxLockName bounds the name a lock file is derived from, below the
// 255-byte file name limit with room for the filelocker's suffixes
// (".lock", ".stop", ".lock.<digits>").
const maxLockName = 200

// flatLocker is tusd's file locker with every lock file in one directory.
// Upload ids are routed object keys with slashes ("home/alice/<rand>");
// tusd's locker would put "<id>.lock" in subdirectories of the upload dir
// that may not exist yet. Here "/" becomes "~", which is not an id
// character, so that two ids never share a lock file.
type flatLocker struct {
	fl filelocker.FileLocker
}

var _ handler.Locker = flatLocker{}

// newFlatLocker returns a file locker keeping its lock files in dir, which
// it creates (mode 0700).
func newFlatLocker(dir string, holderPoll, acquirerPoll time.Duration) (flatLocker, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return flatLocker{}, fmt.Errorf("lock dir: %w", err)
	}
	fl := filelocker.New(dir)
	fl.HolderPollInterval = holderPoll
	fl.AcquirerPollInterval = acquirerPoll
	return flatLocker{fl: fl}, nil
}

func (l flatLocker) UseIn(c *handler.StoreComposer) { c.UseLocker(l) }

func (l flatLocker) NewLock(id string) (handler.Lock, error) {
	return l.fl.NewLock(lockName(id))
}

// lockNameChars are the characters of a lock name mapped from an id.
const lockNameChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-~"

// lockName is the lock file name (without ".lock") of an upload id.
func lockName(id string) string {
	name := strings.ReplaceAll(id, "/", "~")
	if name == "" || len(name) > maxLockName || strings.HasPrefix(name, "~") ||
		strings.TrimLeft(name, lockNameChars) != "" {
		// Not an id the policy hands out (the middleware answers 404
		// before tusd locks): still a lock file of its own, whose name
		// no id maps to.
		sum := sha256.Sum256([]byte(id))
		return "~" + hex.EncodeToString(sum[:])
	}
	return name
}

// lockDir is where serve keeps the lock files of uploads on disk.
func lockDir(uploadDir string) string {
	return filepath.Join(uploadDir, ".tusvault", "locks")
}
