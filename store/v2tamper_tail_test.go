package store_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/tusvault/tusvault/internal/tusclient"
	"github.com/tusvault/tusvault/internal/v2tamper"
	"github.com/tusvault/tusvault/store"
	"github.com/tusvault/tusvault/store/crypt"
)

// An unfinished v2 upload whose tail was altered in the object store
// in a way only the chunk tags can tell (a fragment's byte with its
// CRC-32C in .info recomputed to match; TailTags or the tag state edited)
// refuses the next request that builds on it: a PATCH that extends the
// chunk the tail ends in, one that completes it, one that fills a part,
// the data-less PATCH that declares a deferred length. Each fails with a
// 500, no 204, and leaves the stored upload as it was: same offset, same
// tail, same tags, no tag object (a length the refused request declared
// stays declared). Undoing the alteration, the upload resumes (from HEAD)
// and reads back whole; one whose length was declared completes on the
// next request, here the client's retry (see
// TestDeclaredLengthCompletionFailed). The tail cache is off, so every
// request reads the fragments back.
func TestFormatV2TamperedTail(t *testing.T) { checkTamperedTail(t, tailTamperServer(t, false)) }

// On S3 (versitygw), as on disk.
func TestFormatV2TamperedTailOnS3(t *testing.T) { checkTamperedTail(t, tailTamperServer(t, true)) }

// tailTamperServer is a test server writing format v2 with the tail
// cache off, on the disk backend or, onS3, on versitygw; ts.Dir is where
// the objects are files either way.
func tailTamperServer(t *testing.T, onS3 bool) *testServer {
	var b store.Backend
	var dir string
	if onS3 {
		b, dir = s3BackendIn(t)
	}
	ts := newTestServerWith(t, 4, func(c *store.Config) {
		store.SetFormatV2(c)
		c.TailCacheBytes = -1
		if b != nil {
			c.Backend = b
		}
	})
	if onS3 {
		ts.Dir = dir
	}
	return ts
}

func checkTamperedTail(t *testing.T, ts *testServer) {
	ctx := context.Background()
	const first, second = 100000, 1000 // two fragments; chunk 1 ends at 35 464 bytes
	const stored = first + second
	type alter func(t *testing.T, id string, before []byte) (undo func())
	alters := []struct {
		name  string
		apply alter
		// fillsPart: also try the PATCH that fills a part (the same
		// check as completing the chunk; slower).
		fillsPart bool
	}{
		{"a byte of the chunk's prefix in the first fragment", func(t *testing.T, id string, _ []byte) func() {
			return flipFragment(t, ts, id, 0, 70000)
		}, true},
		{"the tail's last byte, in the second fragment", func(t *testing.T, id string, _ []byte) func() {
			return flipFragment(t, ts, id, 1, second-1)
		}, true},
		{"the interim tag", func(t *testing.T, id string, _ []byte) func() {
			return setTailTags(t, ts, id, func(tags []byte) { tags[len(tags)-1] ^= 1 })
		}, true},
		{"the interim tag replaced by the full chunk's", func(t *testing.T, id string, _ []byte) func() {
			return setTailTags(t, ts, id, func(tags []byte) { copy(tags[crypt.ChunkTagSize:], tags) })
		}, false},
		{"the tail's tags swapped", func(t *testing.T, id string, _ []byte) func() {
			return setTailTags(t, ts, id, func(tags []byte) {
				t0 := bytes.Clone(tags[:crypt.ChunkTagSize])
				copy(tags, tags[crypt.ChunkTagSize:])
				copy(tags[crypt.ChunkTagSize:], t0)
			})
		}, false},
		{"the interim tag of the chunk's shorter, earlier version", func(t *testing.T, id string, before []byte) func() {
			return setTailTags(t, ts, id, func(tags []byte) { copy(tags[crypt.ChunkTagSize:], before[crypt.ChunkTagSize:]) })
		}, false},
		{"the tag state", func(t *testing.T, id string, _ []byte) func() {
			return editEnc(t, ts, id, "TagState", func(v any) any {
				m := map[string]any{"TagState": v}
				if err := v2tamper.FlipBase64(m, "TagState", 20); err != nil {
					t.Fatal(err)
				}
				return m["TagState"]
			})
		}, false},
	}
	nexts := []struct {
		name     string
		size     int64 // -1: deferred
		body     int64 // bytes the PATCH sends (0: it declares the length)
		declares bool
	}{
		{"a PATCH extending the chunk", 300000, 10, false},
		{"a PATCH completing the chunk", 300000, 40000, false},
		{"a PATCH filling a part", 5*mib + 100, 5*mib + 100 - stored, false},
		{"the PATCH declaring the length", -1, 0, true},
	}
	for _, a := range alters {
		for _, next := range nexts {
			if next.size > 300000 && !a.fillsPart {
				continue
			}
			what := a.name + ", then " + next.name
			total := next.size
			if total < 0 {
				total = stored
			}
			data := randomBytes(uint64(len(what)), int(total))
			u, err := ts.Client.Create(ctx, ts.URL, next.size, nil)
			if err != nil {
				t.Fatal(err)
			}
			id := tusclient.UploadID(u)
			if _, err := ts.Client.Patch(ctx, u, 0, bytes.NewReader(data[:first]), first); err != nil {
				t.Fatal(err)
			}
			earlier := readEnc(t, ts, id).TailTags
			if _, err := ts.Client.Patch(ctx, u, first, bytes.NewReader(data[first:stored]), second); err != nil {
				t.Fatal(err)
			}
			undo := a.apply(t, id, earlier)
			before := readEnc(t, ts, id)
			status := 0
			if next.declares {
				status = declareLength(t, ts, u, stored)
			} else if _, err := ts.Client.Patch(ctx, u, stored, bytes.NewReader(data[stored:stored+next.body]), next.body); err != nil {
				status = tusclient.Status(err)
			} else {
				status = http.StatusNoContent
			}
			if status != http.StatusInternalServerError {
				t.Errorf("%s: status %d, want 500", what, status)
			}
			after := readEnc(t, ts, id)
			if off, _, err := ts.Client.Head(ctx, u); err != nil || off != stored || !after.sameTail(before) {
				t.Errorf("%s: the refused request changed the upload: offset %d (%v), tail %+v, was %+v", what, off, err, after, before)
			}
			if m, _ := filepath.Glob(filepath.Join(ts.Dir, id+".tags.*")); len(m) != 0 {
				t.Errorf("%s: the refused request stored tag objects %q", what, m)
			}
			undo()
			if next.declares {
				if status := declareLength(t, ts, u, stored); status != http.StatusNoContent {
					t.Fatalf("%s, undone: declaring the length: status %d", what, status)
				}
			} else if err := ts.Client.Resume(ctx, u, data, nil); err != nil {
				t.Fatalf("%s, undone: resuming: %v", what, err)
			}
			ts.mustEqual(t, u, data)
		}
	}
}

// A full chunk of the tail altered (its fragment's CRC-32C recomputed)
// is not one a request re-seals, so the requests go on; but its tag is
// still that of the original bytes, so the finished upload refuses that
// chunk on every read (a clean 500 for a range starting in it), and
// Decrypt writes nothing. The server never seals altered bytes into a
// valid tag. On the disk backend and on S3 (versitygw).
func TestFormatV2TamperedTailFullChunk(t *testing.T) {
	for _, onS3 := range []bool{false, true} {
		t.Run(fmt.Sprintf("s3=%v", onS3), func(t *testing.T) { checkTamperedTailFullChunk(t, tailTamperServer(t, onS3)) })
	}
}

func checkTamperedTailFullChunk(t *testing.T, ts *testServer) {
	ctx := context.Background()
	data := randomBytes(81, 6*mib)
	u, err := ts.Client.Create(ctx, ts.URL, int64(len(data)), nil)
	if err != nil {
		t.Fatal(err)
	}
	id := tusclient.UploadID(u)
	if _, err := ts.Client.Patch(ctx, u, 0, bytes.NewReader(data[:100000]), 100000); err != nil {
		t.Fatal(err)
	}
	flipFragment(t, ts, id, 0, 5000) // chunk 0
	if err := ts.Client.Resume(ctx, u, data, []int{3 * mib}); err != nil {
		t.Fatal(err)
	}
	if status, body, _, _ := ts.Client.Get(ctx, u, "bytes=0-10"); status != http.StatusInternalServerError || bytes.HasPrefix(data, body) {
		t.Errorf("a range in the altered chunk: status %d", status)
	}
	if status, body, _, _ := ts.Client.Get(ctx, u, ""); status != http.StatusInternalServerError || bytes.HasPrefix(data, body) {
		t.Errorf("whole GET: status %d, %d bytes; want a clean 500", status, len(body))
	}
	from := crypt.ChunkSize
	if status, body, _, err := ts.Client.Get(ctx, u, fmt.Sprintf("bytes=%d-", from)); err != nil || !bytes.Equal(body, data[from:]) {
		t.Errorf("the chunks after it: status %d, %v", status, err)
	}
	var out bytes.Buffer
	if err := ts.Store.Decrypt(ctx, id, &out); err == nil || out.Len() != 0 {
		t.Errorf("Decrypt: %d bytes, %v", out.Len(), err)
	}
}

// tailEnc is what a refused request must leave as it was in .info (the
// tag state is sealed again under each new Seq).
type tailEnc struct {
	Committed, TailLen int64
	Tail               []struct {
		Off, Len int64
		Name     string
		CRC32C   uint32
	}
	TailTags []byte
}

func (a tailEnc) sameTail(b tailEnc) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func readEnc(t *testing.T, ts *testServer, id string) tailEnc {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(ts.Dir, id+".info"))
	if err != nil {
		t.Fatal(err)
	}
	var info struct{ Enc tailEnc }
	if err := json.Unmarshal(raw, &info); err != nil {
		t.Fatal(err)
	}
	return info.Enc
}

// editEnc replaces field key of the Enc object of upload id's .info by
// what edit makes of it and returns the edit that puts it back.
func editEnc(t *testing.T, ts *testServer, id, key string, edit func(v any) any) (undo func()) {
	t.Helper()
	path := filepath.Join(ts.Dir, id+".info")
	var saved any
	set := func(change func(v any) any) {
		t.Helper()
		err := v2tamper.EditInfo(path, func(_, enc map[string]any) error {
			enc[key] = change(enc[key])
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	set(func(v any) any { saved = v; return edit(v) })
	return func() { set(func(any) any { return saved }) }
}

// setTailTags edits the tags of the tail of upload id.
func setTailTags(t *testing.T, ts *testServer, id string, edit func(tags []byte)) (undo func()) {
	t.Helper()
	return editEnc(t, ts, id, "TailTags", func(v any) any {
		tags, err := base64.StdEncoding.DecodeString(v.(string))
		if err != nil {
			t.Fatal(err)
		}
		edit(tags)
		return base64.StdEncoding.EncodeToString(tags)
	})
}

// flipFragment flips a bit at off of tail fragment n of upload id and
// recomputes its CRC-32C in .info, so that only a chunk tag can tell.
// Doing it again undoes it.
func flipFragment(t *testing.T, ts *testServer, id string, n int, off int64) (undo func()) {
	t.Helper()
	flip := func() {
		t.Helper()
		err := v2tamper.EditInfo(filepath.Join(ts.Dir, id+".info"), func(_, enc map[string]any) error {
			f := enc["Tail"].([]any)[n].(map[string]any)
			path := filepath.Join(ts.Dir, id+".part."+f["Name"].(string))
			if err := v2tamper.FlipBit(path, off); err != nil {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			f["CRC32C"] = json.Number(fmt.Sprint(crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli))))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	flip()
	return flip
}
