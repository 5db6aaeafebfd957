// Package testenv answers two questions the test harnesses share: where
// the repository root is (tools are installed into its bin/), and whether
// the run is CI's (where a missing tool fails a test instead of skipping
// it).
package testenv

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
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
