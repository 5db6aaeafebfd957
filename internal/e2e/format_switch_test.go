package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/tusvault/tusvault/internal/tusclient"
)

// Format v2 became the default for new uploads (issue 13); uploads made
// before that stay v1. The release binary makes uploads with
// -upload-format 1 (a finished one, one stopped in a part with a tail,
// one stopped on a part boundary), stops, and starts again with the
// default: the finished v1 upload reads whole, by ranges and through
// `tusvault decrypt`; the unfinished ones resume (HEAD, PATCH) and finish
// in v1; a new upload is v2. Then the reverse: restarted with
// -upload-format 1, a finished v2 upload is still served and an
// unfinished one finishes in v2, while new uploads are v1 again.

func TestFormatSwitchDisk(t *testing.T) { formatSwitch(t, nil) }

func TestFormatSwitchS3(t *testing.T) { formatSwitch(t, newS3Env(t)) }

// switchUpload is an upload of the test: its bytes, what it has sent, and
// the format its .info must say.
type switchUpload struct {
	name string
	id   string
	data []byte
	sent int64
	v    int
}

// at is the upload's URL on server s.
func (u *switchUpload) at(s *server) string { return "http://" + s.Addr + "/files/" + u.id }

func formatSwitch(t *testing.T, env *s3Env) {
	ctx := testCtx(t, 180*time.Second)
	c := newClient()
	dir := t.TempDir()
	start := func(extra ...string) *server {
		if env != nil {
			return env.start(t, dir, extra...)
		}
		return startServer(t, dir, extra...)
	}

	s := start("-upload-format", "1")
	finished := newSwitchUpload(t, ctx, c, s, "finished v1", 7*MiB+333, 1, 8101)
	inTail := newSwitchUpload(t, ctx, c, s, "v1 with a tail", 12*MiB+5, 1, 8102)
	onBoundary := newSwitchUpload(t, ctx, c, s, "v1 on a part boundary", 11*MiB+77, 1, 8103)
	finished.send(t, ctx, c, s, 3*MiB+7, finished.size())
	inTail.send(t, ctx, c, s, 6*MiB+11) // part 1 and a tail of 1 MiB + 11 (mid-chunk)
	onBoundary.send(t, ctx, c, s, 4*MiB, 10*MiB)
	finished.checkInfo(t, s)
	inTail.checkStored(t, s, 5*MiB, 1*MiB+11)
	onBoundary.checkStored(t, s, 10*MiB, 0)
	s.stop()

	s = start() // the default: v2 for new uploads
	finished.checkRead(t, ctx, c, s)
	inTail.resume(t, ctx, c, s, 1*MiB+3, 0) // ends in a chunk again, then the rest
	onBoundary.resume(t, ctx, c, s, 0)
	fresh := newSwitchUpload(t, ctx, c, s, "new v2", 9*MiB+1234, 2, 8104)
	fresh.send(t, ctx, c, s, 2*MiB+9, fresh.size())
	openV2 := newSwitchUpload(t, ctx, c, s, "v2 with a tail", 6*MiB+99, 2, 8105)
	openV2.send(t, ctx, c, s, 5*MiB+70000)
	for _, u := range []*switchUpload{inTail, onBoundary, fresh} {
		u.checkRead(t, ctx, c, s)
	}
	openV2.checkStored(t, s, 5*MiB, 70000) // chunk 80 whole, 4464 bytes of chunk 81
	s.stop()

	s = start("-upload-format", "1") // and back
	openV2.resume(t, ctx, c, s, 0)
	again := newSwitchUpload(t, ctx, c, s, "new v1 again", 1*MiB+5, 1, 8106)
	again.send(t, ctx, c, s, again.size())
	for _, u := range []*switchUpload{finished, inTail, onBoundary, fresh, openV2, again} {
		u.checkRead(t, ctx, c, s)
	}
}

func newSwitchUpload(t *testing.T, ctx context.Context, c *tusclient.Client, s *server, name string, size int64, v int, seed uint64) *switchUpload {
	t.Helper()
	u, err := c.Create(ctx, s.Endpoint, size, nil)
	if err != nil {
		t.Fatalf("%s: POST: %v", name, err)
	}
	return &switchUpload{name: name, id: uploadID(t, u), data: randomBytes(seed, int(size)), v: v}
}

func (u *switchUpload) size() int64 { return int64(len(u.data)) }

// send PATCHes the bytes up to each of ends in turn.
func (u *switchUpload) send(t *testing.T, ctx context.Context, c *tusclient.Client, s *server, ends ...int64) {
	t.Helper()
	for _, end := range ends {
		got, err := c.Patch(ctx, u.at(s), u.sent, bytes.NewReader(u.data[u.sent:end]), end-u.sent)
		if err != nil || got != end {
			t.Fatalf("%s: PATCH %d-%d: offset %d, %v", u.name, u.sent, end, got, err)
		}
		u.sent = end
	}
}

// resume checks that HEAD on s reports what was sent, then sends the
// rest in PATCHes of pieces (0: the rest).
func (u *switchUpload) resume(t *testing.T, ctx context.Context, c *tusclient.Client, s *server, pieces ...int64) {
	t.Helper()
	off, length, err := c.Head(ctx, u.at(s))
	if err != nil || off != u.sent || length != u.size() {
		t.Fatalf("%s: HEAD after the restart: offset %d of %d, %v; want %d of %d", u.name, off, length, err, u.sent, u.size())
	}
	for _, n := range pieces {
		end := u.size()
		if n > 0 {
			end = min(end, u.sent+n)
		}
		u.send(t, ctx, c, s, end)
	}
}

// checkInfo checks the format in the upload's .info.
func (u *switchUpload) checkInfo(t *testing.T, s *server) *infoFile {
	t.Helper()
	info := readInfo(t, s.ObjDir, u.id)
	if info.Enc.V != u.v {
		t.Errorf("%s: .info says V %d, want %d", u.name, info.Enc.V, u.v)
	}
	return info
}

// checkStored checks that the unfinished upload's .info, in its format,
// has committed bytes in parts and a tail of tail bytes.
func (u *switchUpload) checkStored(t *testing.T, s *server, committed, tail int64) {
	t.Helper()
	info := u.checkInfo(t, s)
	if info.Offset != u.sent || info.Enc.Committed != committed || info.Enc.TailLen != tail {
		t.Errorf("%s: .info has Offset %d, Committed %d, TailLen %d; want %d, %d, %d", u.name, info.Offset, info.Enc.Committed, info.Enc.TailLen, u.sent, committed, tail)
	}
}

// checkRead checks the finished upload on s: its format and tag, a whole
// GET, ranged GETs (a byte, across a chunk, a part and the end) and
// `tusvault decrypt`.
func (u *switchUpload) checkRead(t *testing.T, ctx context.Context, c *tusclient.Client, s *server) {
	t.Helper()
	if info := u.checkInfo(t, s); info.Offset != u.size() || len(info.Enc.Tag) == 0 {
		t.Errorf("%s: .info has Offset %d of %d and a %d-byte tag", u.name, info.Offset, u.size(), len(info.Enc.Tag))
	}
	checkGetFull(t, c, ctx, u.at(s), u.data)
	size := u.size()
	specs := []string{"bytes=0-0", "bytes=65530-65545", "bytes=-100", fmt.Sprintf("bytes=%d-", size/2+3)}
	if size > 5*MiB+100 {
		specs = append(specs, fmt.Sprintf("bytes=%d-%d", 5*MiB-100, 5*MiB+100), fmt.Sprintf("bytes=%d-%d", 3*MiB+1, 5*MiB+70001))
	}
	checkGetRanges(t, c, ctx, u.at(s), u.data, specs)
	checkDecrypt(t, s, u.id, u.data)
}

// checkGetRanges checks a ranged GET of u for each of specs (those a
// body of len(want) bytes satisfies): 206, the Content-Range and the
// bytes of want.
func checkGetRanges(t *testing.T, c *tusclient.Client, ctx context.Context, u string, want []byte, specs []string) {
	t.Helper()
	size := int64(len(want))
	for _, spec := range specs {
		r, ok := resolveRange(spec, size)
		if !ok {
			continue
		}
		status, body, hdr, err := c.Get(ctx, u, spec)
		if err != nil {
			t.Errorf("GET Range %s: %v", spec, err)
			continue
		}
		if status != http.StatusPartialContent {
			t.Errorf("GET Range %s on %d bytes: status %d, want 206", spec, size, status)
			continue
		}
		wantCR := fmt.Sprintf("bytes %d-%d/%d", r.start, r.end, size)
		if got := hdr.Get("Content-Range"); got != wantCR {
			t.Errorf("GET Range %s: Content-Range %q, want %q", spec, got, wantCR)
		}
		equalData(t, "GET Range "+spec, body, want[r.start:r.end+1])
	}
}
