package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/tusvault/tusvault/internal/s3server"
	"github.com/tusvault/tusvault/internal/tusclient"
	"github.com/tusvault/tusvault/internal/v2tamper"
	"github.com/tusvault/tusvault/store"
	"github.com/tusvault/tusvault/store/crypt"
	"github.com/tusvault/tusvault/store/s3"
)

// v2TamperPieces are the PATCH sizes of the uploads that
// TestFormatV2Tampering alters: five segments, the second one ending
// inside a chunk of the first part, parts of 5 MiB.
var v2TamperPieces = []int{100000, 3 * mib, 3*mib + 12345, 1, 5 * mib}

// Every alteration of a finished v2 upload that v2tamper lists (a bit of
// the data object, a tag object or .info; swapped chunks; a chunk of
// another upload; objects cut short or missing) is detected, over HTTP
// and by Decrypt, before any byte of a chunk it breaks goes out: a whole
// GET and a ranged GET never end cleanly when they cover such a chunk,
// fail with a clean 5xx when they start in one (or a 416 past an altered
// Size), and serve only correct bytes of the chunks before it, if any:
// the abort may come before the status line, which the server sends with
// the first bytes; Decrypt fails and writes nothing.
// Ranges that touch no broken chunk still read.
func TestFormatV2Tampering(t *testing.T) {
	ts := newTestServerWith(t, 4, store.SetFormatV2)
	checkTampering(t, ts, ts.Dir)
}

// On S3 (versitygw, whose posix backend keeps the objects as files), as
// on disk: ranges past the end of a truncated object and missing tag
// objects are S3 errors there, not short reads.
func TestFormatV2TamperingOnS3(t *testing.T) {
	b, dir := s3BackendIn(t)
	ts := newTestServerWith(t, 4, func(c *store.Config) {
		store.SetFormatV2(c)
		c.Backend = b
	})
	checkTampering(t, ts, dir)
}

// checkTampering uploads two uploads to ts, whose objects are the files
// of dir, and checks every alteration of v2tamper on the first.
func checkTampering(t *testing.T, ts *testServer, dir string) {
	ctx := context.Background()
	data := randomBytes(71, 11*mib+17)
	u := ts.upload(t, data, v2TamperPieces...)
	o := ts.upload(t, randomBytes(72, len(data)), v2TamperPieces...)
	id := tusclient.UploadID(u)
	up, cases, snap, err := v2tamper.Prepare(dir, id, tusclient.UploadID(o))
	if err != nil {
		t.Fatal(err)
	}
	for n, c := range cases {
		if err := c.Apply(); err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		checkTamperedGets(t, ts, u, data, c, uint64(n))
		var out bytes.Buffer
		err := ts.Store.Decrypt(ctx, id, &out)
		if err == nil || out.Len() != 0 || errors.Is(err, store.ErrTagMismatch) == c.Missing {
			t.Errorf("%s: Decrypt wrote %d bytes, %v; want nothing and an error (a tag mismatch unless an object is missing)", c.Name, out.Len(), err)
		}
		if err := up.Restore(snap); err != nil {
			t.Fatal(err)
		}
	}
	// Undone, the upload reads again: the failures were the alterations'.
	ts.mustEqual(t, u, data)
	var out bytes.Buffer
	if err := ts.Store.Decrypt(ctx, id, &out); err != nil || !bytes.Equal(out.Bytes(), data) {
		t.Fatalf("Decrypt after the restore: %d bytes, %v", out.Len(), err)
	}
}

// checkTamperedGets checks whole and ranged GETs of upload u, whose
// plaintext is data, altered by c: fixed ranges, ranges at the edges of
// its broken chunks and a few random ones (seeded by seed).
func checkTamperedGets(t *testing.T, ts *testServer, u string, data []byte, c v2tamper.Case, seed uint64) {
	t.Helper()
	size := int64(len(data))
	C := int64(crypt.ChunkSize)
	ranges := [][2]int64{ // inclusive; {-1, -1}: no Range header
		{-1, -1}, {0, size - 1}, {0, 0}, {C - 1, C}, {5*mib - 3, 5*mib + 3}, {99999, 100001},
		{size - 1, size - 1}, {10*mib + 5, size - 1}, {3 * C, 7*C + 5},
	}
	if len(c.Bad) > 0 {
		for _, b := range []int64{c.Bad[0], c.Bad[len(c.Bad)-1]} {
			at := b * C
			ranges = append(ranges, [2]int64{at, at + 10}, [2]int64{max(at-5, 0), at + 5},
				[2]int64{max(at-C+100, 0), at + 2*C}, [2]int64{at + C - 1, at + C})
		}
	}
	r := rand.New(rand.NewPCG(seed, 13))
	for range 4 {
		from := r.Int64N(size)
		ranges = append(ranges, [2]int64{from, from + r.Int64N(3*C)})
	}
	for _, rg := range ranges {
		from, to := rg[0], min(rg[1], size-1)
		if from >= size {
			continue
		}
		header, want := "", http.StatusOK
		if from >= 0 {
			header, want = fmt.Sprintf("bytes=%d-%d", from, to), http.StatusPartialContent
		} else {
			from, to = 0, size-1
		}
		status, body, _, err := ts.Client.Get(context.Background(), u, header)
		what := fmt.Sprintf("%s: GET %q", c.Name, header)
		first, last := from/C, to/C
		bad, broken := c.FirstBad(first, last)
		switch {
		case !broken:
			if status != want || err != nil || !bytes.Equal(body, data[from:to+1]) {
				t.Errorf("%s, away from the damage: status %d, %d bytes, %v", what, status, len(body), err)
			}
		case bad == first:
			if (status < 500 && !(c.All && status == http.StatusRequestedRangeNotSatisfiable)) || bytes.HasPrefix(data[from:], body) {
				t.Errorf("%s, starting in a broken chunk: status %d, %d bytes; want a clean 5xx", what, status, len(body))
			}
		default:
			if (status != want && status != 0) || err == nil || from+int64(len(body)) > bad*C || !bytes.Equal(body, data[from:from+int64(len(body))]) {
				t.Errorf("%s, over broken chunk %d: status %d, %d bytes, %v; want an aborted body of correct bytes before it", what, bad, status, len(body), err)
			}
		}
	}
}

// s3Backend is an S3 backend over a fresh bucket of versitygw.
func s3Backend(t *testing.T) store.Backend {
	t.Helper()
	b, _ := s3BackendIn(t)
	return b
}

// s3BackendIn is s3Backend, and the directory where versitygw keeps the
// bucket's objects: key k is the file <dir>/k.
func s3BackendIn(t *testing.T) (store.Backend, string) {
	t.Helper()
	srv := s3server.Start(t)
	bucket := srv.NewBucket(t)
	b, err := s3.New(t.Context(), s3.Config{
		Bucket: bucket, Endpoint: srv.Endpoint, Region: srv.Region,
		Credentials: srv.Credentials(), MaxBackoff: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b, filepath.Join(srv.Dir, bucket)
}
