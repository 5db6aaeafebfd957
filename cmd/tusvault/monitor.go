package main

import (
	"errors"
	"fmt"
	"math"
	"os"
	"runtime/debug"
	"strings"

	"github.com/tusvault/tusvault/internal/sysmem"
	"github.com/tusvault/tusvault/web"
)

// minStatusToken is the shortest -status-token-file content accepted.
const minStatusToken = 16

// goMemLimitShare is the part of the memory limit GOMEMLIMIT is set to when
// the environment does not set it: room for what the Go runtime does not
// count (stacks of C code, the kernel's page tables, file pages).
const goMemLimitShare = 0.8

// validateMonitoring checks the monitoring flags.
func (c *Config) validateMonitoring() error {
	for _, p := range []struct{ name, path string }{{"-metrics-path", c.MetricsPath}, {"-pprof-path", c.PprofPath}} {
		if err := validBasePath(p.path); err != nil {
			return fmt.Errorf("invalid %s %q: %w", p.name, p.path, err)
		}
	}
	if c.ExposeMetrics && c.ExposePprof && strings.HasPrefix(c.MetricsPath, c.PprofPath) {
		return fmt.Errorf("invalid -metrics-path %q: inside -pprof-path %q", c.MetricsPath, c.PprofPath)
	}
	if c.RAMLimitMB < 0 {
		return fmt.Errorf("invalid -ram-limit-mb %d: must be 0 (detect) or positive", c.RAMLimitMB)
	}
	return nil
}

// memoryLimit is -ram-limit-mb, or the limit detected from the cgroup or
// the physical memory.
func (c *Config) memoryLimit() (sysmem.Limit, error) {
	if c.RAMLimitMB > 0 {
		return sysmem.Limit{Bytes: c.RAMLimitMB << 20, Source: "-ram-limit-mb"}, nil
	}
	return sysmem.System{}.DetectLimit()
}

// setGoMemLimit sets the Go runtime's soft memory limit to goMemLimitShare
// of lim unless GOMEMLIMIT is set, and returns the startup line saying so.
func setGoMemLimit(lim sysmem.Limit, getenv func(string) string) string {
	if v := getenv("GOMEMLIMIT"); v != "" {
		return fmt.Sprintf("Using GOMEMLIMIT=%s from the environment; the memory limit is %.0f MiB (%s).", v, float64(lim.Bytes)/(1<<20), lim.Source)
	}
	target := int64(float64(lim.Bytes) * goMemLimitShare)
	if target <= 0 || target >= math.MaxInt64/2 {
		return "Leaving the Go memory limit unset: no usable memory limit."
	}
	debug.SetMemoryLimit(target)
	return fmt.Sprintf("Set the Go memory limit (GOMEMLIMIT) to %.0f MiB: %.0f%% of the %.0f MiB limit from %s.",
		float64(target)/(1<<20), goMemLimitShare*100, float64(lim.Bytes)/(1<<20), lim.Source)
}

// defaultGOGC is the garbage collector's target tusvault sets when GOGC is
// not: the heap may grow by half its live size before a collection,
// instead of Go's doubling. The live heap of an upload server is small
// (buffers and request state; part data lives in spool files), so the
// extra collections cost little CPU, and with many slow clients the peak
// RSS falls by several MiB.
const defaultGOGC = 50

// setGOGC sets the collector's target to defaultGOGC unless GOGC is set,
// and returns the startup line saying so.
func setGOGC(getenv func(string) string) string {
	if v := getenv("GOGC"); v != "" {
		return fmt.Sprintf("Using GOGC=%s from the environment.", v)
	}
	debug.SetGCPercent(defaultGOGC)
	return fmt.Sprintf("Set GOGC to %d (set GOGC to override).", defaultGOGC)
}

// loadStatusToken reads -status-token-file: its text, surrounding
// whitespace trimmed. The error never holds the file's content.
func loadStatusToken(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("status token: %w", err)
	}
	tok := strings.TrimSpace(string(data))
	switch {
	case len(tok) < minStatusToken:
		return "", fmt.Errorf("status token %s: %d characters, want at least %d (make one with: openssl rand -hex 32 > %s)", path, len(tok), minStatusToken, path)
	case strings.ContainsAny(tok, " \t\r\n"):
		return "", errors.New("status token " + path + ": must be one word")
	}
	return tok, nil
}

// webConfig is the side routes' configuration of the flags.
func (c *Config) webConfig(token string, lim sysmem.Limit) web.Config {
	wc := web.Config{StatusToken: token, Limit: lim}
	if c.ExposeMetrics {
		wc.MetricsPath = c.MetricsPath
	}
	if c.ExposePprof {
		wc.PprofPath = c.PprofPath
	}
	return wc
}
