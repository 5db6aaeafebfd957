package e2e

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tusvault/tusvault/internal/tusclient"
)

// interrupted is what killMidPatch observed.
type interrupted struct {
	written int64            // bytes the client had written when the server died
	ivs     map[string]int64 // every segment IV seen in .info before the kill → its Off
	last    *segment         // the last segment in the last .info read before the kill
}

// killMidPatch sends data to u (from offset 0) in one PATCH whose body is a
// pipe fed slowly, SIGKILLs s once killAt bytes were written, and returns
// what it saw. It reads <id>.info while feeding to collect the segments.
func killMidPatch(t *testing.T, s *server, c *tusclient.Client, ctx context.Context, u string, data []byte, killAt int64) interrupted {
	t.Helper()
	id := uploadID(t, u)
	infoPath := objPath(s.ObjDir, id, ".info")
	res := interrupted{ivs: map[string]int64{}}
	observe := func() {
		info, err := readInfoAt(infoPath)
		if err != nil {
			return // being replaced; the next read will do
		}
		for _, sg := range info.Enc.Segments {
			sg := sg
			res.ivs[string(sg.IV)] = sg.Off
			res.last = &sg
		}
		if n := len(info.Enc.Segments); n == 0 {
			res.last = nil
		}
	}

	pr, pw := io.Pipe()
	defer pw.CloseWithError(io.ErrClosedPipe)
	patch := asyncPatch(ctx, c, u, 0, pr, int64(len(data)))
	feed := feedSlowly(pw, data, 256<<10, 3*time.Millisecond)
	defer feed.Stop()

	deadline := time.Now().Add(30 * time.Second)
	for feed.Written() < killAt && time.Now().Before(deadline) {
		observe()
		select {
		case r := <-patch:
			t.Fatalf("PATCH ended before the kill after %d bytes: offset %d, %v", feed.Written(), r.offset, r.err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	feed.Stop()
	res.written = feed.waitWritten(killAt, 10*time.Second)
	if res.written < killAt {
		t.Fatalf("only %d bytes written after 30 s; want %d before the kill", res.written, killAt)
	}
	// Let the server drain the socket buffers and commit what it can: wait
	// (bounded) until it committed every full part of what was written.
	want := res.written / partSize * partSize
	waitStart := time.Now()
	var info *infoFile
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		observe()
		if i, err := readInfoAt(infoPath); err == nil {
			info = i
			if i.Enc.Committed >= want {
				break
			}
		}
	}
	observe()
	if info != nil {
		t.Logf("before the kill (waited %v): .info Offset %d, Committed %d, TailLen %d, %d segments; spool: %s",
			time.Since(waitStart).Round(time.Millisecond), info.Offset, info.Enc.Committed, info.Enc.TailLen, len(info.Enc.Segments), dirSizes(s.Dir))
	}
	s.kill()
	// The client side of the PATCH must end now.
	pw.CloseWithError(io.ErrClosedPipe)
	r, ok := waitPatch(t, patch, 10*time.Second)
	if !ok {
		t.Fatal("PATCH did not return within 10 s of the server's death")
	}
	if r.err == nil {
		t.Fatalf("PATCH succeeded (offset %d) although the server was killed mid-body", r.offset)
	}
	t.Logf("killed the server after the client wrote %d bytes; PATCH: %v", res.written, r.err)
	return res
}

func TestResumeAfterSIGKILL(t *testing.T) {
	ctx := testCtx(t, 80*time.Second)
	dir := t.TempDir()
	s := startServer(t, dir)
	c := newClient()
	const size = 20 * MiB
	data := randomBytes(2001, size)
	u, err := c.Create(ctx, s.Endpoint, size, map[string]string{"filename": "kill.bin"})
	if err != nil {
		t.Fatal(err)
	}
	id := uploadID(t, u)

	seen := killMidPatch(t, s, c, ctx, u, data, 12*MiB)

	s2 := startServer(t, dir)
	u2 := strings.Replace(u, s.Addr, s2.Addr, 1)
	off, length, err := c.Head(ctx, u2)
	if err != nil {
		t.Fatalf("HEAD after restart: %v", err)
	}
	t.Logf("offset after restart: %d (client had written %d)", off, seen.written)
	if length != size {
		t.Errorf("HEAD after restart: Upload-Length %d, want %d", length, size)
	}
	if off > seen.written || off > 12*MiB+256<<10 {
		t.Fatalf("HEAD after restart: offset %d is past the %d bytes the client sent", off, seen.written)
	}
	if err := c.UploadFrom(ctx, u2, data, off, nil); err != nil {
		t.Fatalf("resuming at %d: %v", off, err)
	}
	if o, _, err := c.Head(ctx, u2); err != nil || o != size {
		t.Fatalf("HEAD after resume = %d, %v; want %d", o, err, size)
	}
	checkGetFull(t, c, ctx, u2, data)
	checkDecrypt(t, s2, id, data)
	info := readInfo(t, dir, id)
	if len(info.Enc.Tag) != 32 {
		t.Errorf(".info of the finished upload has a %d-byte Tag, want 32", len(info.Enc.Tag))
	}
	if info.Offset != size {
		t.Errorf(".info Offset %d, want %d", info.Offset, size)
	}
}

func TestRolledBackOffsetUsesNewIV(t *testing.T) {
	ctx := testCtx(t, 80*time.Second)
	dir := t.TempDir()
	s := startServer(t, dir)
	c := newClient()
	const size = 20 * MiB
	first := randomBytes(3001, size)
	second := randomBytes(3002, size) // different bytes for the same offsets
	u, err := c.Create(ctx, s.Endpoint, size, map[string]string{"filename": "rollback.bin"})
	if err != nil {
		t.Fatal(err)
	}
	id := uploadID(t, u)

	seen := killMidPatch(t, s, c, ctx, u, first, 12*MiB)
	if seen.last == nil {
		t.Fatalf("no segment was persisted in %s.info while %d bytes were being encrypted (the segment must be persisted before any byte is encrypted under it)", id, seen.written)
	}
	t.Logf("segments seen before the kill: %d; last {Off %d}", len(seen.ivs), seen.last.Off)

	s2 := startServer(t, dir)
	u2 := strings.Replace(u, s.Addr, s2.Addr, 1)
	O, _, err := c.Head(ctx, u2)
	if err != nil {
		t.Fatalf("HEAD after restart: %v", err)
	}
	t.Logf("offset after restart: O = %d (client had written %d)", O, seen.written)
	if O > seen.written {
		t.Fatalf("offset %d after restart is past the %d bytes sent", O, seen.written)
	}

	// Different bytes from O to the end.
	got, err := c.Patch(ctx, u2, O, bytes.NewReader(second[O:]), size-O)
	if err != nil || got != size {
		t.Fatalf("PATCH of new bytes at %d = %d, %v; want %d", O, got, err, size)
	}

	info := readInfo(t, dir, id)
	var cover *segment
	for i := range info.Enc.Segments {
		sg := &info.Enc.Segments[i]
		if i > 0 && sg.Off <= info.Enc.Segments[i-1].Off {
			t.Errorf("final segment offsets do not strictly increase: %d after %d", sg.Off, info.Enc.Segments[i-1].Off)
		}
		if sg.Off <= O {
			cover = sg
		}
		if sg.Off >= O {
			if oldOff, reused := seen.ivs[string(sg.IV)]; reused {
				t.Errorf("final segment {Off %d} reuses the IV of the pre-kill segment {Off %d}", sg.Off, oldOff)
			}
		}
	}
	if cover == nil {
		t.Fatalf("no final segment covers offset %d: %+v", O, info.Enc.Segments)
	}
	if oldOff, reused := seen.ivs[string(cover.IV)]; reused {
		t.Errorf("offset %d is now encrypted under segment {Off %d} whose IV was already in use before the kill (segment {Off %d}): two-time pad on bytes [%d, %d)",
			O, cover.Off, oldOff, O, seen.written)
	}
	if cover.Off != O {
		t.Errorf("the segment covering the resumed offset %d starts at %d; want a new segment at %d (one segment per PATCH)", O, cover.Off, O)
	}
	if len(info.Enc.Tag) != 32 {
		t.Errorf("finished upload without a 32-byte Tag (%d bytes)", len(info.Enc.Tag))
	}

	want := append(append([]byte{}, first[:O]...), second[O:]...)
	checkGetFull(t, c, ctx, u2, want)
	checkDecrypt(t, s2, id, want)
}

func TestShutdownSavesData(t *testing.T) {
	ctx := testCtx(t, 80*time.Second)
	dir := t.TempDir()
	const shutdownTimeout = 5 * time.Second
	s := startServer(t, dir, "-shutdown-timeout", shutdownTimeout.String())
	c := newClient()
	const size = 16 * MiB
	data := randomBytes(4001, size)
	u, err := c.Create(ctx, s.Endpoint, size, map[string]string{"filename": "shutdown.bin"})
	if err != nil {
		t.Fatal(err)
	}
	id := uploadID(t, u)

	pr, pw := io.Pipe()
	defer pw.CloseWithError(io.ErrClosedPipe)
	patch := asyncPatch(ctx, c, u, 0, pr, size)
	// ~6.4 MB/s: the whole body would take ~2.6 s; the client keeps
	// sending after SIGTERM, as a real one would.
	feed := feedSlowly(pw, data, 64<<10, 10*time.Millisecond)
	defer feed.Stop()
	if w := feed.waitWritten(6*MiB, 30*time.Second); w < 6*MiB {
		t.Fatalf("only %d bytes written before SIGTERM", w)
	}
	select {
	case r := <-patch:
		t.Fatalf("PATCH ended before SIGTERM: %d, %v", r.offset, r.err)
	default:
	}
	took, exited := s.term(shutdownTimeout + 5*time.Second)
	if !exited {
		t.Errorf("tusvault still running %v after SIGTERM with -shutdown-timeout %v", took, shutdownTimeout)
		s.kill()
	} else {
		t.Logf("exited %v after SIGTERM; client had written %d bytes", took.Round(time.Millisecond), feed.Written())
	}
	feed.Stop()
	pw.CloseWithError(io.ErrClosedPipe)
	r, ok := waitPatch(t, patch, 10*time.Second)
	switch {
	case !ok:
		t.Fatal("PATCH did not return after the server exited")
	case r.err == nil:
		t.Errorf("PATCH answered success (offset %d) although the server shut down mid-body", r.offset)
	default:
		var se *tusclient.StatusError
		if asStatus(r.err, &se) {
			if se.Status != http.StatusServiceUnavailable || !strings.Contains(se.Body, "ERR_SERVER_SHUTDOWN") {
				t.Errorf("PATCH interrupted by shutdown answered %d %q; want 503 with ERR_SERVER_SHUTDOWN", se.Status, se.Body)
			} else {
				t.Logf("PATCH answered %d %q", se.Status, strings.TrimSpace(se.Body))
			}
		} else {
			t.Logf("PATCH got no response (acceptable): %v", r.err)
		}
	}

	s2 := startServer(t, dir)
	u2 := strings.Replace(u, s.Addr, s2.Addr, 1)
	off, _, err := c.Head(ctx, u2)
	if err != nil {
		t.Fatalf("HEAD after restart: %v", err)
	}
	t.Logf("offset after restart: %d", off)
	if off <= 0 {
		t.Errorf("HEAD after a graceful shutdown mid-PATCH: offset %d; want > 0 (the received data must be saved)", off)
	}
	if off > feed.Written() {
		t.Fatalf("offset %d is past the %d bytes sent", off, feed.Written())
	}
	if err := c.UploadFrom(ctx, u2, data, off, []int{7 * MiB}); err != nil {
		t.Fatalf("finishing from %d: %v", off, err)
	}
	checkGetFull(t, c, ctx, u2, data)
	checkDecrypt(t, s2, id, data)
}
