package promtest

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tusvault/tusvault/internal/testenv"
)

const (
	startTimeout = 30 * time.Second
	stopTimeout  = 10 * time.Second
	outputLimit  = 256 << 10 // process output kept for failure reports
	partSize     = 5 << 20   // -part-size of the tusvault under test
)

// tusvaultBin is the tusvault binary built once by TestMain.
var tusvaultBin string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "tusvault-promtest-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "promtest:", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	tusvaultBin = filepath.Join(tmp, "tusvault")
	if err := testenv.BuildTusvault(tusvaultBin, nil); err != nil {
		fmt.Fprintln(os.Stderr, "promtest:", err)
		return 1
	}
	return m.Run()
}

// ---- processes ----

// output keeps the last outputLimit bytes a process wrote and the
// complete lines seen so far that match watch (for the startup lines).
type output struct {
	mu      sync.Mutex
	buf     []byte
	dropped int
	partial []byte
	watch   *regexp.Regexp
	lines   chan string // each line matching watch, while there is room
}

func newOutput(watch *regexp.Regexp) *output {
	return &output{watch: watch, lines: make(chan string, 16)}
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.buf = append(o.buf, p...)
	if over := len(o.buf) - outputLimit; over > 0 {
		o.dropped += over
		o.buf = append(o.buf[:0], o.buf[over:]...)
	}
	if o.watch == nil {
		return len(p), nil
	}
	o.partial = append(o.partial, p...)
	for {
		i := bytes.IndexByte(o.partial, '\n')
		if i < 0 {
			break
		}
		line := string(o.partial[:i])
		o.partial = o.partial[i+1:]
		if o.watch.MatchString(line) {
			select {
			case o.lines <- line:
			default:
			}
		}
	}
	if len(o.partial) > 64<<10 { // no newline for long: keep the tail
		o.partial = append(o.partial[:0], o.partial[len(o.partial)-4096:]...)
	}
	return len(p), nil
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.dropped > 0 {
		return fmt.Sprintf("[%d earlier bytes dropped]\n%s", o.dropped, o.buf)
	}
	return string(o.buf)
}

// proc is a subprocess the test started; t.Cleanup stops it (SIGTERM,
// then SIGKILL) and logs its output when the test failed.
type proc struct {
	name   string
	cmd    *exec.Cmd
	out    *output
	exited chan struct{}
}

func startProc(t *testing.T, name string, out *output, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, out: out, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = out, out
	p.cmd.WaitDelay = 5 * time.Second
	// Should the test binary die (a -timeout panic), take the process along.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() {
		p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		testenv.StopProcess(p.cmd.Process, p.exited, stopTimeout)
		if t.Failed() {
			t.Logf("%s %s output (%v):\n%s", name, strings.Join(args, " "), p.cmd.ProcessState, out.String())
		}
	})
	return p
}

func (p *proc) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// ---- tusvault ----

var (
	readyLine     = regexp.MustCompile(`You can now upload files to: (http://\S+/files/)`)
	homeLinkLine  = regexp.MustCompile(`Home upload link \(user "dev", valid 24h\): http://\S+/#token=(\S+)`)
	guestLinkLine = regexp.MustCompile(`Guest upload link \(share "dev/demo", valid 24h\): http://\S+/#token=(\S+)`)
)

// tusvault is a tusvault process on the embedded default.
type tusvault struct {
	Endpoint   string // http://127.0.0.1:PORT/files/
	Addr       string // 127.0.0.1:PORT, Prometheus's target
	HomeToken  string // of the startup home link (user dev)
	GuestToken string // of the startup guest link (share dev/demo)
}

// startTusvault starts `tusvault -host 127.0.0.1 -port 0 -upload-dir DIR
// -part-size 5MiB` and returns once it printed its upload URL.
func startTusvault(t *testing.T, dir string) *tusvault {
	t.Helper()
	out := newOutput(readyLine)
	p := startProc(t, "tusvault", out, tusvaultBin,
		"-host", "127.0.0.1", "-port", "0", "-upload-dir", dir, "-part-size", fmt.Sprint(partSize))
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	var line string
	select {
	case line = <-out.lines:
	case <-p.exited:
		t.Fatalf("tusvault exited before it was ready (%v):\n%s", p.cmd.ProcessState, out.String())
	case <-timer.C:
		t.Fatalf("tusvault not ready after %v:\n%s", startTimeout, out.String())
	}
	s := &tusvault{Endpoint: readyLine.FindStringSubmatch(line)[1]}
	u, err := url.Parse(s.Endpoint)
	if err != nil || u.Hostname() != "127.0.0.1" || u.Port() == "" || u.Port() == "0" {
		t.Fatalf("tusvault announced %q, want http://127.0.0.1:PORT/files/", s.Endpoint)
	}
	s.Addr = u.Host
	text := out.String() // the links come before the ready line
	home, guest := homeLinkLine.FindStringSubmatch(text), guestLinkLine.FindStringSubmatch(text)
	if home == nil || guest == nil {
		t.Fatalf("tusvault printed no home and guest links:\n%s", text)
	}
	s.HomeToken, s.GuestToken = home[1], guest[1]
	return s
}

// ---- Prometheus ----

// envPrometheus overrides where the Prometheus binary is; promtool is
// taken from the same directory.
const envPrometheus = "TUSVAULT_PROMETHEUS"

const (
	debianPrometheus = "/usr/bin/prometheus"
	installHint      = "install it with `apt-get install -y prometheus` (as root; `make test` does), or set " + envPrometheus
	scrapeInterval   = time.Second
	jobName          = "tusvault"
)

// prometheusBinary returns the Prometheus binary, or skips the test (fails
// it in CI) when there is none.
func prometheusBinary(t *testing.T) string {
	t.Helper()
	bin := debianPrometheus
	if p := os.Getenv(envPrometheus); p != "" {
		bin = p
	}
	fi, err := os.Stat(bin)
	if err == nil && (fi.IsDir() || fi.Mode().Perm()&0o111 == 0) {
		err = fmt.Errorf("%s is not an executable file", bin)
	}
	if err != nil {
		if testenv.InCI() {
			t.Fatalf("prometheus: %v (CI must provide it); %s", err, installHint)
		}
		t.Skipf("prometheus: %v; %s", err, installHint)
	}
	return bin
}

// promtoolBinary is promtool next to the Prometheus binary.
func promtoolBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(filepath.Dir(prometheusBinary(t)), "promtool")
	if _, err := os.Stat(bin); err != nil {
		if testenv.InCI() {
			t.Fatalf("promtool: %v (CI must provide it); %s", err, installHint)
		}
		t.Skipf("promtool: %v; %s", err, installHint)
	}
	return bin
}

// scrapeConfig is a Prometheus config scraping targets (host:port) for
// /metrics every second as job "tusvault"; no targets, no scrape config.
func scrapeConfig(targets []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "global:\n  scrape_interval: %v\n  scrape_timeout: %v\n  evaluation_interval: %v\n", scrapeInterval, scrapeInterval, scrapeInterval)
	if len(targets) == 0 {
		b.WriteString("scrape_configs: []\n")
		return b.String()
	}
	fmt.Fprintf(&b, "scrape_configs:\n  - job_name: %s\n    metrics_path: /metrics\n    static_configs:\n      - targets:\n", jobName)
	for _, tg := range targets {
		fmt.Fprintf(&b, "          - %q\n", tg)
	}
	return b.String()
}

// startPrometheus starts Prometheus on a free loopback port, scraping
// targets, with its config and TSDB in temporary directories, and returns
// its API once /-/ready answers. A port taken between choosing and binding
// it is retried, up to three times.
func startPrometheus(t *testing.T, targets []string) *api {
	t.Helper()
	bin := prometheusBinary(t)
	dir := t.TempDir()
	config := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(config, []byte(scrapeConfig(targets)), 0o600); err != nil {
		t.Fatal(err)
	}
	for attempt := 1; ; attempt++ {
		addr := freeLoopbackAddr(t)
		out := newOutput(nil)
		p := startProc(t, "prometheus", out, bin,
			"--config.file="+config,
			"--storage.tsdb.path="+filepath.Join(dir, fmt.Sprintf("data%d", attempt)),
			"--web.listen-address="+addr,
		)
		a := &api{base: "http://" + addr, http: &http.Client{Timeout: 10 * time.Second}}
		err := a.awaitReady(p)
		if err == nil {
			return a
		}
		if !p.running() && strings.Contains(out.String(), "address already in use") && attempt < 3 {
			continue
		}
		t.Fatalf("prometheus on %s: %v\n%s", addr, err, out.String())
	}
}

// freeLoopbackAddr returns 127.0.0.1:PORT with a port free a moment ago.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// awaitReady polls /-/ready until it answers 200, the process exits or
// startTimeout passes.
func (a *api) awaitReady(p *proc) error {
	deadline := time.Now().Add(startTimeout)
	for {
		resp, err := a.http.Get(a.base + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if !p.running() {
			return fmt.Errorf("exited before it was ready (%v)", p.cmd.ProcessState)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %v (last: %v)", startTimeout, err)
		}
		select {
		case <-p.exited:
		case <-time.After(100 * time.Millisecond):
		}
	}
}
