package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tusvault/tusvault/internal/testenv"
)

// TestMain prints the summary of the run afterwards: a parent
// benchmark's b.Log is shown only with -v.
func TestMain(m *testing.M) {
	code := m.Run()
	if summaryText != "" {
		fmt.Print(summaryText)
	}
	os.Exit(code)
}

// plan is what one run measures.
type plan struct {
	uploads []int // the versus case: uploads at once, each of size bytes
	size    int64
	ranges  int           // ranged GETs of each of rangeLengths after each versus case
	https   bool          // the versus case and the direct ceiling over HTTPS too
	direct  int           // the direct ceiling: multipart uploads of size bytes at once (0: none)
	slow    slowPlan      // the slow-client scenario
	settle  time.Duration // wait after a server starts, before its idle RSS
}

// slowPlan is the slow-client scenario: clients uploads of size bytes,
// each one PATCH throttled in the client to rate bytes per second, and
// fast unthrottled uploads of fastSize bytes started fastAfter later.
type slowPlan struct {
	clients   int
	size      int64
	rate      int64
	fast      int
	fastSize  int64
	fastAfter time.Duration
}

// fullPlan is the run of `make bench-s3`, with size bytes per upload in
// the versus case and the direct ceiling.
func fullPlan(size int64) plan {
	return plan{
		uploads: []int{1, 4}, size: size, ranges: 128, https: true, direct: 4, settle: time.Second,
		slow: slowPlan{clients: 64, size: 32 << 20, rate: 1 << 20, fast: 4, fastSize: 256 << 20, fastAfter: 3 * time.Second},
	}
}

// smallPlan is the reduced run of `make test`: every scenario, a few
// seconds each, so that the harness cannot rot.
var smallPlan = plan{
	uploads: []int{1}, size: 24 << 20, ranges: 8, https: true, direct: 1, settle: 200 * time.Millisecond,
	slow: slowPlan{clients: 2, size: 2 << 20, rate: 1 << 20, fast: 1, fastSize: 8 << 20, fastAfter: 500 * time.Millisecond},
}

// step is one measurement of a run: a sub-benchmark (or sub-test) named
// as in the package documentation.
type step struct {
	name string
	skip string // why the step cannot run, if it cannot
	// run measures and keeps the result in the harness's results; report
	// sets a sub-benchmark's metrics from it.
	run    func(tb testing.TB)
	report func(b *testing.B)
}

// steps returns the measurements of h's plan in the order they run: over
// plain HTTP, then HTTPS, the versus case (tusd, then tusvault, then
// tusvault-v1, for each number of uploads, so all sides see the same
// machine state) and the direct ceiling; then the slow clients (plain
// HTTP; tusd and tusvault only).
func (h *harness) steps() []step {
	var st []step
	for _, gw := range h.gateways() {
		for _, n := range h.plan.uploads {
			for _, sd := range h.sides {
				name := caseName(sd.Name, n, gw.tls)
				st = append(st, step{name: name, skip: sd.Skip,
					run:    func(tb testing.TB) { h.res.versus[name] = h.measure(tb, sd, gw, n, name) },
					report: func(b *testing.B) { h.res.versus[name].report(b) },
				})
			}
		}
		if n := h.plan.direct; n > 0 {
			name := caseName("direct", n, gw.tls)
			st = append(st, step{name: name,
				run:    func(tb testing.TB) { d := h.measureDirect(tb, gw, n); h.res.direct[name] = &d },
				report: func(b *testing.B) { h.res.direct[name].report(b) },
			})
		}
	}
	for _, sd := range h.sides {
		if !slices.Contains(slowServers, sd.Name) {
			continue
		}
		st = append(st, step{name: sd.Name + "/slow-clients", skip: sd.Skip,
			run:    func(tb testing.TB) { h.res.slow[sd.Name] = h.measureSlow(tb, sd) },
			report: func(b *testing.B) { h.res.slow[sd.Name].report(b) },
		})
	}
	return st
}

// BenchmarkVersusTusd compares tusvault with tusd v2.9.1 on one
// versitygw, and both with versitygw alone: the sub-benchmarks of steps.
// Run it with -benchtime=1x (see the package documentation).
func BenchmarkVersusTusd(b *testing.B) {
	tusvault := FindBinary(b, "tusvault", EnvTusvault, "build it with `make build`")
	h := newHarness(b, fullPlan(benchSize(b)), tusvault)
	done := map[string]bool{}
	for _, st := range h.steps() {
		b.Run(st.name, func(b *testing.B) {
			if st.skip != "" {
				b.Skip(st.skip)
			}
			b.ReportAllocs()
			// The framework may call this again with a larger b.N
			// (without -benchtime=1x): one measurement is enough.
			if !done[st.name] {
				st.run(b)
				done[st.name] = true
			}
			st.report(b)
		})
	}
	if p := os.Getenv(envChart); p != "" {
		h.chart(b, chartPath(b, p))
	}
	summaryText = "\n" + h.res.summary()
}

// chartPath resolves a relative TUSVAULT_BENCH_CHART (or
// TUSVAULT_BENCH_PROFILE) against the repository root (go test runs in
// the package directory).
func chartPath(tb testing.TB, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	root, err := testenv.RepoRoot()
	if err != nil {
		tb.Fatal(err)
	}
	return filepath.Join(root, p)
}

// chart writes the RSS chart of the slow-client scenario to path when
// both sides measured it.
func (h *harness) chart(tb testing.TB, path string) {
	if len(h.res.slow) == 0 {
		tb.Logf("bench: no slow-client measurement, no chart")
		return
	}
	if err := writeChart(path, h.res); err != nil {
		tb.Fatal(err)
	}
	h.res.notes = append(h.res.notes, "RSS chart of the slow-client scenario: "+path)
}

// TestSmallRun is the reduced run of BenchmarkVersusTusd that `make test`
// (and CI) runs so that the harness cannot rot: every scenario with a few
// MiB, the chart written to a temporary directory. It builds tusvault from
// the tree (or takes TUSVAULT_BENCH_TUSVAULT) and needs bin/tusd and
// versitygw: skipped without them, failed in CI. Nothing is timed against
// a target.
func TestSmallRun(t *testing.T) {
	if testing.Short() {
		t.Skip("bench: the reduced run starts versitygw and the servers; skipped with -short")
	}
	tusvault := os.Getenv(EnvTusvault)
	if tusvault == "" {
		tusvault = BuildTusvault(t)
	}
	h := newHarness(t, smallPlan, tusvault)
	for _, st := range h.steps() {
		t.Run(st.name, func(t *testing.T) {
			if st.skip != "" {
				t.Skip(st.skip)
			}
			st.run(t)
		})
	}
	if t.Failed() {
		return
	}
	p := smallPlan
	for name, m := range h.res.versus {
		if m.Bytes != int64(len(m.Sums))*p.size || m.MBps() <= 0 || m.PeakRSS <= 0 || len(m.Series) == 0 || getMBps(m) <= 0 {
			t.Errorf("%s: bytes %d, %.1f MB/s, peak RSS %d, %d samples, GET %.1f MB/s", name, m.Bytes, m.MBps(), m.PeakRSS, len(m.Series), getMBps(m))
		}
		if len(m.Ranges) != len(rangeLengths) {
			t.Errorf("%s: ranged GETs of %d lengths, want %d", name, len(m.Ranges), len(rangeLengths))
		}
		for _, rg := range m.Ranges {
			if rg.Requests != p.ranges || rg.MBps() <= 0 {
				t.Errorf("%s: %d ranged GETs of %d bytes at %.1f MB/s, want %d", name, rg.Requests, rg.Length, rg.MBps(), p.ranges)
			}
		}
	}
	for name, m := range h.res.slow {
		if len(m.Slow.Done) != p.slow.clients || len(m.Fast.Done) != p.slow.fast || len(m.Series) < 2 || m.PeakRSS <= 0 {
			t.Errorf("%s slow clients: %d slow, %d fast done, %d RSS samples, peak %d",
				name, len(m.Slow.Done), len(m.Fast.Done), len(m.Series), m.PeakRSS)
		}
	}
	if len(h.res.direct) != 2 {
		t.Errorf("direct ceiling: %d measurements, want HTTP and HTTPS", len(h.res.direct))
	}
	for name, d := range h.res.direct {
		if d.MBps() <= 0 {
			t.Errorf("%s: %+v", name, d)
		}
	}
	if len(h.res.versus) != 2*len(servers)*len(p.uploads) {
		t.Errorf("%d versus measurements, want %d (HTTP and HTTPS)", len(h.res.versus), 2*len(servers)*len(p.uploads))
	}
	chart := filepath.Join(t.TempDir(), "rss.svg")
	h.chart(t, chart)
	svg, err := os.ReadFile(chart)
	if err != nil || !strings.HasPrefix(string(svg), "<?xml") || !strings.Contains(string(svg), "<svg") || !strings.Contains(string(svg), "</svg>") {
		t.Errorf("chart %s: %d bytes, %v; want an SVG document", chart, len(svg), err)
	}
	sum := h.res.summary()
	if len(h.res.slow) != len(slowServers) {
		t.Errorf("slow clients: %d measurements, want %d", len(h.res.slow), len(slowServers))
	}
	for _, want := range []string{"tusvault/tusd", "tusvault-v1/tusd", "tusvault/tusvault-v1", "Versus over HTTPS",
		"GETs over HTTPS", "Direct ceiling over HTTPS", "Slow clients"} {
		if !strings.Contains(sum, want) {
			t.Errorf("summary lacks %q:\n%s", want, sum)
		}
	}
	t.Log("\n" + sum)
}
