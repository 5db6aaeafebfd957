package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/tusvault/tusvault/internal/tusclient"
)

// The deterministic trials of a deferred length (Upload-Defer-Length),
// declared by a PATCH without data once all the bytes are sent: its first
// request sends them all, its second declares the length and the server
// dies in it, after the length is in .info. tusd then counts the upload as
// finished (HEAD offset = length) and never passes a PATCH for it to the
// store again, so the restarted store must finish it on its own (the next
// request that loads it: HEAD here): send the tail as the final part, or
// re-seal the last chunk of a v2 upload as final, and complete. The upload
// must end byte-exact with a valid tag and pass the checkers; the re-seals
// of a v2 upload, done again after the restart, are the same messages.

type deferredCase struct {
	fp     string
	size   int64 // sent by the first PATCH, then declared
	v2Only bool
}

var deferredCases = []deferredCase{
	// The data ends in the tail (7 MiB + 5: part 1 and a tail ending 5
	// bytes into chunk 112): the declaring request re-seals chunk 112 as
	// final (seal 114, after PATCH 1's 113), then sends the tail as part 2.
	{fp: "chunk-sealed:114", size: stagePatch1, v2Only: true},
	{fp: "part-uploaded:2", size: stagePatch1},
	// The data ends on a part boundary (10 MiB, no tail): completion reads
	// chunk 159 back from the assembled object and re-seals it as final
	// (seal 161), then rewrites the tag object of part 2.
	{fp: "chunk-sealed:161", size: 10 * MiB, v2Only: true},
	{fp: "tags-resealed:1", size: 10 * MiB, v2Only: true},
}

func deferredTrial(t *testing.T, r *rig, tc deferredCase, seed uint64) {
	ctx := testCtx(t, 90*time.Second)
	c := newClient()
	s := r.start(t, tc.fp)
	up := createDeferred(t, ctx, c, s, randomBytes(seed, int(tc.size)))
	id := up.id
	if err := up.patch(ctx, c, s, tc.size); err != nil {
		t.Fatal(err)
	}
	if err := up.declare(ctx, c, s); err == nil {
		t.Fatalf("declaring the length succeeded although the server was to die at %q", tc.fp)
	}
	mark := waitMark(t, s, 30*time.Second, false)
	if !s.killedBySIGKILL() {
		t.Fatalf("tusvault ended with %v, want SIGKILL", s.state)
	}
	if info := readInfo(t, r.objDir(), id); info.SizeIsDeferred || info.Size != tc.size || len(info.Enc.Tag) > 0 {
		t.Fatalf("killed at %q: .info has Size %d (deferred: %v) and a %d-byte tag; want the declared length and no tag", mark, info.Size, info.SizeIsDeferred, len(info.Enc.Tag))
	}
	s2 := r.start(t, "")
	up.verify(t, ctx, c, s2)
	n := auditStore(t, r, map[string]int64{id: tc.size})
	r.checkFormat(t, n, 1)
	t.Logf("killed at %q declaring %d bytes; finished after the restart; %v", mark, tc.size, n)
}

// declareLength sends a PATCH without data at offset length that declares
// the upload's length.
func declareLength(ctx context.Context, c *tusclient.Client, u string, length int64) error {
	req, err := c.NewRequest(ctx, http.MethodPatch, u, http.NoBody)
	if err != nil {
		return err
	}
	req.ContentLength = 0
	req.Header.Set("Content-Type", tusclient.ContentTypeOffset)
	req.Header.Set("Upload-Offset", strconv.FormatInt(length, 10))
	req.Header.Set("Upload-Length", strconv.FormatInt(length, 10))
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("PATCH declaring the length: %w", &tusclient.StatusError{Status: resp.StatusCode, Body: string(body)})
	}
	return nil
}
