package bench

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/tusvault/tusvault/internal/loadgen"
)

// Settings of the slow-client scenario.
const (
	slowSampleEvery = 100 * time.Millisecond // the server's VmRSS series
	slowSeed        = 1000                   // slow client i sends NewGenerator(slowSeed+i); fast upload i, NewGenerator(i)
)

// slowMeasurement is one server's run of the slow-client scenario.
type slowMeasurement struct {
	// Usage is the server's over the whole scenario, from the slow
	// clients' start: VmRSS every 100 ms, CPU time, how busy the machine
	// was.
	loadgen.Usage
	// Slow and Fast are the two groups of uploads: Slow.Elapsed runs from
	// the scenario's start, Fast.Elapsed from the fast uploads' start,
	// plan.slow.fastAfter later. Their own Usage is empty.
	Slow, Fast       loadgen.Result
	Elapsed          time.Duration // the whole scenario
	S3CPU, ClientCPU time.Duration
}

// Bytes is what the scenario uploaded.
func (m slowMeasurement) Bytes() int64 { return m.Slow.Bytes + m.Fast.Bytes }

// measureSlow runs the slow-client scenario against a fresh server: the
// slow clients start together, the fast uploads fastAfter later, and the
// server's RSS is sampled over the whole of it. Every download is checked
// afterwards.
func (h *harness) measureSlow(tb testing.TB, sd Side) slowMeasurement {
	tb.Helper()
	timer(tb, false)
	sp := h.plan.slow
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	srv := h.serve(ctx, tb, sd, h.plain)

	var m slowMeasurement
	s3CPU, clientCPU := cpuOf(h.plain.pid), cpuOf(os.Getpid())
	timer(tb, true)
	probe := loadgen.StartProbe(srv.PID, slowSampleEvery)
	start := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		m.Slow, err = loadgen.Run(gctx, loadgen.Options{
			Endpoint: srv.URL, Uploads: sp.clients, Size: sp.size, Rate: sp.rate, Seed: slowSeed,
		})
		return err
	})
	g.Go(func() (err error) {
		m.Fast, err = loadgen.Run(gctx, loadgen.Options{
			Endpoint: srv.URL, Uploads: sp.fast, Size: sp.fastSize, Settle: sp.fastAfter,
		})
		return err
	})
	err := g.Wait()
	m.Elapsed = time.Since(start)
	m.Usage = probe.Stop()
	timer(tb, false)
	m.S3CPU, m.ClientCPU = cpuOf(h.plain.pid)-s3CPU, cpuOf(os.Getpid())-clientCPU
	if err != nil {
		tb.Fatalf("%s: slow clients: %v\nserver output:\n%s", sd.Name, err, srv.Output())
	}
	for _, r := range []loadgen.Result{m.Slow, m.Fast} {
		if err := r.Verify(ctx); err != nil {
			tb.Fatalf("%s: slow clients: %v\nserver output:\n%s", sd.Name, err, srv.Output())
		}
	}
	stop(tb, sd, srv)
	return m
}

// median returns the median of ds (0 for none).
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(ds))
	return s[len(s)/2]
}

// report sets the sub-benchmark's metrics: ns/op is the whole scenario.
func (m slowMeasurement) report(b *testing.B) {
	b.ReportMetric(float64(m.Elapsed.Nanoseconds()), "ns/op")
	b.ReportMetric(m.Fast.Elapsed.Seconds(), "fast-done-s")
	b.ReportMetric(median(m.Slow.Done).Seconds(), "slow-median-s")
	b.ReportMetric(m.Slow.Elapsed.Seconds(), "slow-done-s")
	b.ReportMetric(mib(m.PeakRSS), "peak-RSS-MiB")
	b.ReportMetric(mib(m.IdleRSS), "idle-RSS-MiB")
	b.ReportMetric(mib(m.HWM), "HWM-MiB")
	b.ReportMetric(m.CPU.Seconds(), "server-CPU-s")
	b.ReportMetric(perGiB(m.CPU, m.Bytes()), "server-CPU-s/GiB")
	if m.S3CPU > 0 {
		b.ReportMetric(m.S3CPU.Seconds(), "versitygw-CPU-s")
	}
	b.ReportMetric(m.ClientCPU.Seconds(), "client-CPU-s")
	b.ReportMetric(100*m.MachineBusy, "machine-busy-%")
}
