package bench

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"text/tabwriter"

	"github.com/tusvault/tusvault/internal/s3server"
)

// TestMain prints the summary of BenchmarkVersusTusd after the run: a
// parent benchmark's b.Log is shown only with -v.
func TestMain(m *testing.M) {
	code := m.Run()
	if summaryText != "" {
		fmt.Print(summaryText)
	}
	os.Exit(code)
}

// summaryText is the table BenchmarkVersusTusd leaves for TestMain.
var summaryText string

// concurrency is the number of simultaneous uploads of each comparison.
var concurrency = []int{1, 4}

// BenchmarkVersusTusd compares tusvault with tusd v2.9.1 on one versitygw:
// sub-benchmarks "tusd/uploads=N" and "tusvault/uploads=N", interleaved
// (tusd then tusvault for each N) so both sides see the same machine
// state. Run it with -benchtime=1x (see the package documentation).
func BenchmarkVersusTusd(b *testing.B) {
	size := benchSize(b)
	sds := sides(b)
	h := &harness{size: size, s3: s3server.Start(b), keyring: newKeyring(b)}
	h.s3PID = findPID(h.s3.Dir)

	results := map[string]measurement{}
	var notes []string
	for _, sd := range sds {
		if sd.skip != "" {
			notes = append(notes, sd.name+" skipped: "+sd.skip)
		}
	}
	for _, n := range concurrency {
		for _, sd := range sds {
			name := fmt.Sprintf("%s/uploads=%d", sd.name, n)
			b.Run(name, func(b *testing.B) {
				if sd.skip != "" {
					b.Skip(sd.skip)
				}
				b.ReportAllocs()
				// The framework may call this again with a larger b.N
				// (without -benchtime=1x): one measurement is enough.
				res, ok := results[name]
				if !ok {
					res = h.measure(b, sd, n)
					results[name] = res
				}
				report(b, res)
			})
		}
	}
	summaryText = fmt.Sprintf("\nBenchmarkVersusTusd: %s per upload, 1 and 4 uploads at once, one versitygw, one run:\n%s%s\n",
		sizeString(size), summary(results), strings.Join(notes, "\n"))
}

// summary is the table of the run: throughput, RSS and CPU of each side,
// and the tusvault/tusd ratios.
func summary(results map[string]measurement) string {
	var sb strings.Builder
	tw := tabwriter.NewWriter(&sb, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "uploads\tserver\tMB/s\tpeak RSS MiB\tidle RSS MiB\tCPU s: server\tversitygw\tclient\tmachine busy %\tGET MB/s\t")
	for _, n := range concurrency {
		for _, name := range []string{"tusd", "tusvault"} {
			r, ok := results[fmt.Sprintf("%s/uploads=%d", name, n)]
			if !ok {
				continue
			}
			get := 0.0
			if r.VerifyElapsed > 0 {
				get = float64(r.Bytes) / r.VerifyElapsed.Seconds() / 1e6
			}
			fmt.Fprintf(tw, "%d\t%s\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.0f\t%.1f\t\n",
				n, name, r.MBps(), mib(r.PeakRSS), mib(r.IdleRSS),
				r.ServerCPU.Seconds(), r.S3CPU.Seconds(), r.ClientCPU.Seconds(), 100*r.MachineBusy, get)
		}
	}
	tw.Flush()
	sb.WriteString("\ntusvault/tusd ratios:\n")
	tw = tabwriter.NewWriter(&sb, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "uploads\tMB/s\tpeak RSS\tserver CPU per byte\t")
	for _, n := range concurrency {
		d, ok1 := results[fmt.Sprintf("tusd/uploads=%d", n)]
		v, ok2 := results[fmt.Sprintf("tusvault/uploads=%d", n)]
		if !ok1 || !ok2 {
			fmt.Fprintf(tw, "%d\tn/a\tn/a\tn/a\t\n", n)
			continue
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t\n", n,
			ratio(v.MBps(), d.MBps()), ratio(float64(v.PeakRSS), float64(d.PeakRSS)),
			ratio(v.ServerCPU.Seconds()/float64(v.Bytes), d.ServerCPU.Seconds()/float64(d.Bytes)))
	}
	tw.Flush()
	return sb.String()
}

func ratio(a, b float64) string {
	if b == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", a/b)
}

func sizeString(n int64) string {
	switch {
	case n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}
