package s3server

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
)

// Version is the versitygw release the harness is written and tested for.
const Version = "v1.8.0"

// EnvBinary names the environment variable that points at the versitygw
// binary, overriding the search in <repo>/bin and PATH.
const EnvBinary = "TUSVAULT_VERSITYGW"

const binaryName = "versitygw"

// installHint returns the one-line instruction printed when versitygw is
// missing.
func installHint() string {
	bin := "<repo>/bin"
	if root, err := repoRoot(); err == nil {
		bin = filepath.Join(root, "bin")
	}
	return fmt.Sprintf("install it with `GOBIN=%s go install github.com/versity/versitygw/cmd/versitygw@%s` (or `make tools`), or set %s",
		bin, Version, EnvBinary)
}

// findBinary returns the path of the versitygw binary: $TUSVAULT_VERSITYGW,
// else <repo>/bin/versitygw, else versitygw in PATH.
func findBinary() (string, error) {
	if p := os.Getenv(EnvBinary); p != "" {
		if err := checkExecutable(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", EnvBinary, p, err)
		}
		return p, nil
	}
	if root, err := repoRoot(); err == nil {
		p := filepath.Join(root, "bin", binaryName)
		if checkExecutable(p) == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath(binaryName); err == nil {
		return p, nil
	}
	return "", errors.New("versitygw not found in $" + EnvBinary + ", <repo>/bin or PATH")
}

func checkExecutable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
		return errors.New("not an executable file")
	}
	return nil
}

// repoRoot walks up from the working directory (a package directory when
// run by go test) to the directory holding go.mod.
func repoRoot() (string, error) {
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

// inCI reports whether the environment variable CI is set to anything but
// a false value ("", "0", "false"): there a missing server is a failure,
// never a skip.
func inCI() bool {
	v := os.Getenv("CI")
	if v == "" {
		return false
	}
	if b, err := strconv.ParseBool(v); err == nil {
		return b
	}
	return true
}
