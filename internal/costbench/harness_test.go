package costbench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tusvault/tusvault/internal/bench"
	"github.com/tusvault/tusvault/internal/loadgen"
	"github.com/tusvault/tusvault/internal/s3server"
	"github.com/tusvault/tusvault/internal/testenv"
	"github.com/tusvault/tusvault/internal/tusclient"
)

// Bounds and settings of the harness.
const (
	runTimeout  = 5 * time.Minute        // one server run: start, upload, GET
	quietSettle = 200 * time.Millisecond // no S3 request in flight for this long ends a phase
	seed        = 12                     // the upload is loadgen.NewGenerator(seed, size)
	envReport   = "TUSVAULT_COSTBENCH_REPORT"
)

// plan is what one run measures: for each server, one upload of size
// bytes per PATCH size.
type plan struct {
	size    int64
	patches []int64
}

// fullPlan is the table of issue 12: `make bench-traffic`.
var fullPlan = plan{size: 24 << 20, patches: []int64{5 << 20, 1 << 20, 256 << 10}}

// rig is one versitygw, tusvault's keyring and the two servers.
type rig struct {
	s3      *s3server.Server
	keyring string
	sides   []bench.Side
}

// newRig starts versitygw for the servers of bench.Sides (both with
// bench-s3's 10 MiB parts, as in the table of issue 12) and tusvault once
// more with its default part size, 5 MiB.
func newRig(tb testing.TB, tusvault string) *rig {
	sides := bench.Sides(tb, tusvault)
	for _, sd := range sides {
		if sd.Name == "tusvault" {
			args := sd.Args
			sd.Name = "tusvault-5MiB-parts"
			sd.Args = func(endpoint, keyring, bucket, dir string) []string {
				return append(args(endpoint, keyring, bucket, dir), "-s3-part-size=5242880")
			}
			sides = append(sides, sd)
			break
		}
	}
	return &rig{sides: sides, s3: s3server.Start(tb), keyring: bench.NewKeyring(tb)}
}

// runAll measures p for every server, tusd first for each PATCH size, in
// sub-tests or sub-benchmarks of tb; it returns the runs that completed.
func (g *rig) runAll(tb testing.TB, p plan) []Run {
	var runs []Run
	for _, patch := range p.patches {
		for _, sd := range g.sides {
			name := fmt.Sprintf("%s/patch=%s", sd.Name, strings.ReplaceAll(sizeString(patch), " ", ""))
			sub(tb, name, func(tb testing.TB) Run {
				if sd.Skip != "" {
					tb.Skip(sd.Skip)
				}
				r := g.measure(tb, sd, p.size, patch)
				runs = append(runs, r)
				return r
			})
		}
	}
	return runs
}

// sub runs measure as a sub-test or a sub-benchmark named name. A
// sub-benchmark measures once whatever b.N is (the framework may call it
// again with a larger b.N) and reports the run's metrics every time.
func sub(tb testing.TB, name string, measure func(testing.TB) Run) {
	switch tb := tb.(type) {
	case *testing.T:
		tb.Run(name, func(t *testing.T) { measure(t) })
	case *testing.B:
		var r Run
		done := false
		tb.Run(name, func(b *testing.B) {
			if !done {
				r, done = measure(b), true
			}
			b.ReportMetric(r.PerByte(), "bytes/uploaded-byte")
			b.ReportMetric(r.GetPerByte(), "GET-bytes/uploaded-byte")
			b.ReportMetric(float64(r.Total().Sum(nil).Requests), "S3-requests")
		})
	}
}

// measure runs one server for one PATCH size behind a fresh proxy: the
// POST, the PATCHes, one GET checked against the SHA-256 of what was
// sent; each phase ends when the object store has been quiet for
// quietSettle.
func (g *rig) measure(tb testing.TB, sd bench.Side, size, patch int64) Run {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	px, err := StartProxy(g.s3.Endpoint)
	if err != nil {
		tb.Fatal(err)
	}
	defer px.Close()
	srv := bench.StartSide(ctx, tb, g.s3, sd, px.URL, g.keyring)
	fail := func(format string, args ...any) {
		tb.Helper()
		tb.Fatalf("%s, %s PATCHes: %s\nserver output:\n%s", sd.Name, sizeString(patch), fmt.Sprintf(format, args...), srv.Output())
	}
	data, err := io.ReadAll(loadgen.NewGenerator(seed, size))
	if err != nil {
		tb.Fatal(err)
	}
	sent := sha256.Sum256(data)
	quiet := func() Counts {
		if err := px.Quiet(ctx, quietSettle); err != nil {
			fail("%v", err)
		}
		return px.Counts()
	}
	c := &tusclient.Client{HTTP: &http.Client{Transport: &http.Transport{DisableCompression: true}}}
	defer c.HTTP.CloseIdleConnections()

	start := quiet()
	u, err := c.Create(ctx, srv.URL, size, map[string]string{"filename": "traffic.bin"})
	if err != nil {
		fail("%v", err)
	}
	if err := c.Upload(ctx, u, data, []int{int(patch)}); err != nil {
		fail("%v", err)
	}
	uploaded := quiet()
	status, body, _, err := c.Get(ctx, u, "")
	if err != nil || status != http.StatusOK {
		fail("GET: status %d, %v", status, err)
	}
	if got := sha256.Sum256(body); got != sent {
		fail("GET: %d bytes back, SHA-256 %x, want %d bytes of %x", len(body), got[:8], size, sent[:8])
	}
	end := quiet()
	if err := px.Err(); err != nil {
		fail("proxy: %v", err)
	}
	if up, down := px.Raw(); up != end.Sum(nil).Up || down != end.Sum(nil).Down {
		fail("proxy: forwarded %d bytes up and %d down, but its requests add up to %d and %d",
			up, down, end.Sum(nil).Up, end.Sum(nil).Down)
	}
	if err := srv.Stop(); err != nil {
		tb.Logf("%s: stop: %v", sd.Name, err)
	}
	return Run{Server: sd.Name, Size: size, Patch: patch, Upload: uploaded.Sub(start), Get: end.Sub(uploaded)}
}

// report is the markdown of runs: how it was made, then Table.
func report(command string, size int64, runs []Run) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Command: `%s`; %s uploaded per run; %s, commit %s.\n\n",
		command, sizeString(size), time.Now().UTC().Format("2006-01-02 15:04 MST"), commit())
	b.WriteString(Table(runs))
	return b.String()
}

// commit returns the short commit of the working tree, with "+changes"
// when the tree differs from it outside docs/ ("unknown" without git).
func commit() string {
	out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	c := string(bytes.TrimSpace(out))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no", "--", ":/", ":!/docs").Output(); err == nil && len(bytes.TrimSpace(st)) > 0 {
		c += "+changes"
	}
	return c
}

// writeReport writes text to $TUSVAULT_COSTBENCH_REPORT (relative to the
// repository root) when it is set.
func writeReport(tb testing.TB, text string) {
	p := os.Getenv(envReport)
	if p == "" {
		return
	}
	if !filepath.IsAbs(p) {
		root, err := testenv.RepoRoot()
		if err != nil {
			tb.Fatal(err)
		}
		p = filepath.Join(root, p)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		tb.Fatal(err)
	}
}
