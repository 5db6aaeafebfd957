package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tusvault/tusvault/internal/loadgen"
	"github.com/tusvault/tusvault/internal/testenv"
	"github.com/tusvault/tusvault/store/crypt"
)

// Settings of both servers, and bounds of the harness.
const (
	defaultSize  = 512 << 20        // bytes per upload without TUSVAULT_BENCH_SIZE
	partSize     = 10 << 20         // -s3-part-size of both servers
	partUploads  = 4                // -s3-concurrent-part-uploads of both servers
	runTimeout   = 20 * time.Minute // one server run: start, uploads, check
	buildTimeout = 5 * time.Minute  // go build of the tusvault binary
)

// Environment variables read by the harness.
const (
	envSize     = "TUSVAULT_BENCH_SIZE"
	envTusd     = "TUSVAULT_BENCH_TUSD"
	envTusvault = "TUSVAULT_BENCH_TUSVAULT"
	envChart    = "TUSVAULT_BENCH_CHART"
	envProfile  = "TUSVAULT_BENCH_PROFILE"
)

// side is one of the servers compared.
type side struct {
	name string
	bin  string
	// skip, when not empty, is why this side cannot run.
	skip string
	// args returns the command line for a run against bucket of gw, with
	// dir as its scratch directory.
	args func(h *harness, gw *gateway, bucket, dir string) []string
}

// harness is the state shared by the measurements of one run.
type harness struct {
	plan    plan
	sides   []side
	plain   *gateway // versitygw over plain HTTP
	tls     *gateway // versitygw over HTTPS (nil unless plan.https)
	keyring string   // tusvault's keyring file
	profile string   // TUSVAULT_BENCH_PROFILE: where CPU profiles go ("": none)
	res     results
}

// newHarness starts versitygw (twice with plan.https: plain and TLS) and
// writes the keyring for a run of p with the tusvault binary at tusvault
// (and tusd from findBinary).
func newHarness(tb testing.TB, p plan, tusvault string) *harness {
	h := &harness{plan: p, sides: sides(tb, tusvault), plain: startGateway(tb, false), keyring: newKeyring(tb)}
	if dir := os.Getenv(envProfile); dir != "" {
		h.profile = chartPath(tb, dir) // relative to the repository root
	}
	if p.https {
		h.tls = startGateway(tb, true)
	}
	h.res = results{plan: p, started: time.Now().UTC(), load: loadAverage(),
		versus: map[string]measurement{}, slow: map[string]slowMeasurement{}, direct: map[string]*directMeasurement{}}
	for _, sd := range h.sides {
		if sd.skip != "" {
			h.res.notes = append(h.res.notes, sd.name+" skipped: "+sd.skip)
		}
	}
	return h
}

// measurement is one server run of the versus case: what loadgen measured
// plus the CPU time versitygw and this process (the client) used during
// the uploads.
type measurement struct {
	loadgen.Result
	S3CPU, ClientCPU time.Duration
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

// findBinary returns $envVar or <repo>/bin/name, skipping tb with hint
// when neither is an executable (failing it when CI is set).
func findBinary(tb testing.TB, name, envVar, hint string) string {
	tb.Helper()
	p := os.Getenv(envVar)
	if p == "" {
		root, err := testenv.RepoRoot()
		if err != nil {
			tb.Fatal(err)
		}
		p = filepath.Join(root, "bin", name)
	}
	if fi, err := os.Stat(p); err != nil || fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
		msg := fmt.Sprintf("bench: no %s at %s; %s (or set %s)", name, p, hint, envVar)
		if testenv.InCI() {
			tb.Fatal(msg + " — CI must provide it")
		}
		summaryText = "\n" + tb.Name() + " skipped: " + msg + "\n" // shown without -v too
		tb.Skip(msg)
	}
	return p
}

// buildTusvault builds cmd/tusvault into a temporary directory of tb and
// returns its path: the reduced run measures the code in the tree, not a
// bin/tusvault that may be stale.
func buildTusvault(tb testing.TB) string {
	tb.Helper()
	bin := filepath.Join(tb.TempDir(), "tusvault")
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, goTool(), "build", "-o", bin, "github.com/tusvault/tusvault/cmd/tusvault").CombinedOutput()
	if err != nil {
		tb.Fatalf("bench: building tusvault: %v\n%s", err, out)
	}
	return bin
}

// goTool returns the go command: the one in PATH, else GOROOT's.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// hasS3Flags reports whether the tusvault binary at bin accepts -s3-bucket.
func hasS3Flags(bin string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, bin, "-h").CombinedOutput()
	return strings.Contains(string(out), "-s3-bucket")
}

// sides returns tusd (findBinary) and the tusvault binary at tusvault,
// with their command lines.
func sides(tb testing.TB, tusvault string) []side {
	tusd := findBinary(tb, "tusd", envTusd, "install it with `make bench-tools` (go install github.com/tus/tusd/v2/cmd/tusd@v2.9.1)")
	tv := side{name: "tusvault", bin: tusvault, args: func(h *harness, gw *gateway, bucket, dir string) []string {
		// Open uploads: the benchmark measures storage, not token checks.
		return append(s3Args(h, gw, bucket, dir), "-keyring", h.keyring, "-auth=none")
	}}
	if !hasS3Flags(tusvault) {
		tv.skip = fmt.Sprintf("%s has no -s3-bucket flag yet: rebuild it with `make build` once cmd/tusvault has the S3 flags", tusvault)
	}
	return []side{
		{name: "tusd", bin: tusd, args: s3Args},
		tv,
	}
}

// s3Args are the flags both servers share: loopback, a free port, the S3
// settings and a scratch upload dir; -verbose=false on both, so neither
// logs every request. With a profile directory both serve pprof.
func s3Args(h *harness, gw *gateway, bucket, dir string) []string {
	args := []string{
		"-host", "127.0.0.1", "-port", "0",
		"-upload-dir", filepath.Join(dir, "uploads"),
		"-s3-bucket", bucket, "-s3-endpoint", gw.Endpoint,
		"-s3-part-size=" + strconv.Itoa(partSize),
		"-s3-concurrent-part-uploads=" + strconv.Itoa(partUploads),
		"-verbose=false",
	}
	if h.profile != "" {
		args = append(args, "-expose-pprof")
	}
	return args
}

// env is the environment of a server run: the versitygw credentials, and
// nothing else from the AWS configuration of the machine. AWS_CA_BUNDLE
// is gw's test certificate over HTTPS, and empty over plain HTTP: a
// machine's own bundle (set on some for their proxies) would make both
// SDKs parse it at startup, about 3 MiB of RSS, for nothing. tusd
// buffers its parts in TMPDIR, here the run's scratch dir.
func (h *harness) env(gw *gateway, dir string) []string {
	return []string{
		"AWS_ACCESS_KEY_ID=" + gw.AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + gw.SecretKey,
		"AWS_REGION=" + gw.Region,
		"AWS_SESSION_TOKEN=", "AWS_PROFILE=", "AWS_CA_BUNDLE=" + gw.CAFile,
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "no-aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "no-aws-credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
		"TMPDIR=" + filepath.Join(dir, "tmp"),
	}
}

// newKeyring writes a fresh keyring file for tusvault (with S3 it must
// exist before the server starts).
func newKeyring(tb testing.TB) string {
	kr, err := crypt.NewKeyring()
	if err != nil {
		tb.Fatal(err)
	}
	p := filepath.Join(tb.TempDir(), "keyring.json")
	if err := kr.Save(p); err != nil {
		tb.Fatal(err)
	}
	return p
}

// serve starts sd's server against a fresh bucket of gw with a fresh
// scratch dir and waits plan.settle. When tb ends the server is stopped
// and the bucket's files are removed, to bound the disk used.
func (h *harness) serve(ctx context.Context, tb testing.TB, sd side, gw *gateway) *loadgen.Server {
	tb.Helper()
	bucket := gw.NewBucket(tb)
	tb.Cleanup(func() { os.RemoveAll(filepath.Join(gw.Dir, bucket)) })
	dir := tb.TempDir()
	for _, d := range []string{"uploads", "tmp"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	flush()
	srv, err := loadgen.StartServer(ctx, sd.bin, sd.args(h, gw, bucket, dir), h.env(gw, dir))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { srv.Stop() })
	time.Sleep(h.plan.settle)
	return srv
}

// flush writes the dirty pages of the earlier runs (GiB of objects, spool
// and buffer files) to disk before a measurement: the kernel would write
// them back 30 s later, in the middle of the next run.
func flush() { syscall.Sync() }

// stop stops srv, logging (not failing on) an unclean exit.
func stop(tb testing.TB, sd side, srv *loadgen.Server) {
	if err := srv.Stop(); err != nil {
		tb.Logf("%s: stop: %v\nserver output:\n%s", sd.name, err, srv.Output())
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
// check of every download, stop. name is the case's step name.
func (h *harness) measure(tb testing.TB, sd side, gw *gateway, uploads int, name string) measurement {
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
		tb.Fatalf("%s: %v\nserver output:\n%s", sd.name, err, srv.Output())
	}
	if prof != nil {
		if m.Profile, err = prof.stop(); err != nil {
			tb.Fatalf("%s: profile: %v", sd.name, err)
		}
	}
	t := time.Now()
	if err := res.Verify(ctx); err != nil {
		tb.Fatalf("%s: %v\nserver output:\n%s", sd.name, err, srv.Output())
	}
	m.VerifyElapsed = time.Since(t)
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
