//go:build !linux

package store

import "os"

// createSpool opens a spool file in dir, unlinked at once.
func createSpool(dir string) (*os.File, error) { return createUnlinked(dir) }
