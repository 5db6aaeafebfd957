package s3server

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/tusvault/tusvault/internal/testenv"
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
	if root, err := testenv.RepoRoot(); err == nil {
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
	if root, err := testenv.RepoRoot(); err == nil {
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
