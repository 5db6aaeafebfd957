package store

import (
	"os"

	"golang.org/x/sys/unix"
)

// createSpool opens a spool file in dir that never has a name
// (O_TMPFILE), so that a crash at any moment leaves none. A file system
// without O_TMPFILE gets a temp file unlinked at once.
func createSpool(dir string) (*os.File, error) {
	if f, err := os.OpenFile(dir, os.O_RDWR|unix.O_TMPFILE, 0o600); err == nil {
		return f, nil
	}
	return createUnlinked(dir)
}
