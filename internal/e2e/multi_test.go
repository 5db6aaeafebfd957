package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tusvault/tusvault/hooks"
	"github.com/tusvault/tusvault/internal/redisserver"
	"github.com/tusvault/tusvault/internal/tusclient"
	"github.com/tusvault/tusvault/store/crypt"
)

// cluster is several tusvault processes on one versitygw bucket, with the
// same keyring and auth secret, locking through one redis-server.
type cluster struct {
	env    *s3Env
	redis  *redisserver.Server
	secret string // the auth secret file
	signer *hooks.Signer
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	env := newS3Env(t)
	rs := redisserver.Start(t)
	secret := []byte(hex.EncodeToString(randomKey(t)))
	path := filepath.Join(t.TempDir(), "auth.secret")
	if err := os.WriteFile(path, secret, 0o600); err != nil {
		t.Fatal(err)
	}
	signer, err := hooks.NewSigner(secret, nil, "", "")
	if err != nil {
		t.Fatal(err)
	}
	return &cluster{env: env, redis: rs, secret: path, signer: signer}
}

func randomKey(t *testing.T) []byte {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// start runs one instance (its own spool dir) with the cluster's flags.
func (c *cluster) start(t *testing.T, extra ...string) *server {
	t.Helper()
	e := c.env
	flags := []string{"-s3-bucket", e.srv.Bucket, "-s3-endpoint", e.srv.Endpoint, "-keyring", e.keyring}
	s := startServerAuth(t, t.TempDir(), append(append(flags, "-redis-url", c.redis.URL(), "-auth-secret-file", c.secret), extra...)...)
	s.ObjDir = filepath.Join(e.srv.Dir, e.srv.Bucket)
	s.Storage = append(s.Storage, flags...)
	return s
}

func (c *cluster) token(t *testing.T, cl hooks.Claims) *tusclient.Client {
	t.Helper()
	tok, err := c.signer.Mint(cl, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return withToken(tok)
}

// on is u served by s instead.
func on(s *server, u string) string {
	_, rest, _ := strings.Cut(u, "/files/")
	return s.Endpoint + rest
}

// stalledPatch starts a PATCH of data from offset 0 whose body stops after
// about n bytes without ending: the connection stays open, as a client's
// whose network went away.
type stalledPatch struct {
	feed   *slowFeeder
	pw     *io.PipeWriter
	result <-chan patchResult
}

func startStalledPatch(t *testing.T, ctx context.Context, c *tusclient.Client, u string, data []byte, n int64) *stalledPatch {
	t.Helper()
	pr, pw := io.Pipe()
	sp := &stalledPatch{pw: pw}
	sp.result = asyncPatch(ctx, c, u, 0, pr, int64(len(data)))
	sp.feed = feedSlowly(pw, data, 256<<10, 2*time.Millisecond)
	t.Cleanup(func() {
		sp.feed.Stop()
		pw.CloseWithError(io.ErrClosedPipe)
	})
	deadline := time.Now().Add(30 * time.Second)
	for sp.feed.Written() < n && time.Now().Before(deadline) {
		select {
		case r := <-sp.result:
			t.Fatalf("PATCH ended after %d bytes: offset %d, %v", sp.feed.Written(), r.offset, r.err)
		case <-time.After(5 * time.Millisecond):
		}
	}
	sp.feed.Stop()
	select { // a write under way ends once the client has read it
	case <-sp.feed.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the feeder did not stop within 10 s")
	}
	if w := sp.feed.Written(); w < n {
		t.Fatalf("only %d bytes sent in 30 s; want %d", w, n)
	}
	return sp
}

// timedHead is a HEAD on u and how long it took: on an upload whose lock
// is held elsewhere, the lock hand-over.
func timedHead(t *testing.T, ctx context.Context, c *tusclient.Client, u string) (int64, time.Duration) {
	t.Helper()
	start := time.Now()
	off, _, err := c.Head(ctx, u)
	took := time.Since(start)
	if err != nil {
		t.Fatalf("HEAD %s after %v: %v", u, took, err)
	}
	return off, took
}

// Two instances, one bucket. An upload's PATCH on A stalls (the client's
// connection stays open, no more bytes come); the client resumes on B: B
// asks A through Redis to let the upload go, A's request stops and saves
// what it received, B gets the lock, and the upload completes on B,
// byte-exact from either instance, its tag verified by `tusvault decrypt`.
// Then A is SIGKILLed in the middle of a second upload, which B takes
// over once A's lock lease runs out. The hand-over times are logged.
func TestMultiInstanceHandOver(t *testing.T) {
	ctx := testCtx(t, 240*time.Second)
	cl := newCluster(t)
	a, b := cl.start(t), cl.start(t)
	alice := cl.token(t, hooks.Claims{Subject: "alice"})

	const size = 60 * MiB
	data := randomBytes(8101, size)
	u, err := alice.Create(ctx, a.Endpoint, size, map[string]string{"filename": "stalled.bin"})
	if err != nil {
		t.Fatal(err)
	}
	id := uploadID(t, u)
	sp := startStalledPatch(t, ctx, alice, u, data, 25*MiB)
	sent := sp.feed.Written()
	time.Sleep(200 * time.Millisecond) // A takes in what the sockets hold
	off, handover := timedHead(t, ctx, alice, on(b, u))
	t.Logf("stalled PATCH on A after %d bytes sent; HEAD on B got the lock in %v (offset %d)", sent, handover.Round(time.Millisecond), off)
	if r, ok := waitPatch(t, sp.result, 10*time.Second); !ok {
		t.Error("A's stalled PATCH was not ended within 10 s of B's request")
	} else {
		t.Logf("A's stalled PATCH ended: offset %d, %v", r.offset, r.err)
		if tusclient.Status(r.err) != http.StatusBadRequest || !strings.Contains(r.err.Error(), "ERR_UPLOAD_INTERRUPTED") {
			t.Errorf("A's PATCH answer: %v, want 400 ERR_UPLOAD_INTERRUPTED", r.err)
		}
	}
	if off > sent || off < 20*MiB {
		t.Fatalf("offset %d on B after A received up to %d bytes: A did not save what it received", off, sent)
	}
	if handover > 5*time.Second {
		t.Errorf("hand-over took %v, want a few seconds at most", handover)
	}
	if err := alice.UploadFrom(ctx, on(b, u), data, off, []int{16 * MiB}); err != nil {
		t.Fatalf("resuming on B at %d: %v", off, err)
	}
	checkGetFull(t, alice, ctx, on(a, u), data)
	checkGetFull(t, alice, ctx, on(b, u), data)
	checkDecrypt(t, b, id, data)

	// SIGKILL: A's lock stays in Redis until its lease ends.
	const size2 = 30 * MiB
	data2 := randomBytes(8102, size2)
	u2, err := alice.Create(ctx, a.Endpoint, size2, map[string]string{"filename": "killed.bin"})
	if err != nil {
		t.Fatal(err)
	}
	sp2 := startStalledPatch(t, ctx, alice, u2, data2, 12*MiB)
	sent2 := sp2.feed.Written()
	// Bytes sent are not yet bytes stored (on a loaded machine A may lag
	// behind the socket): kill A once .info shows a committed part.
	committed := waitCommitted(t, objPath(a.ObjDir, uploadID(t, u2), ".info"), 5*MiB, 30*time.Second)
	a.kill()
	off2, handover2 := timedHead(t, ctx, alice, on(b, u2))
	t.Logf("A SIGKILLed after %d bytes sent, %d committed; HEAD on B got the lock in %v (offset %d; lease %v)", sent2, committed, handover2.Round(time.Millisecond), off2, 15*time.Second)
	if off2 > sent2 || off2 < committed {
		t.Fatalf("offset %d on B after A was killed having received up to %d bytes and committed %d", off2, sent2, committed)
	}
	if err := alice.UploadFrom(ctx, on(b, u2), data2, off2, []int{8 * MiB}); err != nil {
		t.Fatalf("resuming on B at %d: %v", off2, err)
	}
	checkGetFull(t, alice, ctx, on(b, u2), data2)
	checkDecrypt(t, b, uploadID(t, u2), data2)
}

// Twenty creations at once for a guest share with max_files 5, spread over
// two instances: exactly five succeed, the others are 403
// ERR_MAX_FILES_REACHED, and the bucket holds five uploads of the share.
// A third instance given another keyring answers an upload of the shared
// keyring with 500 ERR_KEY_UNAVAILABLE and logs the kid.
func TestMultiInstanceMaxFilesAndKeyring(t *testing.T) {
	ctx := testCtx(t, 120*time.Second)
	cl := newCluster(t)
	a, b := cl.start(t), cl.start(t)
	const maxFiles, creations = 5, 20
	guest := cl.token(t, hooks.Claims{Kind: hooks.KindGuest, Owner: "carol", Share: "trip", MaxFiles: maxFiles})
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		created []string
		refused int
	)
	start := make(chan struct{})
	for i := range creations {
		s := []*server{a, b}[i%2]
		wg.Go(func() {
			<-start
			u, err := guest.Create(ctx, s.Endpoint, 10, map[string]string{"filename": "f"})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				created = append(created, u)
			case tusclient.Status(err) == http.StatusForbidden && strings.Contains(err.Error(), "ERR_MAX_FILES_REACHED"):
				refused++
			default:
				t.Errorf("creation on %s: %v", s.Addr, err)
			}
		})
	}
	began := time.Now()
	close(start)
	wg.Wait()
	t.Logf("%d creations on two instances in %v: %d created, %d refused", creations, time.Since(began).Round(time.Millisecond), len(created), refused)
	if len(created) != maxFiles || refused != creations-maxFiles {
		t.Fatalf("%d created and %d refused, want exactly %d created", len(created), refused, maxFiles)
	}
	infos := 0
	filepath.WalkDir(filepath.Join(a.ObjDir, "guest", "carol", "trip"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".info") {
			infos++
		}
		return nil
	})
	if infos != maxFiles {
		t.Errorf("the bucket holds %d uploads of the share, want %d", infos, maxFiles)
	}

	// Another keyring on a third instance.
	kr, err := crypt.NewKeyring()
	if err != nil {
		t.Fatal(err)
	}
	otherKeyring := filepath.Join(t.TempDir(), "other-keyring.json")
	if err := kr.Save(otherKeyring); err != nil {
		t.Fatal(err)
	}
	c := cl.start(t, "-keyring", otherKeyring)
	alice := cl.token(t, hooks.Claims{Subject: "alice"})
	data := randomBytes(8103, 100000)
	u, err := alice.Create(ctx, a.Endpoint, int64(len(data)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.Upload(ctx, u, data, nil); err != nil {
		t.Fatal(err)
	}
	status, body, _, err := alice.Get(ctx, on(c, u), "")
	const want = "ERR_KEY_UNAVAILABLE: this server cannot decrypt the upload; its operator must give every instance the same keyring"
	if err != nil || status != http.StatusInternalServerError || strings.TrimSpace(string(body)) != want {
		t.Errorf("GET on the instance with another keyring: %d %q, %v; want 500 %q", status, truncate(body), err, want)
	}
	kid := readInfo(t, a.ObjDir, uploadID(t, u)).Enc.Kid
	if out := c.out.String(); !strings.Contains(out, "kid="+kid) || !strings.Contains(out, uploadID(t, u)) {
		t.Errorf("the instance's log names neither the kid %s nor the upload:\n%s", kid, truncate([]byte(out)))
	}
	checkGetFull(t, alice, ctx, on(b, u), data)
}
