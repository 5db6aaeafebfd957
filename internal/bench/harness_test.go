package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tusvault/tusvault/internal/loadgen"
)

// Settings of both servers, and bounds of the harness.
const (
	defaultSize = 512 << 20        // bytes per upload without TUSVAULT_BENCH_SIZE
	runTimeout  = 20 * time.Minute // one server run: start, uploads, check
)

// Environment variables read by the harness.
const (
	envSize      = "TUSVAULT_BENCH_SIZE"
	envChart     = "TUSVAULT_BENCH_CHART"
	envProfile   = "TUSVAULT_BENCH_PROFILE"
	envKeepAlive = "TUSVAULT_BENCH_KEEPALIVE"
	envV1Flags   = "TUSVAULT_BENCH_V1_FLAGS"
)

// harness is the state shared by the measurements of one run.
type harness struct {
	plan    plan
	sides   []Side
	plain   *gateway // versitygw over plain HTTP
	tls     *gateway // versitygw over HTTPS (nil unless plan.https)
	keyring string   // tusvault's keyring file
	profile string   // TUSVAULT_BENCH_PROFILE: where CPU profiles go ("": none)
	res     results
}

// newHarness starts versitygw (twice with plan.https: plain and TLS) and
// writes the keyring for a run of p with the tusvault binary at tusvault
// (and tusd from FindBinary).
func newHarness(tb testing.TB, p plan, tusvault string) *harness {
	sides := Sides(tb, tusvault)
	flags := strings.Fields(os.Getenv(envV1Flags))
	sides = append(sides, FormatV1(sides[1], flags...))
	h := &harness{plan: p, sides: sides, plain: startGateway(tb, false), keyring: NewKeyring(tb)}
	if dir := os.Getenv(envProfile); dir != "" {
		h.profile = chartPath(tb, dir) // relative to the repository root
	}
	if p.https {
		h.tls = startGateway(tb, true)
	}
	h.res = results{plan: p, started: time.Now().UTC(), load: loadAverage(), keep: os.Getenv(envKeepAlive) != "0",
		versus: map[string]measurement{}, slow: map[string]slowMeasurement{}, direct: map[string]*directMeasurement{}}
	if len(flags) > 0 {
		h.res.notes = append(h.res.notes, fmt.Sprintf("tusvault-v1 is tusvault with %s (%s), not -upload-format 1", strings.Join(flags, " "), envV1Flags))
	}
	for _, sd := range h.sides {
		if sd.Skip != "" {
			h.res.notes = append(h.res.notes, sd.Name+" skipped: "+sd.Skip)
		}
	}
	return h
}

// measurement is one server run of the versus case: what loadgen measured
// plus the CPU time versitygw and this process (the client) used during
// the uploads, and the GETs after them: the server's CPU time over the
// verifying whole GETs (VerifyElapsed), and the ranged GETs.
type measurement struct {
	loadgen.Result
	S3CPU, ClientCPU time.Duration
	GetCPU           time.Duration
	Ranges           []rangeMeasurement
	// Profile is the server's CPU by category, from its profiles over
	// the uploads (nil without TUSVAULT_BENCH_PROFILE).
	Profile cpuProfile
}

// findPID returns the process whose command line has arg as an argument
// (0 if none): s3server keeps versitygw's PID to itself, and its posix root
// (a fresh temporary directory) names it.
func findPID(arg string) int {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "cmdline"))
		if err != nil {
			continue
		}
		for _, a := range strings.Split(string(b), "\x00") {
			if a == arg {
				pid, _ := strconv.Atoi(filepath.Base(d))
				return pid
			}
		}
	}
	return 0
}

// loadAverage returns the first three fields of /proc/loadavg ("" if
// unreadable).
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}

// cpuOf is loadgen.ProcessCPU, 0 for pid 0 or on an error.
func cpuOf(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	d, _ := loadgen.ProcessCPU(pid)
	return d
}

// benchSize returns the bytes per upload: TUSVAULT_BENCH_SIZE or 512 MiB.
func benchSize(tb testing.TB) int64 {
	v := os.Getenv(envSize)
	if v == "" {
		return defaultSize
	}
	n, err := loadgen.ParseSize(v)
	if err != nil || n == 0 {
		tb.Fatalf("%s=%q: want a positive size such as 64MiB (%v)", envSize, v, err)
	}
	return n
}

// serve starts sd's server against a fresh bucket of gw (StartSide),
// with -expose-pprof when profiling, after flushing the earlier runs'
// dirty pages, and waits plan.settle.
func (h *harness) serve(ctx context.Context, tb testing.TB, sd Side, gw *gateway) *loadgen.Server {
	tb.Helper()
	if h.profile != "" {
		args := sd.Args
		sd.Args = func(endpoint, keyring, bucket, dir string) []string {
			return append(args(endpoint, keyring, bucket, dir), "-expose-pprof")
		}
	}
	flush()
	srv := StartSide(ctx, tb, gw.Server, sd, gw.Endpoint, h.keyring)
	time.Sleep(h.plan.settle)
	return srv
}

// flush writes the dirty pages of the earlier runs (GiB of objects, spool
// and buffer files) to disk before a measurement: the kernel would write
// them back 30 s later, in the middle of the next run.
func flush() { syscall.Sync() }

// stop stops srv, logging (not failing on) an unclean exit.
func stop(tb testing.TB, sd Side, srv *loadgen.Server) {
	if err := srv.Stop(); err != nil {
		tb.Logf("%s: stop: %v\nserver output:\n%s", sd.Name, err, srv.Output())
	}
}

// timer starts or stops tb's benchmark timer (B/op and allocs/op count
// the client's allocations while it runs); a test has none.
func timer(tb testing.TB, on bool) {
	if b, ok := tb.(*testing.B); ok {
		if on {
			b.StartTimer()
		} else {
			b.StopTimer()
		}
	}
}

// measure runs the versus case for one server on gw: start, settle, the
// uploads (the only timed part, profiled with a profile directory), the
// check of every download (whole GETs, one after the other), the ranged
// GETs of upload 0, stop. name is the case's step name.
func (h *harness) measure(tb testing.TB, sd Side, gw *gateway, uploads int, name string) measurement {
	tb.Helper()
	timer(tb, false)
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	srv := h.serve(ctx, tb, sd, gw)
	var prof *profiler
	if h.profile != "" {
		prof = startProfiler(srv.URL, h.profile, name)
	}
	s3CPU, clientCPU := cpuOf(gw.pid), cpuOf(os.Getpid())
	timer(tb, true)
	res, err := loadgen.Run(ctx, loadgen.Options{
		Endpoint: srv.URL, PID: srv.PID, Uploads: uploads, Size: h.plan.size,
	})
	timer(tb, false)
	m := measurement{Result: res, S3CPU: cpuOf(gw.pid) - s3CPU, ClientCPU: cpuOf(os.Getpid()) - clientCPU}
	if err != nil {
		tb.Fatalf("%s: %v\nserver output:\n%s", sd.Name, err, srv.Output())
	}
	if prof != nil {
		if m.Profile, err = prof.stop(); err != nil {
			tb.Fatalf("%s: profile: %v", sd.Name, err)
		}
	}
	getCPU, t := cpuOf(srv.PID), time.Now()
	if err := res.Verify(ctx); err != nil {
		tb.Fatalf("%s: %v\nserver output:\n%s", sd.Name, err, srv.Output())
	}
	m.VerifyElapsed, m.GetCPU = time.Since(t), cpuOf(srv.PID)-getCPU
	if m.Ranges, err = h.measureRanges(ctx, srv.PID, res.URLs[0], 0, h.plan.size); err != nil {
		tb.Fatalf("%s: %v\nserver output:\n%s", sd.Name, err, srv.Output())
	}
	stop(tb, sd, srv)
	return m
}

// report sets the sub-benchmark's metrics from one measurement, whatever
// b.N is: ns/op and MB/s are those of the one run.
func (m measurement) report(b *testing.B) {
	b.SetBytes(m.Bytes)
	b.ReportMetric(float64(m.Elapsed.Nanoseconds()), "ns/op")
	b.ReportMetric(m.MBps(), "MB/s")
	b.ReportMetric(mib(m.PeakRSS), "peak-RSS-MiB")
	b.ReportMetric(mib(m.IdleRSS), "idle-RSS-MiB")
	b.ReportMetric(mib(m.HWM), "HWM-MiB")
	b.ReportMetric(m.CPU.Seconds(), "server-CPU-s")
	b.ReportMetric(perGiB(m.CPU, m.Bytes), "server-CPU-s/GiB")
	if m.S3CPU > 0 {
		b.ReportMetric(m.S3CPU.Seconds(), "versitygw-CPU-s")
	}
	b.ReportMetric(m.ClientCPU.Seconds(), "client-CPU-s")
	b.ReportMetric(100*m.MachineBusy, "machine-busy-%")
	if m.VerifyElapsed > 0 {
		b.ReportMetric(float64(m.Bytes)/m.VerifyElapsed.Seconds()/1e6, "GET-MB/s")
		b.ReportMetric(perGiB(m.GetCPU, m.Bytes), "GET-server-CPU-s/GiB")
	}
	for _, r := range m.Ranges {
		unit := "range-" + strings.ReplaceAll(sizeString(r.Length), " ", "")
		b.ReportMetric(r.MBps(), unit+"-MB/s")
		b.ReportMetric(float64(r.perRequest().Microseconds())/1e3, unit+"-server-CPU-ms/req")
	}
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// perGiB returns CPU seconds per GiB of n bytes (0 for no bytes).
func perGiB(cpu time.Duration, n int64) float64 {
	if n <= 0 {
		return 0
	}
	return cpu.Seconds() / (float64(n) / (1 << 30))
}
