package soak

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Run timeouts: the whole run, files and final checks.
const (
	reducedTimeout = 3 * time.Minute
	fullTimeout    = 80 * time.Minute
)

// TestSoak runs the soak against tusvault on versitygw: the reduced mix
// by default (`make test`), the full one with TUSVAULT_SOAK=full (`make
// soak`). Any failure fails it: a file that did not go as planned, a file
// not sent, a RAM status reading that failed, anything left in the
// bucket once every upload is deleted, an unclean exit of the server.
func TestSoak(t *testing.T) {
	p, mode := planFor(t)
	timeout := reducedTimeout
	if mode == "full" {
		timeout = fullTimeout
	}
	soak(t, p, mode, timeout)
}

// soak runs plan p (of the mode named) within timeout and checks it.
func soak(t *testing.T, p Plan, mode string, timeout time.Duration) {
	if dl, ok := t.Deadline(); ok && time.Until(dl) < timeout+2*time.Minute {
		t.Fatalf("the %s soak needs up to %v: run it with -timeout %v or more (make soak does)", mode, timeout, (timeout + 10*time.Minute).Round(time.Minute))
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	tot := p.Totals()
	t.Logf("soak: %s mix, seed %d (rerun with %s=%d), %d files, %.2f GB: %s",
		mode, p.Seed, envSeed, p.Seed, tot.Files, float64(tot.Bytes)/1e9, mixString(tot))

	bin := soakBinary(t)
	const clients = 8
	srv := startServer(ctx, t, bin, p, clients)
	loadStart := loadAverage()
	res, err := Run(ctx, Config{
		Plan: p, Target: srv.target, Clients: clients,
		StatusURL: srv.statusURL(), PID: srv.PID,
		Logf: t.Logf, ProgressEvery: progressEvery(mode),
	})
	if err != nil {
		t.Fatal(err)
	}
	meta := Meta{Command: os.Getenv(envCommand), Commit: commit(), LoadStart: loadStart, LoadEnd: loadAverage()}
	if meta.Command == "" {
		meta.Command = fmt.Sprintf("%s=%s %s=%d go test -count=1 -run '^TestSoak$' ./internal/soak/", envMode, mode, envSeed, p.Seed)
	}

	left, lerr := srv.leftovers(ctx)
	stopErr := srv.Stop()

	report := res.Table(p, meta) + "\nNext to the system tusvault replaces:\n\n" + res.Comparison()
	t.Log("\n" + report)
	reportPath := outPath(t, envReport, filepath.Join(t.ArtifactDir(), "soak.md"))
	if err := os.WriteFile(reportPath, []byte(report), 0o644); err != nil {
		t.Error(err)
	}
	chartPath := outPath(t, envChart, filepath.Join(t.ArtifactDir(), "soak-rss.svg"))
	if err := res.WriteChart(chartPath, p); err != nil {
		t.Error(err)
	} else if svg, err := os.ReadFile(chartPath); err != nil || !strings.Contains(string(svg), "</svg>") {
		t.Errorf("chart %s: not an SVG document (%v)", chartPath, err)
	}
	t.Logf("report: %s, chart: %s", reportPath, chartPath)

	for _, f := range res.Failures {
		t.Errorf("file %d (%s) failed: %s", f.File, f.Name, f.Error)
	}
	switch {
	case len(res.Pending) > 0:
		t.Errorf("%d files not sent after %d failures", len(res.Pending), len(res.Failures))
	case res.Done != tot.Files:
		t.Errorf("%d of %d files done", res.Done, tot.Files)
	case res.Verified != tot.Verified || res.Reverified != tot.Kept || res.Terminated != tot.TerminatedMid+tot.TerminatedDone:
		t.Errorf("verified %d (want %d), again at the end %d (want %d), terminated %d (want %d)",
			res.Verified, tot.Verified, res.Reverified, tot.Kept, res.Terminated, tot.TerminatedMid+tot.TerminatedDone)
	}
	if res.Status.Failed > 0 {
		t.Errorf("%d RAM status readings failed; the first %s", res.Status.Failed, res.Status.FirstError)
	}
	if len(res.Status.Samples) < int(res.Elapsed/time.Second)/2 {
		t.Errorf("%d RAM status readings in %v", len(res.Status.Samples), res.Elapsed)
	}
	if lerr != nil {
		t.Errorf("listing the bucket: %v", lerr)
	} else if len(left) > 0 {
		t.Errorf("%d things left in the bucket once every upload was deleted: %s", len(left), strings.Join(left[:min(len(left), 20)], ", "))
	}
	if stopErr != nil {
		t.Errorf("server: %v", stopErr)
	}
	if len(res.RetryErrors) > 0 {
		t.Logf("retries: %s", strings.Join(res.RetryErrors, "\n"))
	}
	if t.Failed() {
		t.Logf("seed %d: rerun with %s=%d %s=%s; %s", p.Seed, envSeed, p.Seed, envMode, mode, srv.describeLog())
	}
}

// progressEvery is how often the run logs a progress line.
func progressEvery(mode string) time.Duration {
	if mode == "full" {
		return time.Minute
	}
	return 10 * time.Second
}
