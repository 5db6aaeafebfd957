package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tusvault/tusvault/internal/loadgen"
	"github.com/tusvault/tusvault/internal/s3server"
	"github.com/tusvault/tusvault/internal/testenv"
	"github.com/tusvault/tusvault/store/crypt"
)

// Settings of the benchmark.
const (
	defaultSize = 512 << 20 // bytes per upload without TUSVAULT_BENCH_SIZE
	partSize    = 10 << 20  // -s3-part-size of both servers
	partUploads = 4         // -s3-concurrent-part-uploads of both servers
	settle      = time.Second
	runTimeout  = 20 * time.Minute // one server run: start, uploads, check
)

// Environment variables read by the harness.
const (
	envSize     = "TUSVAULT_BENCH_SIZE"
	envTusd     = "TUSVAULT_BENCH_TUSD"
	envTusvault = "TUSVAULT_BENCH_TUSVAULT"
)

// side is one of the servers compared.
type side struct {
	name string
	bin  string
	// skip, when not empty, is why this side cannot run.
	skip string
	// args returns the command line for a run against bucket, with dir as
	// its scratch directory.
	args func(h *harness, bucket, dir string) []string
}

// harness is the state shared by the sub-benchmarks of one run.
type harness struct {
	size    int64
	s3      *s3server.Server
	s3PID   int    // versitygw's process, 0 if not found
	keyring string // tusvault's keyring file
}

// measurement is one server run: what loadgen measured plus the CPU time
// versitygw and this process (the client) used during the uploads.
type measurement struct {
	loadgen.Result
	S3CPU, ClientCPU time.Duration
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

// cpuOf is loadgen.ProcessCPU, 0 for pid 0 or on an error.
func cpuOf(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	d, _ := loadgen.ProcessCPU(pid)
	return d
}

// benchSize returns the bytes per upload: TUSVAULT_BENCH_SIZE or 512 MiB.
func benchSize(b *testing.B) int64 {
	v := os.Getenv(envSize)
	if v == "" {
		return defaultSize
	}
	n, err := loadgen.ParseSize(v)
	if err != nil || n == 0 {
		b.Fatalf("%s=%q: want a positive size such as 64MiB (%v)", envSize, v, err)
	}
	return n
}

// findBinary returns $envVar or <repo>/bin/name, skipping the benchmark
// with hint when neither is an executable (failing it when CI is set).
func findBinary(b *testing.B, name, envVar, hint string) string {
	b.Helper()
	p := os.Getenv(envVar)
	if p == "" {
		root, err := testenv.RepoRoot()
		if err != nil {
			b.Fatal(err)
		}
		p = filepath.Join(root, "bin", name)
	}
	if fi, err := os.Stat(p); err != nil || fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
		msg := fmt.Sprintf("bench: no %s at %s; %s (or set %s)", name, p, hint, envVar)
		if testenv.InCI() {
			b.Fatal(msg + " — CI must provide it")
		}
		summaryText = "\nBenchmarkVersusTusd skipped: " + msg + "\n" // shown without -v too
		b.Skip(msg)
	}
	return p
}

// hasS3Flags reports whether the tusvault binary at bin accepts -s3-bucket.
func hasS3Flags(bin string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, bin, "-h").CombinedOutput()
	return strings.Contains(string(out), "-s3-bucket")
}

// sides returns tusd and tusvault with their command lines.
func sides(b *testing.B) []side {
	tusd := findBinary(b, "tusd", envTusd, "install it with `make bench-tools` (go install github.com/tus/tusd/v2/cmd/tusd@v2.9.1)")
	tusvault := findBinary(b, "tusvault", envTusvault, "build it with `make build`")
	tv := side{name: "tusvault", bin: tusvault, args: func(h *harness, bucket, dir string) []string {
		// Open uploads: the benchmark measures storage, not token checks.
		return append(s3Args(h, bucket, dir), "-keyring", h.keyring, "-auth=none")
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
// logs every request.
func s3Args(h *harness, bucket, dir string) []string {
	return []string{
		"-host", "127.0.0.1", "-port", "0",
		"-upload-dir", filepath.Join(dir, "uploads"),
		"-s3-bucket", bucket, "-s3-endpoint", h.s3.Endpoint,
		"-s3-part-size=" + strconv.Itoa(partSize),
		"-s3-concurrent-part-uploads=" + strconv.Itoa(partUploads),
		"-verbose=false",
	}
}

// env is the environment of a server run: the versitygw credentials, and
// nothing else from the AWS configuration of the machine. tusd buffers its
// parts in TMPDIR, here the run's scratch dir.
func (h *harness) env(dir string) []string {
	return []string{
		"AWS_ACCESS_KEY_ID=" + h.s3.AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + h.s3.SecretKey,
		"AWS_REGION=" + h.s3.Region,
		"AWS_SESSION_TOKEN=", "AWS_PROFILE=",
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "no-aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "no-aws-credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
		"TMPDIR=" + filepath.Join(dir, "tmp"),
	}
}

// newKeyring writes a fresh keyring file for tusvault (with S3 it must
// exist before the server starts).
func newKeyring(b *testing.B) string {
	kr, err := crypt.NewKeyring()
	if err != nil {
		b.Fatal(err)
	}
	p := filepath.Join(b.TempDir(), "keyring.json")
	if err := kr.Save(p); err != nil {
		b.Fatal(err)
	}
	return p
}

// measure runs one server against a fresh bucket: start, settle, the
// uploads (the only timed part), the check of every download, stop. The
// bucket's files are removed afterwards to bound the disk used.
func (h *harness) measure(b *testing.B, sd side, uploads int) measurement {
	b.Helper()
	b.StopTimer()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	bucket := h.s3.NewBucket(b)
	defer os.RemoveAll(filepath.Join(h.s3.Dir, bucket))
	dir := b.TempDir()
	for _, d := range []string{"uploads", "tmp"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			b.Fatal(err)
		}
	}
	srv, err := loadgen.StartServer(ctx, sd.bin, sd.args(h, bucket, dir), h.env(dir))
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Stop()
	time.Sleep(settle)

	s3CPU, clientCPU := cpuOf(h.s3PID), cpuOf(os.Getpid())
	b.StartTimer()
	res, err := loadgen.Run(ctx, loadgen.Options{
		Endpoint: srv.URL, PID: srv.PID, Uploads: uploads, Size: h.size,
	})
	b.StopTimer()
	m := measurement{Result: res, S3CPU: cpuOf(h.s3PID) - s3CPU, ClientCPU: cpuOf(os.Getpid()) - clientCPU}
	if err != nil {
		b.Fatalf("%s: %v\nserver output:\n%s", sd.name, err, srv.Output())
	}
	t := time.Now()
	if err := res.Verify(ctx); err != nil {
		b.Fatalf("%s: %v\nserver output:\n%s", sd.name, err, srv.Output())
	}
	m.VerifyElapsed = time.Since(t)
	if err := srv.Stop(); err != nil {
		b.Logf("%s: stop: %v\nserver output:\n%s", sd.name, err, srv.Output())
	}
	return m
}

// report sets the sub-benchmark's metrics from one measurement, whatever
// b.N is: ns/op and MB/s are those of the one run.
func report(b *testing.B, res measurement) {
	b.SetBytes(res.Bytes)
	b.ReportMetric(float64(res.Elapsed.Nanoseconds()), "ns/op")
	b.ReportMetric(res.MBps(), "MB/s")
	b.ReportMetric(mib(res.PeakRSS), "peak-RSS-MiB")
	b.ReportMetric(mib(res.IdleRSS), "idle-RSS-MiB")
	b.ReportMetric(mib(res.HWM), "HWM-MiB")
	b.ReportMetric(res.ServerCPU.Seconds(), "server-CPU-s")
	if res.S3CPU > 0 {
		b.ReportMetric(res.S3CPU.Seconds(), "versitygw-CPU-s")
	}
	b.ReportMetric(res.ClientCPU.Seconds(), "client-CPU-s")
	b.ReportMetric(100*res.MachineBusy, "machine-busy-%")
	if res.VerifyElapsed > 0 {
		b.ReportMetric(float64(res.Bytes)/res.VerifyElapsed.Seconds()/1e6, "GET-MB/s")
	}
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }
