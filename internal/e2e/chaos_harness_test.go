package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tusvault/tusvault/internal/tusclient"
)

// The chaos tests (chaos_*_test.go) kill tusvault at every stage of the
// upload path and check that every upload then resumes and ends byte-exact
// with a valid tag, and that no counter block was ever used twice. They run
// the binary built with -tags failpoint (internal/failpoint), which reads:
const (
	envFailpoint    = "TUSVAULT_FAILPOINT"    // <stage>[:<n>][=kill|block]
	envSegmentLog   = "TUSVAULT_SEGMENT_LOG"  // every segment about to be persisted
	envSealLog      = "TUSVAULT_SEAL_LOG"     // every v2 chunk about to be sealed
	envSegmentPage  = "TUSVAULT_SEGMENT_PAGE" // segments per segment page (store/pages_failpoint.go)
	failpointMarker = "TUSVAULT-FAILPOINT"    // starts the line printed at the armed stage
)

// envChaos=long (make chaos) runs the long loops: 50 random trials and the
// 30 s outage, instead of CI's 10 and 8 s. TUSVAULT_CHAOS_SEED fixes the
// seed of the random trials (it is logged).
const (
	envChaos     = "TUSVAULT_CHAOS"
	envChaosSeed = "TUSVAULT_CHAOS_SEED"
)

func chaosLong() bool { return os.Getenv(envChaos) == "long" }

// withoutFailpointEnv drops the failpoint variables from env, so that only
// what a test passes on purpose reaches a server.
func withoutFailpointEnv(env []string) []string {
	var kept []string
	for _, kv := range env {
		if name, _, _ := strings.Cut(kv, "="); name != envFailpoint && name != envSegmentLog && name != envSealLog {
			kept = append(kept, kv)
		}
	}
	return kept
}

// ---- rigs: one storage, many server processes ----

// rig is one store (a disk directory, or a fresh bucket of versitygw)
// that a test starts, kills and restarts servers on, all of them with the
// failpoint binary writing one segment log and one seal log.
type rig struct {
	name    string // "disk" or "s3"
	env     *s3Env // nil on disk
	bucket  string
	dir     string // -upload-dir: the objects on disk, the keyring home and spool on S3
	segLog  string
	sealLog string
	// v1: the servers create format v1 uploads (-upload-format 1), for
	// the counter checker; otherwise v2, the default, for the nonce
	// checker.
	v1 bool
}

func newRig(t *testing.T, env *s3Env) *rig {
	t.Helper()
	base := t.TempDir()
	r := &rig{name: "disk", env: env, dir: filepath.Join(base, "up"),
		segLog: filepath.Join(base, "segments.log"), sealLog: filepath.Join(base, "seals.log")}
	if env != nil {
		r.name = "s3"
		r.bucket = env.srv.NewBucket(t)
	}
	return r
}

// storage are the storage flags of the rig's servers and offline commands.
func (r *rig) storage() []string {
	flags := []string{"-upload-dir", r.dir}
	if r.env != nil {
		flags = append(flags, "-s3-bucket", r.bucket, "-s3-endpoint", r.env.srv.Endpoint, "-keyring", r.env.keyring)
	}
	return flags
}

// objDir is where the rig's objects are files.
func (r *rig) objDir() string {
	if r.env != nil {
		return filepath.Join(r.env.srv.Dir, r.bucket)
	}
	return r.dir
}

// keyringPath is the keyring of the rig's servers.
func (r *rig) keyringPath() string {
	if r.env != nil {
		return r.env.keyring
	}
	return filepath.Join(r.dir, "keyring.json")
}

// spoolDir is the servers' spool (the default, under -upload-dir).
func (r *rig) spoolDir() string { return filepath.Join(r.dir, ".tusvault", "spool") }

// env is the environment of a rig process armed with failpoint fp ("":
// none).
func (r *rig) procEnv(fp string) []string {
	// One segment a page: every part commit pages the segments it
	// completes, so the trials cover the paged layout.
	env := []string{envSegmentLog + "=" + r.segLog, envSealLog + "=" + r.sealLog, envSegmentPage + "=1"}
	if fp != "" {
		env = append(env, envFailpoint+"="+fp)
	}
	return env
}

// start runs a failpoint server on the rig, armed with fp ("": none), and
// waits until it is ready.
func (r *rig) start(t *testing.T, fp string, extra ...string) *server {
	t.Helper()
	flags := append([]string{"-auth=none"}, r.storage()[2:]...) // -upload-dir is spawnServer's
	if r.v1 {
		flags = append(flags, "-upload-format", "1")
	}
	s := spawnServerOpts(t, r.dir, procOpts{bin: fpBinPath, env: r.procEnv(fp)}, append(flags, extra...)...)
	s.awaitReady()
	s.ObjDir = r.objDir()
	s.Storage = r.storage()
	return s
}

// waitMark waits up to d for the failpoint marker of s and for s to die
// of its SIGKILL (kill action) or, with block, only for the marker. It
// returns the marker line.
func waitMark(t *testing.T, s *server, d time.Duration, block bool) string {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	var mark string
	select {
	case mark = <-s.out.marks:
	case <-s.exited:
		select {
		case mark = <-s.out.marks:
		case <-time.After(time.Second): // the output copier may lag the exit
			t.Fatalf("tusvault exited (%v) without reaching its failpoint", s.state)
		}
	case <-timer.C:
		t.Fatalf("tusvault did not reach its failpoint within %v", d)
	}
	if !block && !s.waitExit(stopTimeout) {
		t.Fatalf("tusvault printed %q but is still running", mark)
	}
	return mark
}

// killedBySIGKILL reports whether the process ended by SIGKILL.
func (s *server) killedBySIGKILL() bool {
	if s.state == nil {
		return false
	}
	ws, ok := s.state.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

// ---- spool files ----

// checkNoSpool fails the test if any file is left in the spool directory:
// spool files are unlinked as soon as they are created.
func checkNoSpool(t *testing.T, r *rig) {
	t.Helper()
	entries, err := os.ReadDir(r.spoolDir())
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("spool file %s survived (spool files are unlinked at creation)", e.Name())
	}
}

// openSpoolFiles returns how many of pid's open files are in spoolDir, and
// fails the test for any that still has a name there.
func openSpoolFiles(t *testing.T, pid int, spoolDir string) int {
	t.Helper()
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, fd := range fds {
		target, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if err != nil || !strings.HasPrefix(target, spoolDir+"/") {
			continue
		}
		n++
		if !strings.HasSuffix(target, " (deleted)") {
			t.Errorf("open spool file %s still has a name", target)
		}
	}
	return n
}

// ---- uploads driven by the tests ----

// chaosUpload is one upload as its client sees it across server restarts.
type chaosUpload struct {
	path string // /files/<id>
	id   string
	size int64
	// want is what the upload must hold once finished: the client's bytes,
	// where a resume may have sent different bytes from the stored offset.
	want []byte
	// acked is the highest offset the server acknowledged (a PATCH
	// answer or a HEAD): it must never go back.
	acked int64
	// sent is the end of the furthest PATCH body the client started: the
	// server's offset can never be past it.
	sent int64
	// rate, when positive, paces PATCH bodies at about that many bytes a
	// second.
	rate float64
	// deferred: created with a deferred length, which the client declares
	// once every byte is acknowledged, in a PATCH without data; declared:
	// the server has it (a HEAD showed it, or the PATCH was answered).
	deferred, declared bool
}

func (up *chaosUpload) url(s *server) string { return "http://" + s.Addr + up.path }

// violation is a broken promise of the server seen by the client (a lost
// acknowledged offset, a wrong one), as opposed to a request cut off.
type violation struct{ msg string }

func (v *violation) Error() string { return v.msg }

// createUpload creates an upload of want's length on s.
func createUpload(t *testing.T, ctx context.Context, c *tusclient.Client, s *server, want []byte) *chaosUpload {
	t.Helper()
	return newChaosUpload(t, ctx, c, s, want, false)
}

// createDeferred creates an upload of a deferred length on s, which will
// be want's.
func createDeferred(t *testing.T, ctx context.Context, c *tusclient.Client, s *server, want []byte) *chaosUpload {
	t.Helper()
	return newChaosUpload(t, ctx, c, s, want, true)
}

func newChaosUpload(t *testing.T, ctx context.Context, c *tusclient.Client, s *server, want []byte, deferred bool) *chaosUpload {
	t.Helper()
	length := int64(len(want))
	if deferred {
		length = -1
	}
	u, err := c.Create(ctx, s.Endpoint, length, map[string]string{"filename": "chaos.bin"})
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	id := uploadID(t, u)
	return &chaosUpload{path: "/files/" + id, id: id, size: int64(len(want)), want: want, deferred: deferred}
}

// declare declares the length of a deferred upload that the server does
// not have yet.
func (up *chaosUpload) declare(ctx context.Context, c *tusclient.Client, s *server) error {
	if !up.deferred || up.declared {
		return nil
	}
	if err := declareLength(ctx, c, up.url(s), up.size); err != nil {
		return err
	}
	up.declared = true
	return nil
}

// patch sends want[acked:acked+n] in one PATCH and records the answer.
func (up *chaosUpload) patch(ctx context.Context, c *tusclient.Client, s *server, n int64) error {
	off := up.acked
	n = min(n, up.size-off)
	up.sent = max(up.sent, off+n)
	var body io.Reader = bytes.NewReader(up.want[off : off+n])
	if up.rate > 0 {
		body = &rampReader{r: body, rate: up.rate}
	}
	got, err := c.Patch(ctx, up.url(s), off, body, n)
	if err != nil {
		return err
	}
	if got != off+n {
		return &violation{fmt.Sprintf("PATCH at %d with %d bytes: server reports offset %d", off, n, got)}
	}
	up.acked = got
	return nil
}

// head asks s for the offset and checks it against what the client knows:
// never behind an acknowledged offset, never past the bytes sent.
func (up *chaosUpload) head(ctx context.Context, c *tusclient.Client, s *server) (int64, error) {
	off, length, err := c.Head(ctx, up.url(s))
	if err != nil {
		return 0, err
	}
	switch {
	case length == -1 && up.deferred && !up.declared: // not declared yet
	case length != up.size:
		return off, &violation{fmt.Sprintf("HEAD: Upload-Length %d, want %d", length, up.size)}
	default:
		up.declared = up.deferred
	}
	switch {
	case off < up.acked:
		return off, &violation{fmt.Sprintf("HEAD: offset %d is behind the acknowledged %d: acknowledged bytes were lost", off, up.acked)}
	case off > up.sent && off > 0:
		return off, &violation{fmt.Sprintf("HEAD: offset %d is past the %d bytes the client sent", off, up.sent)}
	}
	up.acked = off
	return off, nil
}

// resume finishes the upload on s from the offset HEAD reports, in PATCHes
// of pieces (cycled; none: one PATCH), then declares a deferred length.
// With fresh, the bytes from that offset are new ones (seed), as a client
// that changed its file would send: the store must encrypt them under new
// counters.
func (up *chaosUpload) resume(ctx context.Context, c *tusclient.Client, s *server, pieces []int64, fresh bool, seed uint64) error {
	off, err := up.head(ctx, c, s)
	if err != nil {
		return err
	}
	if fresh && off < up.size {
		up.want = append(up.want[:off:off], randomBytes(seed, int(up.size-off))...)
	}
	for i := 0; up.acked < up.size; i++ {
		if i > 10000 {
			return fmt.Errorf("upload %s: too many PATCHes", up.id)
		}
		n := up.size
		if len(pieces) > 0 {
			n = pieces[i%len(pieces)]
		}
		if err := up.patch(ctx, c, s, n); err != nil {
			return err
		}
	}
	return up.declare(ctx, c, s)
}

// verify checks a finished upload: HEAD at its size, a full GET and
// `tusvault decrypt` give want, and .info has a tag.
func (up *chaosUpload) verify(t *testing.T, ctx context.Context, c *tusclient.Client, s *server) {
	t.Helper()
	if off, err := up.head(ctx, c, s); err != nil || off != up.size {
		t.Errorf("upload %s: HEAD after finishing = %d, %v; want %d", up.id, off, err, up.size)
		return
	}
	checkGetFull(t, c, ctx, up.url(s), up.want)
	got, err := decrypt(t, s, up.id, false)
	if err != nil {
		t.Errorf("decrypt %s: %v", up.id, err)
	} else {
		equalData(t, "decrypt "+up.id, got, up.want)
	}
	info, err := readInfoAt(objPath(s.ObjDir, up.id, ".info"))
	if err != nil {
		t.Errorf("upload %s: %v", up.id, err)
	} else if len(info.Enc.Tag) != 32 || info.Offset != up.size {
		t.Errorf("upload %s: finished .info has Offset %d and a %d-byte tag", up.id, info.Offset, len(info.Enc.Tag))
	}
}

// ---- small helpers ----

// pieceSizes are random PATCH sizes for an upload of size bytes: from a
// few bytes to several parts, at most about maxPatches of them.
func pieceSizes(rng *rand.Rand, size int64, maxPatches int64) []int64 {
	lo := max(1, size/maxPatches)
	var out []int64
	for range 8 {
		var n int64
		switch rng.IntN(4) {
		case 0:
			n = 1 + rng.Int64N(64<<10) // small, unaligned
		case 1:
			n = int64(partSize) + rng.Int64N(33) - 16 // about one part
		default:
			n = 1 + rng.Int64N(3*partSize)
		}
		out = append(out, max(lo, n))
	}
	return out
}

// rampReader hands out its bytes at about rate bytes a second, in chunks,
// so that a kill at a random time lands in the middle of a body.
type rampReader struct {
	r     io.Reader
	rate  float64
	start time.Time
	n     int64
}

func (r *rampReader) Read(p []byte) (int, error) {
	if r.start.IsZero() {
		r.start = time.Now()
	}
	if ahead := time.Duration(float64(r.n)/r.rate*float64(time.Second)) - time.Since(r.start); ahead > 0 {
		time.Sleep(min(ahead, 50*time.Millisecond))
	}
	k, err := r.r.Read(p[:min(len(p), 128<<10)])
	r.n += int64(k)
	return k, err
}

// procCPU is the CPU time (user + system) of process pid.
func procCPU(t *testing.T, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// Fields after the command name in parentheses; utime and stime are
	// fields 14 and 15 (1-based), in clock ticks (100 a second on Linux).
	rest := string(b[bytes.LastIndexByte(b, ')')+2:])
	f := strings.Fields(rest)
	var ut, st int64
	fmt.Sscan(f[11], &ut)
	fmt.Sscan(f[12], &st)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// procFDs counts the open files of process pid.
func procFDs(t *testing.T, pid int) int {
	t.Helper()
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	return len(fds)
}

// probeClient reads the side routes without keeping connections open, so
// that it never shows up in the server's fds and goroutines.
var probeClient = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
