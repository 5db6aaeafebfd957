package e2e

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tusvault/tusvault/internal/tusclient"
)

// The deterministic trials: one SIGKILL at each stage of the upload path,
// named by a failpoint, on the disk backend and on S3 (versitygw).
//
// The upload of every trial is 11 MiB + 123 bytes in two PATCHes: the
// first (7 MiB + 5) stores part 1 and a tail fragment of 2 MiB + 5; the
// second appends to the tail (cached, or read back from the fragment
// after a restart), stores part 2, which absorbs the fragment, deletes
// the fragment, stores the final part 3, and completes. The
// stage and hit number choose where the server dies; after it restarted,
// HEAD must report exactly the offset that stage leaves, the client sends
// the rest (different bytes from there, as after a rollback), and the
// upload must end byte-exact with a valid tag and pass the checkers: the
// nonce checker for the v2 uploads of the default, and, in the trials of
// TestChaosStagesV1 (-upload-format 1), the counter checker.
// The servers page every segment they can (TUSVAULT_SEGMENT_PAGE=1), so
// the commit of part 2 moves segment 0 into a segment page.
// Two more trials kill a POST between its multipart upload and its first
// .info (createTrial) and a DELETE before its .info goes (terminateTrial);
// those of chaos_deferred_test.go kill the PATCH that declares a deferred
// length.

const (
	stageSize   = 11*MiB + 123
	stagePatch1 = 7*MiB + 5
)

type stageCase struct {
	fp string // TUSVAULT_FAILPOINT
	// after is the offset HEAD reports once restarted.
	after int64
	// diskOnly: the stage is in the disk backend.
	diskOnly bool
	// v2Only: the stage is on format v2's path.
	v2Only bool
}

// stageCases are the trials on backend name ("disk" or "s3").
func stageCases(name string) []stageCase {
	// The SDK reads a part's body twice over plain HTTP (SigV4 hashes it,
	// then sends it): the second pass is the one on the wire.
	wire := "upload-part:1"
	if name == "s3" {
		wire = "upload-part:2"
	}
	return []stageCase{
		{fp: "segment-stored:2", after: stagePatch1},               // PATCH 2's segment persisted, no byte encrypted
		{fp: "spool:40=block", after: 0},                           // PATCH 1 spooling part 1 (fds checked, then killed)
		{fp: wire, after: 0},                                       // during UploadPart of part 1
		{fp: "chunk-sealed:114", after: stagePatch1, v2Only: true}, // PATCH 2 completing chunk 112, which PATCH 1 sealed at 5 bytes
		{fp: "tag-object:1", after: 0, v2Only: true},               // part 1 stored, its tag object not yet
		{fp: "part-uploaded:1", after: 0},                          // part 1 (and its tag object) stored, .info not committed
		{fp: "part-uploaded:2", after: stagePatch1},                // part 2 stored, .info not committed
		{fp: "tail:1", after: 5 * MiB},                             // during the tail fragment's Put
		{fp: "tail-stored:1", after: 5 * MiB},                      // fragment stored, .info not committed
		{fp: "segments-paged:1", after: stagePatch1},               // part 2 stored, segment 0 paged, .info not committed
		{fp: "tail-absorbed:1", after: 10 * MiB},                   // part 2 holding the fragment committed, fragment not deleted
		{fp: "part-uploaded:3", after: 10 * MiB},                   // the final part stored, .info (with a page) not committed
		{fp: "complete-multipart:1", after: stageSize},             // before CompleteMultipartUpload
		{fp: "disk-assemble:1", after: stageSize, diskOnly: true},  // parts concatenated, not renamed into place
		{fp: "multipart-completed:1", after: stageSize},            // object assembled, .info has no tag yet
	}
}

func TestChaosStagesDisk(t *testing.T) { runStages(t, nil, false) }

func TestChaosStagesS3(t *testing.T) { runStages(t, newS3Env(t), false) }

// The stages of format v1's path, with v1 uploads, on disk.
func TestChaosStagesV1(t *testing.T) { runStages(t, nil, true) }

func runStages(t *testing.T, env *s3Env, v1 bool) {
	name := "disk"
	if env != nil {
		name = "s3"
	}
	rig := func(t *testing.T) *rig {
		r := newRig(t, env)
		r.v1 = v1
		return r
	}
	for i, tc := range stageCases(name) {
		if tc.diskOnly && env != nil || tc.v2Only && v1 {
			continue
		}
		t.Run(strings.NewReplacer(":", "_", "=", "_").Replace(tc.fp), func(t *testing.T) {
			stageTrial(t, rig(t), tc, uint64(9100+10*i))
		})
	}
	for i, tc := range deferredCases {
		if tc.v2Only && v1 {
			continue
		}
		t.Run("deferred_"+strings.NewReplacer(":", "_").Replace(tc.fp), func(t *testing.T) {
			deferredTrial(t, rig(t), tc, uint64(9300+10*i))
		})
	}
	t.Run("multipart-created_1", func(t *testing.T) { createTrial(t, rig(t)) })
	t.Run("terminate_remove_1", func(t *testing.T) { terminateTrial(t, rig(t), 9290) })
}

// createTrial kills the server in a POST, after the multipart upload was
// created and before the first .info was written: no upload exists, and
// the sweep aborts the orphaned multipart upload.
func createTrial(t *testing.T, r *rig) {
	ctx := testCtx(t, 60*time.Second)
	c := newClient()
	s := r.start(t, "multipart-created:1")
	if _, err := c.Create(ctx, s.Endpoint, stageSize, nil); err == nil {
		t.Fatal("POST succeeded although the server died in it")
	}
	waitMark(t, s, 10*time.Second, false)
	if n := countInfos(t, r.objDir()); n != 0 {
		t.Errorf("%d .info objects after a POST cut short before its first .info", n)
	}
	if keys := multipartKeys(t, ctx, r); len(keys) != 1 {
		t.Fatalf("multipart uploads after the POST cut short: %v, want one orphan", keys)
	}
	// -expire-after 1ns: the orphan, just created, counts as old.
	out, err := runCleanupAfter(t, r, "", "1ns")
	if err != nil || !strings.Contains(out, "1 orphaned multipart uploads") {
		t.Errorf("cleanup: %v; output:\n%s", err, out)
	}
	if keys := multipartKeys(t, ctx, r); len(keys) != 0 {
		t.Errorf("multipart uploads after the sweep: %v, want none", keys)
	}
	s2 := r.start(t, "")
	up := createUpload(t, ctx, c, s2, randomBytes(9280, stageSize))
	if err := up.resume(ctx, c, s2, []int64{stagePatch1}, false, 0); err != nil {
		t.Fatal(err)
	}
	up.verify(t, ctx, c, s2)
	auditStore(t, r, map[string]int64{up.id: up.size})
}

// terminateTrial kills the server in a DELETE, once the data, the tail and
// the multipart upload are gone and before .info is: the upload still
// answers HEAD, and the client's next DELETE finishes the removal.
func terminateTrial(t *testing.T, r *rig, seed uint64) {
	ctx := testCtx(t, 60*time.Second)
	c := newClient()
	s := r.start(t, "remove:1")
	up := createUpload(t, ctx, c, s, randomBytes(seed, stageSize))
	if err := up.patch(ctx, c, s, stagePatch1); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, up.url(s)); err == nil {
		t.Fatal("DELETE succeeded although the server died in it")
	}
	waitMark(t, s, 10*time.Second, false)
	s2 := r.start(t, "")
	if _, _, err := c.Head(ctx, up.url(s2)); err != nil {
		t.Errorf("HEAD after a DELETE cut short before .info went: %v, want the upload still there", err)
	}
	if err := c.Delete(ctx, up.url(s2)); err != nil {
		t.Fatalf("DELETE again: %v", err)
	}
	if _, _, err := c.Head(ctx, up.url(s2)); tusclient.Status(err) != http.StatusNotFound {
		t.Errorf("HEAD after the second DELETE: %v, want 404", err)
	}
	if files := uploadFiles(t, r.objDir(), up.id); len(files) > 0 {
		t.Errorf("objects of the deleted upload survived: %v", files)
	}
	if keys := multipartKeys(t, ctx, r); len(keys) != 0 {
		t.Errorf("multipart uploads after the DELETE: %v", keys)
	}
	auditStore(t, r, map[string]int64{up.id: up.size})
}

func stageTrial(t *testing.T, r *rig, tc stageCase, seed uint64) {
	ctx := testCtx(t, 90*time.Second)
	c := newClient()
	s := r.start(t, tc.fp)
	up := createUpload(t, ctx, c, s, randomBytes(seed, stageSize))
	block := strings.HasSuffix(tc.fp, "=block")

	done := make(chan error, 1)
	go func() {
		err := up.patch(ctx, c, s, stagePatch1)
		if err == nil {
			err = up.patch(ctx, c, s, stageSize)
		}
		done <- err
	}()
	mark := waitMark(t, s, 30*time.Second, block)
	if block {
		if n := openSpoolFiles(t, s.cmd.Process.Pid, r.spoolDir()); n == 0 {
			t.Errorf("blocked at %q with no spool file open", mark)
		}
		checkNoSpool(t, r)
		s.kill()
	}
	if !s.killedBySIGKILL() {
		t.Fatalf("tusvault ended with %v, want SIGKILL", s.state)
	}
	select {
	case err := <-done:
		if err == nil {
			t.Fatalf("the upload succeeded although the server died at %q", mark)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the client's PATCH did not end within 10 s of the server's death")
	}
	checkNoSpool(t, r)

	s2 := r.start(t, "")
	off, err := up.head(ctx, c, s2)
	if err != nil {
		t.Fatalf("HEAD after the restart: %v", err)
	}
	if off != tc.after {
		t.Errorf("killed at %q: offset %d after the restart, want %d", mark, off, tc.after)
	}
	// The unfinished upload as the crash left it, pages included.
	auditStore(t, r, map[string]int64{up.id: up.size})
	if err := up.resume(ctx, c, s2, []int64{3*MiB + 1}, true, seed+1); err != nil {
		t.Fatalf("resuming from %d: %v", off, err)
	}
	up.verify(t, ctx, c, s2)
	n := auditStore(t, r, map[string]int64{up.id: up.size})
	r.checkFormat(t, n, 1)
	t.Logf("killed at %q; resumed from %d; %v", mark, off, n)
}

// The release binary holds no failpoint: not even the variable's name.
func TestReleaseBinaryHasNoFailpoints(t *testing.T) {
	for _, b := range []struct {
		path string
		want bool
	}{{binPath, false}, {fpBinPath, true}} {
		data, err := readWhole(b.path)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{envFailpoint, envSealLog} {
			if got := bytes.Contains(data, []byte(name)); got != b.want {
				t.Errorf("%s holds %s: %v, want %v", b.path, name, got, b.want)
			}
		}
	}
}
