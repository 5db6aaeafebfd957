package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/tusvault/tusvault/internal/tusclient"
	"github.com/tusvault/tusvault/store"
	"github.com/tusvault/tusvault/store/crypt"
)

// Whole and ranged GETs of a v2 upload serve its plaintext, every byte
// verified: a flipped bit in the data object or a tag object fails every
// GET whose chunks include it before any byte of that chunk reaches the
// client (a clean 500 when it is the first chunk, an aborted body
// otherwise), while ranges elsewhere still read; an altered Size in
// .info fails every GET before the status line.
func TestFormatV2Reads(t *testing.T) {
	ts := newTestServerWith(t, 4, store.SetFormatV2)
	ctx := context.Background()
	data := randomBytes(61, 11*mib+17)
	u := ts.upload(t, data, 100000, 1, 3*mib)
	id := tusclient.UploadID(u)
	size := int64(len(data))
	C := int64(crypt.ChunkSize)
	ranges := []struct{ from, to int64 }{ // inclusive
		{0, 0}, {0, size - 1}, {C - 1, C}, {5*mib - 3, 5*mib + 3}, {99999, 100001},
		{size - 1, size - 1}, {3 * C, 7*C + 5}, {10*mib + 5, size - 1},
	}
	get := func(from, to int64) (int, []byte, error) {
		status, body, _, err := ts.Client.Get(ctx, u, fmt.Sprintf("bytes=%d-%d", from, to))
		return status, body, err
	}
	ts.mustEqual(t, u, data)
	var out bytes.Buffer
	if err := ts.Store.Decrypt(ctx, id, &out); err != nil || !bytes.Equal(out.Bytes(), data) {
		t.Fatalf("Decrypt: %d bytes, %v", out.Len(), err)
	}
	for _, r := range ranges {
		status, body, err := get(r.from, r.to)
		if err != nil || status != http.StatusPartialContent || !bytes.Equal(body, data[r.from:r.to+1]) {
			t.Fatalf("range %d-%d: status %d, %d bytes, %v", r.from, r.to, status, len(body), err)
		}
	}

	// A flipped bit in chunk bad (of the data object, then of its tag).
	const bad = 81 // in part 2
	flip := func(path string, at int64) {
		t.Helper()
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		b[at] ^= 0x10
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, tamper := range []struct {
		what string
		path string
		at   int64
	}{
		{"data", filepath.Join(ts.Dir, id), bad*C + 100},
		{"tag", filepath.Join(ts.Dir, id+".tags.2"), (bad - 80) * crypt.ChunkTagSize},
	} {
		flip(tamper.path, tamper.at)
		for _, r := range append(ranges, struct{ from, to int64 }{bad * C, bad*C + 10}) {
			status, body, err := get(r.from, r.to)
			first, last := r.from/C, r.to/C
			switch {
			case first > bad || last < bad:
				if err != nil || !bytes.Equal(body, data[r.from:r.to+1]) {
					t.Fatalf("%s altered: range %d-%d, away from it: status %d, %v", tamper.what, r.from, r.to, status, err)
				}
			case first == bad:
				if status != http.StatusInternalServerError {
					t.Fatalf("%s altered: range %d-%d starting in it: status %d, want 500", tamper.what, r.from, r.to, status)
				}
			default:
				if err == nil || int64(len(body)) > bad*C-r.from || !bytes.Equal(body, data[r.from:r.from+int64(len(body))]) {
					t.Fatalf("%s altered: range %d-%d over it: %d bytes, %v; want an aborted body without the bad chunk", tamper.what, r.from, r.to, len(body), err)
				}
			}
		}
		if status, body, _, err := ts.Client.Get(ctx, u, ""); err == nil || int64(len(body)) > bad*C {
			t.Fatalf("%s altered: whole GET: status %d, %d bytes, %v", tamper.what, status, len(body), err)
		}
		out.Reset()
		if err := ts.Store.Decrypt(ctx, id, &out); !errors.Is(err, store.ErrTagMismatch) || out.Len() != 0 {
			t.Fatalf("%s altered: Decrypt wrote %d bytes, %v; want nothing and ErrTagMismatch", tamper.what, out.Len(), err)
		}
		flip(tamper.path, tamper.at)
	}
	ts.mustEqual(t, u, data)

	// Size cut short in .info: the object-level tag fails first.
	path := filepath.Join(ts.Dir, id+".info")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cut := bytes.Replace(raw, []byte(fmt.Sprintf(`"Size": %d,`, size)), []byte(fmt.Sprintf(`"Size": %d,`, 10*mib)), 1)
	cut = bytes.Replace(cut, []byte(fmt.Sprintf(`"Offset": %d,`, size)), []byte(fmt.Sprintf(`"Offset": %d,`, 10*mib)), 1)
	cut = bytes.Replace(cut, []byte(fmt.Sprintf(`"Committed": %d,`, size)), []byte(fmt.Sprintf(`"Committed": %d,`, 10*mib)), 1)
	if bytes.Equal(cut, raw) {
		t.Fatalf("could not cut Size in %s", raw)
	}
	if err := os.WriteFile(path, cut, 0o600); err != nil {
		t.Fatal(err)
	}
	if status, _, err := get(0, 10); status != http.StatusInternalServerError {
		t.Fatalf("Size cut short: range GET: status %d, %v, want 500", status, err)
	}
}

// On S3 (versitygw) as on disk, a v2 upload sent in PATCHes that end
// anywhere, or declared late after data ending on a part boundary, reads
// back whole, in ranges (tag objects read by ranged GETs) and through
// Decrypt.
func TestFormatV2OnS3(t *testing.T) {
	b := s3Backend(t)
	ts := newTestServerWith(t, 4, func(c *store.Config) {
		store.SetFormatV2(c)
		c.Backend = b
	})
	ctx := context.Background()
	data := randomBytes(62, 11*mib+17)
	u := ts.upload(t, data, 100000, 1, 3*mib)
	ts.mustEqual(t, u, data)
	for _, r := range []struct{ from, to int }{{0, 0}, {5*mib - 3, 5*mib + 3}, {99999, 100001}, {len(data) - 1, len(data) - 1}} {
		status, body, _, err := ts.Client.Get(ctx, u, fmt.Sprintf("bytes=%d-%d", r.from, r.to))
		if err != nil || status != http.StatusPartialContent || !bytes.Equal(body, data[r.from:r.to+1]) {
			t.Fatalf("range %d-%d: status %d, %d bytes, %v", r.from, r.to, status, len(body), err)
		}
	}
	var out bytes.Buffer
	if err := ts.Store.Decrypt(ctx, tusclient.UploadID(u), &out); err != nil || !bytes.Equal(out.Bytes(), data) {
		t.Fatalf("Decrypt: %d bytes, %v", out.Len(), err)
	}

	// A length declared without data after one whole part: completion
	// re-seals the last chunk from the assembled object.
	part := data[:5*mib]
	d, err := ts.Client.Create(ctx, ts.URL, -1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Client.Patch(ctx, d, 0, bytes.NewReader(part), int64(len(part))); err != nil {
		t.Fatal(err)
	}
	if status := declareLength(t, ts, d, int64(len(part))); status != http.StatusNoContent {
		t.Fatalf("the PATCH declaring the length: status %d", status)
	}
	ts.mustEqual(t, d, part)
	status, body, _, err := ts.Client.Get(ctx, d, fmt.Sprintf("bytes=%d-", len(part)-10))
	if err != nil || status != http.StatusPartialContent || !bytes.Equal(body, part[len(part)-10:]) {
		t.Fatalf("the last bytes: status %d, %v", status, err)
	}
}
