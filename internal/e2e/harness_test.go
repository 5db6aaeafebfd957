package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/tusvault/tusvault/internal/testenv"
	"io"
	"io/fs"
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

	"github.com/tusvault/tusvault/internal/backendtest"
	"github.com/tusvault/tusvault/internal/tusclient"
)

const (
	partSize     = 5 << 20 // -part-size of every test server
	startTimeout = 20 * time.Second
	stopTimeout  = 10 * time.Second
	outputLimit  = 512 << 10 // server output kept for failure reports
)

// binPath is the tusvault binary built once by TestMain; fpBinPath is the
// same built with -tags failpoint (internal/failpoint), for the chaos tests.
var binPath, fpBinPath string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "tusvault-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	binPath = filepath.Join(tmp, "tusvault")
	fpBinPath = filepath.Join(tmp, "tusvault-failpoint")
	if err := testenv.BuildTusvault(binPath, nil); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	if err := testenv.BuildTusvault(fpBinPath, nil, "-tags", "failpoint"); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	return m.Run()
}

// ---- server subprocess ----

// server is one tusvault process.
type server struct {
	t        testing.TB
	Dir      string // -upload-dir
	Tmp      string // the process's TMPDIR (scanned by the at-rest test)
	Endpoint string // http://127.0.0.1:PORT/files/
	Addr     string // 127.0.0.1:PORT
	// ObjDir is where the stored objects are visible as files: Dir on
	// disk, the bucket's directory under versitygw's root on S3.
	ObjDir string
	// Storage are the storage flags, for offline commands like decrypt.
	Storage []string

	cmd    *exec.Cmd
	out    *outputBuffer
	exited chan struct{} // closed once the process has been waited for
	state  *os.ProcessState
}

// outputBuffer collects the server's stdout and stderr (the last
// outputLimit bytes) and watches complete lines for the startup line.
type outputBuffer struct {
	mu      sync.Mutex
	buf     []byte
	dropped int
	partial []byte
	ready   chan string // receives the endpoint once
	sent    bool
	// marks, when set, receives every failpoint marker line (dropped
	// when full).
	marks chan string
}

var readyLine = regexp.MustCompile(`You can now upload files to: (http://[^\s"]+/files/)`)

func (o *outputBuffer) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.buf = append(o.buf, p...)
	if over := len(o.buf) - outputLimit; over > 0 {
		o.dropped += over
		o.buf = append(o.buf[:0], o.buf[over:]...)
	}
	if !o.sent || o.marks != nil {
		o.partial = append(o.partial, p...)
		for {
			i := bytes.IndexByte(o.partial, '\n')
			if i < 0 {
				break
			}
			line := o.partial[:i]
			o.partial = o.partial[i+1:]
			if o.marks != nil && bytes.HasPrefix(line, []byte(failpointMarker+" ")) {
				select {
				case o.marks <- string(line):
				default:
				}
			}
			if m := readyLine.FindSubmatch(line); m != nil && !o.sent {
				o.sent = true
				o.ready <- string(m[1])
				if o.marks == nil {
					o.partial = nil
					break
				}
			}
		}
		if len(o.partial) > 64<<10 { // no newline for a long time: keep the tail
			o.partial = o.partial[len(o.partial)-4096:]
		}
	}
	return len(p), nil
}

func (o *outputBuffer) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.dropped > 0 {
		return fmt.Sprintf("[%d earlier bytes dropped]\n%s", o.dropped, o.buf)
	}
	return string(o.buf)
}

// startServer starts tusvault on 127.0.0.1 with a free port on dir, with
// open uploads (-auth=none: these tests exercise storage, not auth; ids are
// public/<rand>), and returns once it printed its upload URL. The process
// gets SIGTERM (then SIGKILL) in t.Cleanup; its output is logged when the
// test failed.
func startServer(t testing.TB, dir string, extra ...string) *server {
	t.Helper()
	return startServerAuth(t, dir, append([]string{"-auth=none"}, extra...)...)
}

// startServerAuth is startServer with the auth flags left to extra (none:
// the embedded default, tokens signed with <dir>/auth.secret).
func startServerAuth(t testing.TB, dir string, extra ...string) *server {
	t.Helper()
	s := spawnServer(t, dir, extra...)
	s.awaitReady()
	return s
}

// spawnServer starts tusvault as startServerAuth does but returns without
// waiting for it: call awaitReady next, from the test's goroutine.
func spawnServer(t testing.TB, dir string, extra ...string) *server {
	t.Helper()
	return spawnServerOpts(t, dir, procOpts{}, extra...)
}

// procOpts say how to start a server process besides its flags.
type procOpts struct {
	bin string   // the binary; "" is binPath
	env []string // added to the environment (after the failpoint variables of the test's own are dropped)
}

// spawnServerOpts is spawnServer with the binary and environment of o.
// With the failpoint binary, the server's marker lines are sent to
// s.out.marks.
func spawnServerOpts(t testing.TB, dir string, o procOpts, extra ...string) *server {
	t.Helper()
	tmp := dir + ".tmp"
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"-host", "127.0.0.1", "-port", "0", "-upload-dir", dir, "-part-size", fmt.Sprint(partSize)}, extra...)
	s := &server{t: t, Dir: dir, Tmp: tmp, ObjDir: dir, Storage: []string{"-upload-dir", dir}, exited: make(chan struct{})}
	s.out = &outputBuffer{ready: make(chan string, 1)}
	bin := binPath
	if o.bin != "" {
		bin = o.bin
	}
	if bin == fpBinPath {
		s.out.marks = make(chan string, 16)
	}
	s.cmd = exec.Command(bin, args...)
	s.cmd.Env = append(append(withoutFailpointEnv(os.Environ()), "TMPDIR="+tmp), o.env...)
	s.cmd.Stdout = s.out
	s.cmd.Stderr = s.out
	s.cmd.WaitDelay = 5 * time.Second // bounded wait for the output copiers
	// Should the test binary die (a -timeout panic), take the server along.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("starting tusvault: %v", err)
	}
	go func() {
		s.cmd.Wait()
		s.state = s.cmd.ProcessState
		close(s.exited)
	}()
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("tusvault %s output (exit: %v):\n%s", strings.Join(args, " "), s.state, s.out.String())
		}
	})
	return s
}

// awaitReady waits for the server's upload URL line and sets Endpoint and
// Addr; it fails the test if the process exits first or takes longer than
// startTimeout.
func (s *server) awaitReady() {
	t := s.t
	t.Helper()
	args := s.cmd.Args[1:]
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case ep := <-s.out.ready:
		u, err := url.Parse(ep)
		if err != nil || u.Hostname() != "127.0.0.1" || u.Port() == "" || u.Port() == "0" {
			t.Fatalf("tusvault announced %q, want http://127.0.0.1:PORT/files/", ep)
		}
		s.Endpoint = ep
		s.Addr = u.Host
	case <-s.exited:
		t.Fatalf("tusvault %s exited before it was ready (%v); output:\n%s", strings.Join(args, " "), s.state, s.out.String())
	case <-timer.C:
		t.Fatalf("tusvault %s not ready after %v; output:\n%s", strings.Join(args, " "), startTimeout, s.out.String())
	}
}

// waitExit waits up to d for the process to end.
func (s *server) waitExit(d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-s.exited:
		return true
	case <-timer.C:
		return false
	}
}

func (s *server) running() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// stop sends SIGTERM, then SIGKILL after stopTimeout.
func (s *server) stop() {
	if !s.running() {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	if s.waitExit(stopTimeout) {
		return
	}
	s.t.Errorf("tusvault did not exit within %v of SIGTERM; killing it", stopTimeout)
	s.cmd.Process.Kill()
	s.waitExit(stopTimeout)
}

// kill sends SIGKILL and waits for the process to be gone.
func (s *server) kill() {
	s.t.Helper()
	s.cmd.Process.Signal(syscall.SIGKILL)
	if !s.waitExit(stopTimeout) {
		s.t.Fatal("tusvault survived SIGKILL")
	}
}

// term sends SIGTERM and returns how long the process took to exit (or
// false if it was still running after limit).
func (s *server) term(limit time.Duration) (time.Duration, bool) {
	start := time.Now()
	s.cmd.Process.Signal(syscall.SIGTERM)
	ok := s.waitExit(limit)
	return time.Since(start), ok
}

// ---- client and data helpers ----

func newClient() *tusclient.Client {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     30 * time.Second,
	}
	return &tusclient.Client{HTTP: &http.Client{Transport: tr}}
}

// testCtx is the test's context bounded by d.
func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

// randomBytes returns n deterministic pseudo-random bytes.
var randomBytes = backendtest.RandomBytes

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:8])
}

// equalData fails the test with a short description when got != want.
func equalData(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if bytes.Equal(got, want) {
		return
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	t.Errorf("%s: got %d bytes (sha256 %s), want %d bytes (sha256 %s); first difference at byte %d",
		what, len(got), sum(got), len(want), sum(want), i)
}

// ---- files on disk ----

// uploadID is the upload id of an upload URL: its path after /files/ (the
// base path of every test server), such as public/<rand>. Ids are object
// keys with slashes.
func uploadID(t testing.TB, uploadURL string) string {
	t.Helper()
	u, err := url.Parse(uploadURL)
	if err != nil {
		t.Fatalf("upload URL %q: %v", uploadURL, err)
	}
	_, id, ok := strings.Cut(u.Path, "/files/")
	if !ok || id == "" {
		t.Fatalf("upload URL %q is not under /files/", uploadURL)
	}
	return id
}

// objPath is the path of an upload's object (suffix ""), .info or .part
// under dir, where the disk backend and versitygw keep object keys as
// paths.
func objPath(dir, id, suffix string) string {
	return filepath.Join(dir, filepath.FromSlash(id)+suffix)
}

// uploadFiles hashes every file under dir whose path relative to dir
// starts with id or holds it after a slash (the object, its .info and
// .part, its metadata sidecar under .tusvault/meta/<id>), lock files
// excluded. Keys are paths relative to dir.
func uploadFiles(t *testing.T, dir, id string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) { // removed while walking
				return nil
			}
			return err
		}
		if d.IsDir() || strings.HasSuffix(d.Name(), ".lock") {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		if !strings.Contains("/"+filepath.ToSlash(rel), "/"+id) {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		h := sha256.Sum256(b)
		out[rel] = hex.EncodeToString(h[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// sameFiles reports the differences between two uploadFiles snapshots.
func sameFiles(before, after map[string]string) string {
	var diffs []string
	for k, v := range before {
		if w, ok := after[k]; !ok {
			diffs = append(diffs, "removed "+k)
		} else if w != v {
			diffs = append(diffs, "changed "+k)
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			diffs = append(diffs, "added "+k)
		}
	}
	return strings.Join(diffs, ", ")
}

// infoFile is the part of <id>.info the tests read.
type infoFile struct {
	ID             string
	Size           int64
	SizeIsDeferred bool
	Offset         int64
	Enc            struct {
		V          int
		Alg        string
		Kid        string
		WrappedDEK []byte
		PartSize   int64
		Segments   []segment
		Committed  int64
		TailLen    int64
		Tail       []fragment
		Seq        uint64
		Tag        []byte
		// The layout 2 (store/segments.go, FORMAT.md 6.1).
		Layout, Pages, Paged int
		PagesHash            []byte
	}
}

// fragment is one tail fragment of layout 2: Len bytes at Off in the
// object <id>.part.<Name>.
type fragment struct {
	Off, Len int64
	Name     string
}

type segment struct {
	Off int64
	IV  []byte
}

func readInfoAt(path string) (*infoFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var info infoFile
	if err := json.Unmarshal(b, &info); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &info, nil
}

func readInfo(t *testing.T, dir, id string) *infoFile {
	t.Helper()
	info, err := readInfoAt(objPath(dir, id, ".info"))
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// countInfos returns the number of .info files under dir.
func countInfos(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(d.Name(), ".info") {
			n++
		}
		return nil
	})
	return n
}

// decrypt runs `tusvault decrypt -upload-dir DIR [-o FILE] ID` and returns
// the plaintext (from FILE, or stdout when toFile is false).
func decrypt(t *testing.T, s *server, id string, toFile bool) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	args := append([]string{"decrypt"}, s.Storage...)
	outFile := ""
	if toFile {
		outFile = filepath.Join(t.TempDir(), "plain")
		args = append(args, "-o", outFile)
	}
	args = append(args, id)
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Env = append(os.Environ(), "TMPDIR="+s.Tmp)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		// Whatever was produced is returned so that callers can check that
		// nothing was.
		out := stdout.Bytes()
		if toFile {
			if b, rerr := os.ReadFile(outFile); rerr == nil {
				out = append(out, b...)
			}
		}
		return out, fmt.Errorf("tusvault %s: %w; stderr: %s", strings.Join(args, " "), err, stderr.String())
	}
	if !toFile {
		return stdout.Bytes(), nil
	}
	if stdout.Len() > 0 {
		t.Errorf("tusvault decrypt -o wrote %d bytes to stdout", stdout.Len())
	}
	b, err := os.ReadFile(outFile)
	if err != nil {
		return nil, fmt.Errorf("tusvault %s exited 0 but: %w", strings.Join(args, " "), err)
	}
	return b, nil
}

// checkDecrypt checks that `tusvault decrypt` (both to a file and to
// stdout) yields want.
func checkDecrypt(t *testing.T, s *server, id string, want []byte) {
	t.Helper()
	for _, toFile := range []bool{true, false} {
		got, err := decrypt(t, s, id, toFile)
		if err != nil {
			t.Errorf("decrypt (to file: %v): %v", toFile, err)
			continue
		}
		equalData(t, fmt.Sprintf("decrypt (to file: %v)", toFile), got, want)
	}
}

// checkGetFull checks that a full GET answers 200 with want.
func checkGetFull(t *testing.T, c *tusclient.Client, ctx context.Context, u string, want []byte) {
	t.Helper()
	status, body, _, err := c.Get(ctx, u, "")
	if err != nil {
		t.Errorf("GET %s: %v", u, err)
		return
	}
	if status != http.StatusOK {
		t.Errorf("GET %s: status %d, want 200; body %q", u, status, truncate(body))
		return
	}
	equalData(t, "GET "+u, body, want)
}

func truncate(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}

// slowFeeder writes data to w in chunk-sized writes, pausing between
// writes, and counts what was written. It stops at the end of data, on a
// write error or when stop is closed.
type slowFeeder struct {
	mu      sync.Mutex
	written int64
	err     error
	done    chan struct{}
	stop    chan struct{}
	once    sync.Once
}

func feedSlowly(w *io.PipeWriter, data []byte, chunk int, pause time.Duration) *slowFeeder {
	f := &slowFeeder{done: make(chan struct{}), stop: make(chan struct{})}
	go func() {
		defer close(f.done)
		for off := 0; off < len(data); {
			select {
			case <-f.stop:
				return
			default:
			}
			n := min(chunk, len(data)-off)
			m, err := w.Write(data[off : off+n])
			off += m
			f.mu.Lock()
			f.written = int64(off)
			f.err = err
			f.mu.Unlock()
			if err != nil {
				return
			}
			time.Sleep(pause)
		}
		w.Close()
	}()
	return f
}

func (f *slowFeeder) Written() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.written
}

func (f *slowFeeder) Stop() { f.once.Do(func() { close(f.stop) }) }

// waitWritten waits until at least n bytes were written (or the feeder
// ended, or d passed) and returns what was written.
func (f *slowFeeder) waitWritten(n int64, d time.Duration) int64 {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if w := f.Written(); w >= n {
			return w
		}
		select {
		case <-f.done:
			return f.Written()
		case <-time.After(2 * time.Millisecond):
		}
	}
	return f.Written()
}

// asyncPatch runs c.Patch in a goroutine.
type patchResult struct {
	offset int64
	err    error
}

func asyncPatch(ctx context.Context, c *tusclient.Client, u string, off int64, body io.Reader, size int64) <-chan patchResult {
	ch := make(chan patchResult, 1)
	go func() {
		o, err := c.Patch(ctx, u, off, body, size)
		ch <- patchResult{o, err}
	}()
	return ch
}

// waitPatch waits up to d for an asyncPatch result.
func waitPatch(t *testing.T, ch <-chan patchResult, d time.Duration) (patchResult, bool) {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case r := <-ch:
		return r, true
	case <-timer.C:
		return patchResult{}, false
	}
}

// scanLines is a helper for reading a raw HTTP response status line.
func readStatusLine(conn net.Conn, d time.Duration) string {
	conn.SetReadDeadline(time.Now().Add(d))
	line, _ := bufio.NewReader(conn).ReadString('\n')
	return strings.TrimSpace(line)
}

// asStatus is errors.As for *tusclient.StatusError.
func asStatus(err error, se **tusclient.StatusError) bool { return errors.As(err, se) }

func readWhole(p string) ([]byte, error) { return os.ReadFile(p) }

// writeWhole rewrites p in place (keeping its inode and mode).
func writeWhole(p string, b []byte) error {
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteAt(b, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// dirSizes lists the files under dir/.tusvault with their sizes (for logs).
func dirSizes(dir string) string {
	var parts []string
	filepath.WalkDir(filepath.Join(dir, ".tusvault"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				rel, _ := filepath.Rel(dir, p)
				parts = append(parts, fmt.Sprintf("%s=%d", rel, fi.Size()))
			}
		}
		return nil
	})
	return strings.Join(parts, " ")
}

// waitCommitted polls the .info at path until its committed bytes reach
// at least want, and returns them; it fails the test after d.
func waitCommitted(t *testing.T, path string, want int64, d time.Duration) int64 {
	t.Helper()
	for deadline := time.Now().Add(d); ; time.Sleep(20 * time.Millisecond) {
		if info, err := readInfoAt(path); err == nil && info.Enc.Committed >= want {
			return info.Enc.Committed
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: fewer than %d bytes committed after %v", filepath.Base(path), want, d)
		}
	}
}
