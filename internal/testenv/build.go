package testenv

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"
)

// buildTimeout bounds one go build of the binary.
const buildTimeout = 5 * time.Minute

// GoTool returns the go command: the one in PATH, else GOROOT's.
func GoTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// BuildTusvault builds cmd/tusvault from the tree into out, with the go
// build flags given (such as -tags failpoint or -trimpath), so that a
// test runs the code it is testing, never a stale bin/tusvault. env, when
// not nil, is the build's whole environment.
func BuildTusvault(out string, env []string, flags ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	args := append(append([]string{"build", "-o", out}, flags...), "github.com/tusvault/tusvault/cmd/tusvault")
	cmd := exec.CommandContext(ctx, GoTool(), args...)
	cmd.Env = env
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building tusvault %v: %w\n%s", flags, err, b)
	}
	return nil
}
