package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// SIGKILL during the expiry sweep. Each trial stores three uploads:
//
//	X: 7 MiB + 5 of 9 MiB (a part and a tail), its .info aged 2 h: expired;
//	Y: the same, fresh: must be left alone and resume;
//	Z: 6 MiB + 7, every byte sent, the server killed before it assembled
//	   it: completable, so the sweep must complete it.
//
// Then `tusvault cleanup -expire-after 1h` runs armed with a failpoint and
// dies there; a second cleanup must finish the job: X gone with every
// object of it, Z complete and byte-exact, Y resumable to byte-exact.

const (
	sweepSizeX = 9 * MiB
	sweepSizeZ = 6*MiB + 7
	sweepPatch = 7*MiB + 5
)

func TestChaosSweepDisk(t *testing.T) { runSweeps(t, nil) }

func TestChaosSweepS3(t *testing.T) { runSweeps(t, newS3Env(t)) }

func runSweeps(t *testing.T, env *s3Env) {
	for i, fp := range []string{"sweep-upload:1", "remove:1", "complete-multipart:1", "multipart-completed:1"} {
		t.Run(strings.ReplaceAll(fp, ":", "_"), func(t *testing.T) {
			sweepTrial(t, newRig(t, env), fp, uint64(9500+10*i))
		})
	}
}

// sweepSetup stores X, Y and Z on r as described above and ages X.
func sweepSetup(t *testing.T, ctx context.Context, r *rig, seed uint64) (x, y, z *chaosUpload) {
	t.Helper()
	c := newClient()
	s := r.start(t, "complete-multipart:1")
	x = createUpload(t, ctx, c, s, randomBytes(seed, sweepSizeX))
	y = createUpload(t, ctx, c, s, randomBytes(seed+1, sweepSizeX))
	z = createUpload(t, ctx, c, s, randomBytes(seed+2, sweepSizeZ))
	for _, up := range []*chaosUpload{x, y} {
		if err := up.patch(ctx, c, s, sweepPatch); err != nil {
			t.Fatal(err)
		}
	}
	if err := z.patch(ctx, c, s, sweepSizeZ); err == nil {
		t.Fatal("Z's last PATCH succeeded; the server should have died completing it")
	}
	waitMark(t, s, 10*time.Second, false)
	z.acked = z.size // every byte was committed before the completion
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(objPath(r.objDir(), x.id, ".info"), old, old); err != nil {
		t.Fatal(err)
	}
	return x, y, z
}

// runCleanup runs `tusvault cleanup -expire-after 1h` on r (armed with fp
// unless ""), and returns its output and how it ended.
func runCleanup(t *testing.T, r *rig, fp string) (string, error) {
	t.Helper()
	return runCleanupAfter(t, r, fp, "1h")
}

// runCleanupAfter is runCleanup with -expire-after expire.
func runCleanupAfter(t *testing.T, r *rig, fp, expire string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, fpBinPath, append(append([]string{"cleanup"}, r.storage()...), "-expire-after", expire)...)
	cmd.Env = append(withoutFailpointEnv(os.Environ()), r.procEnv(fp)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func sweepTrial(t *testing.T, r *rig, fp string, seed uint64) {
	ctx := testCtx(t, 120*time.Second)
	x, y, z := sweepSetup(t, ctx, r, seed)

	out, err := runCleanup(t, r, fp)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL || !strings.Contains(out, failpointMarker+" ") {
		t.Fatalf("cleanup armed with %s: %v, want death by SIGKILL at the failpoint; output:\n%s", fp, err, out)
	}
	if out, err := runCleanup(t, r, ""); err != nil {
		t.Fatalf("cleanup after the killed one: %v; output:\n%s", err, out)
	} else {
		t.Logf("killed at %s; the next cleanup said: %s", fp, strings.SplitN(out, "\n", 2)[0])
	}
	checkSwept(t, ctx, r, x, y, z)
}

// checkSwept checks the outcome of the sweeps: X gone, Z complete, Y
// resumable; then the counter checker over the store.
func checkSwept(t *testing.T, ctx context.Context, r *rig, x, y, z *chaosUpload) {
	t.Helper()
	c := newClient()
	s := r.start(t, "")
	if _, _, err := c.Head(ctx, x.url(s)); !strings.Contains(err.Error(), "404") {
		t.Errorf("HEAD of the expired upload after the sweeps: %v, want 404", err)
	}
	if files := uploadFiles(t, r.objDir(), x.id); len(files) > 0 {
		t.Errorf("objects of the expired upload survived the sweeps: %v", files)
	}
	if keys := multipartKeys(t, ctx, r); slices.Contains(keys, x.id) {
		t.Errorf("the expired upload's multipart upload survived")
	}
	z.verify(t, ctx, c, s)
	if err := y.resume(ctx, c, s, []int64{1*MiB + 3}, false, 0); err != nil {
		t.Fatalf("resuming the fresh upload: %v", err)
	}
	y.verify(t, ctx, c, s)
	auditStore(t, r, map[string]int64{x.id: x.size, y.id: y.size, z.id: z.size})
}

// multipartKeys lists the keys of the multipart uploads in progress on r.
func multipartKeys(t *testing.T, ctx context.Context, r *rig) []string {
	t.Helper()
	var keys []string
	if r.env != nil {
		out, err := r.env.srv.Client().ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(r.bucket)})
		if err != nil {
			t.Fatal(err)
		}
		for _, mu := range out.Uploads {
			keys = append(keys, aws.ToString(mu.Key))
		}
		return keys
	}
	mp := filepath.Join(r.dir, ".tusvault", "multipart")
	entries, err := os.ReadDir(mp)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(mp, e.Name(), "upload.json"))
		if err != nil {
			t.Fatal(err)
		}
		var u struct{ Key string }
		if err := json.Unmarshal(b, &u); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, u.Key)
	}
	return keys
}

// The sweep of serve (-expire-after), killed while removing X: the next
// server's own sweep finishes it.
func TestChaosServeSweepDisk(t *testing.T) {
	ctx := testCtx(t, 120*time.Second)
	r := newRig(t, nil)
	x, y, z := sweepSetup(t, ctx, r, 9600)
	s := r.start(t, "remove:1", "-expire-after", "1h")
	mark := waitMark(t, s, 30*time.Second, false) // the first sweep runs 5 s after startup
	if _, err := os.Stat(objPath(r.objDir(), x.id, ".info")); err != nil {
		t.Fatalf("killed at %q, the expired upload's .info is gone: %v (it goes last)", mark, err)
	}
	s2 := r.start(t, "", "-expire-after", "1h")
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(objPath(r.objDir(), x.id, ".info")); os.IsNotExist(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the restarted server's sweep did not remove the expired upload within 30 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	s2.stop()
	checkSwept(t, ctx, r, x, y, z)
}
