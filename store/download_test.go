package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tusvault/tusvault/internal/tusclient"
	"github.com/tusvault/tusvault/store"
)

// getRaw sends a GET with the given headers and reads the whole body.
func getRaw(t *testing.T, u string, hdr map[string]string) (status int, body []byte, header http.Header, err error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Tus-Resumable", "1.0.0")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(resp.Body)
	return resp.StatusCode, body, resp.Header, err
}

// wholeForms are GETs whose answer is the whole object.
func wholeForms(size int) []map[string]string {
	return []map[string]string{
		nil,
		{"Range": "bytes=0-"},
		{"Range": fmt.Sprintf("bytes=0-%d", size-1)},
		{"Range": fmt.Sprintf("bytes=0-%d", 10*size)},
		{"Range": fmt.Sprintf("bytes=-%d", size)},
		{"Range": fmt.Sprintf("bytes=-%d", size+1000)},
		{"Range": "bytes=10-20", "If-Range": `"some-etag"`},
		{"Range": "bytes=10-20", "If-Range": "Tue, 01 Dec 2026 00:00:00 GMT"},
		{"Range": "bytes=0-99,50-199"},
		{"Range": "bytes=0-99,100-"},
		{"Range": "bytes=5-1"},
		{"Range": "items=0-9"},
	}
}

// Every GET whose answer is the whole object is verified: with the object
// tampered, none of them ends cleanly or delivers every byte; a range of
// part of it still decrypts (unauthenticated, as documented).
func TestWholeDownloadsAreVerified(t *testing.T) {
	ts := newTestServer(t, 4)
	data := randomBytes(3, 300<<10)
	u := ts.upload(t, data)
	for _, hdr := range wholeForms(len(data)) {
		status, got, h, err := getRaw(t, u, hdr)
		if err != nil || !bytes.Equal(got, data) || (status != http.StatusOK && status != http.StatusPartialContent) {
			t.Fatalf("GET %v of the intact object: %d, %d bytes, %v", hdr, status, len(got), err)
		}
		if status == http.StatusPartialContent && h.Get("Content-Range") != fmt.Sprintf("bytes 0-%d/%d", len(data)-1, len(data)) {
			t.Fatalf("GET %v: Content-Range %q", hdr, h.Get("Content-Range"))
		}
	}

	path := filepath.Join(ts.Dir, tusclient.UploadID(u))
	obj, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	obj[len(obj)-1] ^= 1 // the very last byte: only the tag can tell
	if err := os.WriteFile(path, obj, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, hdr := range wholeForms(len(data)) {
		status, got, _, err := getRaw(t, u, hdr)
		if err == nil {
			t.Errorf("GET %v of the tampered object ended cleanly: status %d, %d bytes", hdr, status, len(got))
		}
		if len(got) >= len(data) {
			t.Errorf("GET %v of the tampered object delivered all %d bytes", hdr, len(got))
		}
	}
	if n, want := ts.Store.Stats().TagFailures.Load(), int64(len(wholeForms(len(data)))); n != want {
		t.Errorf("%d tag failures counted, want %d", n, want)
	}
	status, got, _, err := getRaw(t, u, map[string]string{"Range": "bytes=100-199"})
	if err != nil || status != http.StatusPartialContent || !bytes.Equal(got, data[100:200]) {
		t.Fatalf("ranged GET of part of the tampered object: %d, %v", status, err)
	}
}

// Ranges of part of an object, and ranges it cannot satisfy.
func TestRanges(t *testing.T) {
	ts := newTestServer(t, 4)
	data := randomBytes(4, 100000)
	u := ts.upload(t, data)
	n := len(data)
	for _, tc := range []struct {
		rng        string
		status     int
		start, end int
	}{
		{"bytes=0-0", 206, 0, 1},
		{"bytes=1-", 206, 1, n},
		{"bytes=99990-99999", 206, 99990, n},
		{"bytes=99990-200000", 206, 99990, n},
		{"bytes=-10", 206, n - 10, n},
		{"bytes=50000-50015", 206, 50000, 50016},
		{fmt.Sprintf("bytes=%d-", n), 416, 0, 0},
		{"bytes=-0", 416, 0, 0},
	} {
		status, got, h, err := getRaw(t, u, map[string]string{"Range": tc.rng})
		if err != nil || status != tc.status {
			t.Fatalf("Range %s: %d, %v; want %d", tc.rng, status, err, tc.status)
		}
		if status == 416 {
			if h.Get("Content-Range") != fmt.Sprintf("bytes */%d", n) || !strings.HasPrefix(string(got), "ERR_RANGE_NOT_SATISFIABLE") {
				t.Fatalf("Range %s: Content-Range %q, body %q", tc.rng, h.Get("Content-Range"), got)
			}
			continue
		}
		if !bytes.Equal(got, data[tc.start:tc.end]) || h.Get("Content-Range") != fmt.Sprintf("bytes %d-%d/%d", tc.start, tc.end-1, n) {
			t.Fatalf("Range %s: %d bytes, Content-Range %q", tc.rng, len(got), h.Get("Content-Range"))
		}
	}
}

// swapBackend returns other instead of the object's content from the
// second Get of key on.
type swapBackend struct {
	*faultBackend
	key   string
	other []byte
	gets  atomic.Int32
}

func (s *swapBackend) Get(ctx context.Context, key string, off, length int64) (io.ReadCloser, error) {
	if key == s.key && s.gets.Add(1) > 1 {
		return io.NopCloser(bytes.NewReader(s.other[off:])), nil
	}
	return s.faultBackend.Get(ctx, key, off, length)
}

// Decrypt emits nothing that the tag has not verified: the object changing
// between two reads cannot slip altered plaintext through, and a tampered
// object yields no output at all.
func TestDecryptVerifiesWhatItEmits(t *testing.T) {
	ts := newTestServer(t, 4)
	ctx := context.Background()
	data := randomBytes(5, 200<<10)
	u := ts.upload(t, data)
	id := tusclient.UploadID(u)
	obj, err := os.ReadFile(filepath.Join(ts.Dir, id))
	if err != nil {
		t.Fatal(err)
	}
	tampered := bytes.Clone(obj)
	tampered[1000] ^= 0xff

	open := func(b store.Backend) *store.Store {
		st, err := store.New(store.Config{Backend: b, Keyring: ts.Keyring, SpoolDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	// Intact at the first read, altered afterwards.
	var buf bytes.Buffer
	err = open(&swapBackend{faultBackend: ts.Backend, key: id, other: tampered}).Decrypt(ctx, id, &buf)
	if err != nil || !bytes.Equal(buf.Bytes(), data) {
		t.Fatalf("Decrypt with the object altered after the first read: %d bytes, %v; want the verified original", buf.Len(), err)
	}
	// Altered from the first read on.
	buf.Reset()
	sb := &swapBackend{faultBackend: ts.Backend, key: id, other: tampered}
	sb.gets.Store(1)
	err = open(sb).Decrypt(ctx, id, &buf)
	if !errors.Is(err, store.ErrTagMismatch) || buf.Len() != 0 {
		t.Fatalf("Decrypt of an altered object: %d bytes, %v; want none and ErrTagMismatch", buf.Len(), err)
	}
}
