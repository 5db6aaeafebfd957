package loadgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tus/tusd/v2/pkg/filestore"
	"github.com/tus/tusd/v2/pkg/handler"
	"github.com/tus/tusd/v2/pkg/memorylocker"
)

// envHelper makes the test binary act as a server process for the
// StartServer tests (see TestMain).
const envHelper = "LOADGEN_TEST_HELPER"

func TestMain(m *testing.M) {
	switch os.Getenv(envHelper) {
	case "":
		os.Exit(m.Run())
	case "serve":
		helperServe()
	case "exit":
		fmt.Println("helper: giving up")
		os.Exit(3)
	case "wildcard":
		fmt.Println("You can now upload files to: http://[::]:8080/files/")
		time.Sleep(time.Minute)
	}
	os.Exit(0)
}

// helperServe serves tusd's file store on a loopback port and announces
// it like tusd, on stderr after some noise on stdout, then waits for
// SIGTERM (or a minute).
func helperServe() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	dir, err := os.MkdirTemp("", "loadgen-helper-")
	if err != nil {
		os.Exit(1)
	}
	defer os.RemoveAll(dir)
	go http.Serve(ln, tusHandler(dir))
	fmt.Print("starting up\npartial line without newline, ")
	fmt.Println("then the end of it")
	fmt.Fprintf(os.Stderr, "2006/01/02 You can now upload files to: http://%s/files/\n", ln.Addr())
	time.Sleep(time.Minute)
}

func tusHandler(dir string) http.Handler {
	composer := handler.NewStoreComposer()
	filestore.New(dir).UseIn(composer)
	memorylocker.New().UseIn(composer)
	h, err := handler.NewHandler(handler.Config{BasePath: "/files/", StoreComposer: composer})
	if err != nil {
		panic(err)
	}
	return http.StripPrefix("/files/", h)
}

func helperServer(t *testing.T, mode string) (*Server, error) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return StartServer(ctx, exe, nil, []string{envHelper + "=" + mode})
}

func TestStartServerRunStop(t *testing.T) {
	srv, err := helperServer(t, "serve")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") || !strings.HasSuffix(srv.URL, "/files/") {
		t.Fatalf("URL %q", srv.URL)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := Run(ctx, Options{Endpoint: srv.URL, PID: srv.PID, Uploads: 3, Size: 1<<20 + 17, Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Bytes != 3*(1<<20+17) || res.Elapsed <= 0 || res.VerifyElapsed <= 0 || res.MBps() <= 0 {
		t.Errorf("result %+v", res)
	}
	// No order between them is asserted: the process may return memory
	// between two readings, and the kernel updates VmHWM lazily, so it can
	// lag a sampled VmRSS.
	if res.IdleRSS <= 0 || res.PeakRSS <= 0 || res.HWM <= 0 {
		t.Errorf("RSS idle %d, peak %d, HWM %d: want all > 0", res.IdleRSS, res.PeakRSS, res.HWM)
	}
	// /proc/stat counts in 10 ms ticks: over these few milliseconds of
	// uploads no busy tick may have been counted (2 runs in 60 failed a
	// check for > 0). busyFraction itself is checked in TestProcessCPU.
	if res.MachineBusy < 0 || res.MachineBusy > 1 {
		t.Errorf("machine busy %v, want in [0, 1]", res.MachineBusy)
	}
	if res.CPU < 0 {
		t.Errorf("server CPU %v", res.CPU)
	}
	if len(res.Series) == 0 || res.Series[0].RSS != res.IdleRSS {
		t.Errorf("RSS series %v does not start with the idle RSS %d", res.Series, res.IdleRSS)
	}
	for i, d := range res.Done {
		if d <= 0 || d > res.Elapsed {
			t.Errorf("upload %d done at %v, outside (0, %v]", i, d, res.Elapsed)
		}
	}
	if err := srv.Stop(); err != nil {
		t.Errorf("Stop: %v", err)
	}
	if err := srv.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if !strings.Contains(srv.Output(), "starting up\npartial line without newline, then the end of it\n") {
		t.Errorf("output %q", srv.Output())
	}
}

func TestStartServerFailures(t *testing.T) {
	if _, err := helperServer(t, "exit"); err == nil || !strings.Contains(err.Error(), "helper: giving up") {
		t.Errorf("exiting server: err %v, want one that shows its output", err)
	}
	if _, err := helperServer(t, "wildcard"); !errors.Is(err, ErrNotLoopback) {
		t.Errorf("server on a wildcard address: err %v, want ErrNotLoopback", err)
	}
	if _, err := StartServer(context.Background(), "/nonexistent/server", nil, nil); err == nil {
		t.Error("missing binary: no error")
	}
}

func TestRunInProcess(t *testing.T) {
	hs := httptest.NewServer(tusHandler(t.TempDir()))
	defer hs.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a, err := Run(ctx, Options{Endpoint: hs.URL + "/files/", Uploads: 2, Size: 300_001, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Verify(ctx); err != nil {
		t.Fatal(err)
	}
	if a.IdleRSS != 0 || a.PeakRSS != 0 {
		t.Errorf("RSS without a PID: %d, %d", a.IdleRSS, a.PeakRSS)
	}
	// Same seed, same data: upload 0 of Seed 8 is upload 1 of Seed 7.
	b, err := Run(ctx, Options{Endpoint: hs.URL + "/files/", Size: 300_001, Seed: 8, Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	if b.Sums[0] != a.Sums[1] || a.Sums[0] == a.Sums[1] {
		t.Error("sums do not follow the seeds")
	}
	// A download that differs is reported.
	a.Sums[0][0] ^= 1
	if err := a.Verify(ctx); err == nil || !strings.Contains(err.Error(), "differs") {
		t.Errorf("Verify of a wrong sum: %v", err)
	}
}

func TestRunRejects(t *testing.T) {
	ctx := context.Background()
	for _, o := range []Options{
		{},
		{Endpoint: "http://192.0.2.1:8080/files/"},
		{Endpoint: "http://localhost:8080/files/"}, // a name, not an IP
		{Endpoint: "http://127.0.0.1:1/files/", Uploads: -1},
		{Endpoint: "http://127.0.0.1:1/files/", Uploads: maxUploads + 1},
		{Endpoint: "http://127.0.0.1:1/files/", Size: -1},
		{Endpoint: "http://127.0.0.1:1/files/", Rate: -1},
		{Endpoint: "http://127.0.0.1:1/files/", Rate: minRate - 1},
	} {
		if _, err := Run(ctx, o); err == nil {
			t.Errorf("Run(%+v): no error", o)
		}
	}
}

func TestGenerator(t *testing.T) {
	const n = 100_003
	whole, err := io.ReadAll(NewGenerator(5, n))
	if err != nil || len(whole) != n {
		t.Fatalf("read %d bytes, err %v", len(whole), err)
	}
	// Odd read sizes give the same stream.
	var pieces []byte
	g := NewGenerator(5, n)
	buf := make([]byte, 4097)
	for i := 1; ; i++ {
		k, err := g.Read(buf[:1+i*37%len(buf)])
		pieces = append(pieces, buf[:k]...)
		if err == io.EOF {
			break
		}
	}
	if !bytes.Equal(whole, pieces) {
		t.Error("stream depends on the read sizes")
	}
	// rssbench's original seeding (seed in the first key byte) is kept
	// for small seeds.
	var key [32]byte
	key[0] = 5
	want := make([]byte, n)
	rand.NewChaCha8(key).Read(want)
	if !bytes.Equal(whole, want) {
		t.Error("seed 5 does not give rssbench's original stream")
	}
	other, _ := io.ReadAll(NewGenerator(5+256, n))
	if bytes.Equal(whole, other) {
		t.Error("seeds 5 and 261 give the same stream")
	}
	if k, err := NewGenerator(1, 0).Read(buf); k != 0 || err != io.EOF {
		t.Errorf("empty generator: %d, %v", k, err)
	}
}

func TestProcessCPU(t *testing.T) {
	before, err := ProcessCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// Burn a little CPU (bounded in time) and see it counted.
	deadline := time.Now().Add(300 * time.Millisecond)
	for x := 0; time.Now().Before(deadline); x++ {
		_ = x * x
	}
	after, err := ProcessCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if after-before < 50*time.Millisecond {
		t.Errorf("300ms of spinning counted as %v of CPU", after-before)
	}
	if busyFraction(cpuTicks{1, 10}, cpuTicks{6, 20}) != 0.5 || busyFraction(cpuTicks{1, 10}, cpuTicks{1, 10}) != 0 {
		t.Error("busyFraction")
	}
}

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"0", 0}, {"4096", 4096}, {"1KiB", 1 << 10}, {"64MiB", 64 << 20}, {"512MiB", 512 << 20}, {"1GiB", 1 << 30},
	} {
		if got, err := ParseSize(tc.in); err != nil || got != tc.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "MiB", "-1", "1.5GiB", "1GB", "1 TiB", "99999999999GiB"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q): no error", bad)
		}
	}
}

func TestBucket(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	b := bucket{rate: 1000, size: 100} // 1000 bytes/s, bursts of 100
	for _, step := range []struct {
		now  time.Time
		n    int
		want time.Duration
	}{
		{at(0), 100, 0},                        // starts full
		{at(0), 100, 100 * time.Millisecond},   // empty: wait for 100 bytes
		{at(100), 100, 100 * time.Millisecond}, // the debt was paid by the wait
		{at(200), 50, 50 * time.Millisecond},
		{at(5000), 100, 0}, // idle for long: still only one burst banked
		{at(5000), 10, 10 * time.Millisecond},
	} {
		if got := b.take(step.now, step.n); got != step.want {
			t.Errorf("take(%v, %d) = %v, want %v", step.now.Sub(t0), step.n, got, step.want)
		}
	}
	for rate, want := range map[int64]int{minRate: minPiece, 1 << 20: maxPiece, 256 << 10: 4 << 10, 1 << 30: maxPiece} {
		if got := pieceFor(rate); got != want {
			t.Errorf("pieceFor(%d) = %d, want %d", rate, got, want)
		}
	}
}

// TestRunRate checks that a throttled upload is paced. Only a lower bound
// on its duration is checked: a busy machine can make it slower, never
// faster.
func TestRunRate(t *testing.T) {
	hs := httptest.NewServer(tusHandler(t.TempDir()))
	defer hs.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const size, rate = 96 << 10, 128 << 10 // 0.75 s at the rate, less one piece of burst
	res, err := Run(ctx, Options{Endpoint: hs.URL + "/files/", Uploads: 2, Size: size, Rate: rate, Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	low := time.Duration(size-pieceFor(rate)) * time.Second / rate
	for i, d := range res.Done {
		if d < low {
			t.Errorf("upload %d of %d bytes at %d bytes/s done after %v, want at least %v", i, size, rate, d, low)
		}
	}
	// A cancelled context ends a paced upload in its wait.
	short, cancelShort := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancelShort()
	start := time.Now()
	if _, err := Run(short, Options{Endpoint: hs.URL + "/files/", Size: 1 << 20, Rate: minRate}); err == nil {
		t.Error("an upload of 1 MiB at 1 KiB/s within 200 ms: no error")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("cancelled paced upload returned after %v", d)
	}
}

func TestProbe(t *testing.T) {
	p := StartProbe(os.Getpid(), 10*time.Millisecond)
	time.Sleep(100 * time.Millisecond)
	u := p.Stop()
	if len(u.Series) < 2 || u.Series[0].RSS != u.IdleRSS || u.PeakRSS <= 0 || u.HWM <= 0 {
		t.Errorf("usage %+v: want a series that starts with the idle RSS, and a peak and HWM", u)
	}
	for i := 1; i < len(u.Series); i++ {
		if u.Series[i].At < u.Series[i-1].At || u.Series[i].RSS > u.PeakRSS {
			t.Errorf("sample %d %+v after %+v, peak %d", i, u.Series[i], u.Series[i-1], u.PeakRSS)
		}
	}
	if again := p.Stop(); len(again.Series) != len(u.Series) {
		t.Error("a second Stop changed the usage")
	}
	if u := StartProbe(0, time.Millisecond).Stop(); u.Series != nil || u.PeakRSS != 0 {
		t.Errorf("probe of pid 0: %+v", u)
	}
}

func TestStartServerLog(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var log bytes.Buffer
	srv, err := StartServerLog(ctx, exe, nil, []string{envHelper + "=serve"}, &log)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "starting up\n") || !strings.Contains(log.String(), "You can now upload files to:") {
		t.Errorf("log %q", log.String())
	}
}
