package main

import (
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/tusvault/tusvault/internal/sysmem"
)

// GOMEMLIMIT is set to 80 % of the limit unless the environment sets it,
// and the startup line says so with the limit's source.
func TestSetGoMemLimit(t *testing.T) {
	prev := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })
	lim := sysmem.Limit{Bytes: 512 << 20, Source: "cgroup v2 memory.max"}
	line := setGoMemLimit(lim, noEnv)
	if got, want := debug.SetMemoryLimit(-1), int64(float64(lim.Bytes)*0.8); got != want {
		t.Errorf("Go memory limit %d, want 80%% of 512 MiB", got)
	}
	if line != "Set the Go memory limit (GOMEMLIMIT) to 410 MiB: 80% of the 512 MiB limit from cgroup v2 memory.max." {
		t.Errorf("startup line %q", line)
	}
	debug.SetMemoryLimit(math.MaxInt64)
	env := func(k string) string {
		if k == "GOMEMLIMIT" {
			return "300MiB"
		}
		return ""
	}
	line = setGoMemLimit(lim, env)
	if debug.SetMemoryLimit(-1) != math.MaxInt64 || !strings.Contains(line, "GOMEMLIMIT=300MiB from the environment") {
		t.Errorf("with GOMEMLIMIT set: %q", line)
	}
}

func TestLoadStatusToken(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if tok, err := loadStatusToken(write("ok", "  0123456789abcdef0123\n")); err != nil || tok != "0123456789abcdef0123" {
		t.Errorf("token %q, %v", tok, err)
	}
	if _, err := loadStatusToken(write("short", "hunter2\n")); err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "openssl rand") {
		t.Errorf("short token: %v", err)
	}
	if _, err := loadStatusToken(write("two", "0123456789abcdef 0123456789abcdef")); err == nil {
		t.Error("a token with a space: no error")
	}
	if tok, err := loadStatusToken(""); err != nil || tok != "" {
		t.Errorf("no file: %q, %v", tok, err)
	}
}

// GOGC is 50 unless the environment sets it.
func TestSetGOGC(t *testing.T) {
	prev := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(prev) })
	if line := setGOGC(noEnv); line != "Set GOGC to 50 (set GOGC to override)." || debug.SetGCPercent(100) != 50 {
		t.Errorf("default: %q", line)
	}
	env := func(k string) string {
		if k == "GOGC" {
			return "200"
		}
		return ""
	}
	if line := setGOGC(env); !strings.Contains(line, "GOGC=200 from the environment") || debug.SetGCPercent(100) != 100 {
		t.Errorf("with GOGC set: %q", line)
	}
}
