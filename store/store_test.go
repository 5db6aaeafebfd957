package store_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tusvault/tusvault/internal/tusclient"
	"github.com/tusvault/tusvault/store"
)

func TestRoundTripPieces(t *testing.T) {
	ts := newTestServer(t, 4)
	for i, size := range []int{0, 1, 5*mib - 1, 5 * mib, 11*mib + 7} {
		data := randomBytes(uint64(i), size)
		u := ts.upload(t, data, 1, 16, 5*mib+3, 64<<10)
		ts.mustEqual(t, u, data)
		var buf bytes.Buffer
		if err := ts.Store.Decrypt(context.Background(), tusclient.UploadID(u), &buf); err != nil {
			t.Fatalf("size %d: decrypt: %v", size, err)
		}
		if !bytes.Equal(buf.Bytes(), data) {
			t.Fatalf("size %d: decrypt differs", size)
		}
	}
}

// A part upload that fails answers 500 without backend details; the
// upload then resumes from the last confirmed part and ends byte-exact.
func TestFailedPartResumes(t *testing.T) {
	ts := newTestServer(t, 4)
	ctx := context.Background()
	data := randomBytes(7, 17*mib)
	u, err := ts.Client.Create(ctx, ts.URL, int64(len(data)), nil)
	if err != nil {
		t.Fatal(err)
	}
	secret := "bucket-secret-name RequestID ABCDEF123"
	ts.Backend.setFailPart(func(num int32) error {
		if num == 3 {
			return errors.New(secret)
		}
		return nil
	})
	_, err = ts.Client.Patch(ctx, u, 0, bytes.NewReader(data), int64(len(data)))
	var se *tusclient.StatusError
	if !errors.As(err, &se) || se.Status != http.StatusInternalServerError {
		t.Fatalf("PATCH with failing part: err %v, want status 500", err)
	}
	if strings.Contains(se.Body, "secret") || strings.Contains(se.Body, "RequestID") {
		t.Fatalf("error body leaks backend detail: %q", se.Body)
	}
	off, _, err := ts.Client.Head(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	if off != 10*mib {
		t.Fatalf("offset after failed part 3: %d, want %d (parts 1 and 2 confirmed)", off, 10*mib)
	}
	ts.Backend.setFailPart(nil)
	if err := ts.Client.Resume(ctx, u, data, nil); err != nil {
		t.Fatal(err)
	}
	ts.mustEqual(t, u, data)
}

// With one slot, concurrent uploads never have two parts in flight, and
// all of them finish.
func TestLimiterOneSlot(t *testing.T) {
	ts := newTestServer(t, 1)
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	datas := make([][]byte, 6)
	urls := make([]string, 6)
	for i := range 6 {
		datas[i] = randomBytes(uint64(100+i), 11*mib)
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			u, err := ts.Client.Create(ctx, ts.URL, int64(len(datas[i])), nil)
			if err == nil {
				err = ts.Client.Upload(ctx, u, datas[i], []int{3 * mib})
			}
			urls[i] = u
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := ts.Backend.maxSeen.Load(); got != 1 {
		t.Fatalf("max part uploads in flight: %d, want 1", got)
	}
	if got := ts.Backend.parts.Load(); got != 6*3 {
		t.Fatalf("parts uploaded: %d, want 18", got)
	}
	for i := range 6 {
		ts.mustEqual(t, urls[i], datas[i])
	}
}

// A flipped ciphertext byte aborts a full download before its end and
// makes Decrypt refuse; ranged reads still decrypt.
func TestTamperDetected(t *testing.T) {
	ts := newTestServer(t, 4)
	data := randomBytes(3, 300<<10)
	u := ts.upload(t, data)
	id := tusclient.UploadID(u)
	path := filepath.Join(ts.Dir, id)
	obj, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	obj[len(obj)/2] ^= 1
	if err := os.WriteFile(path, obj, 0o600); err != nil {
		t.Fatal(err)
	}
	status, got, _, err := ts.Client.Get(context.Background(), u, "")
	if err == nil {
		t.Fatalf("GET of tampered object ended cleanly (status %d, %d bytes)", status, len(got))
	}
	if len(got) >= len(data) {
		t.Fatalf("GET of tampered object delivered all %d bytes", len(got))
	}
	var buf bytes.Buffer
	if err := ts.Store.Decrypt(context.Background(), id, &buf); !errors.Is(err, store.ErrTagMismatch) {
		t.Fatalf("Decrypt of tampered object: %v, want ErrTagMismatch", err)
	}
	if buf.Len() != 0 {
		t.Fatalf("Decrypt wrote %d bytes of a tampered object", buf.Len())
	}
	status, got, _, err = ts.Client.Get(context.Background(), u, "bytes=0-99")
	if err != nil || status != http.StatusPartialContent || !bytes.Equal(got, data[:100]) {
		t.Fatalf("ranged GET: status %d, err %v", status, err)
	}
}

// Upload-Defer-Length: the length arrives with the last PATCH.
func TestDeferredLength(t *testing.T) {
	ts := newTestServer(t, 4)
	ctx := context.Background()
	data := randomBytes(9, 7*mib+11)
	u, err := ts.Client.Create(ctx, ts.URL, -1, nil)
	if err != nil {
		t.Fatal(err)
	}
	first := 6*mib + 5
	if _, err := ts.Client.Patch(ctx, u, 0, bytes.NewReader(data[:first]), -1); err != nil {
		t.Fatal(err)
	}
	req, err := ts.Client.NewRequest(ctx, http.MethodPatch, u, bytes.NewReader(data[first:]))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", tusclient.ContentTypeOffset)
	req.Header.Set("Upload-Offset", fmt.Sprint(first))
	req.Header.Set("Upload-Length", fmt.Sprint(len(data)))
	req.ContentLength = int64(len(data) - first)
	resp, err := ts.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("final PATCH: status %d", resp.StatusCode)
	}
	ts.mustEqual(t, u, data)
}

// Rotation then rewrap moves every .info to the new kid; data still reads.
func TestRewrap(t *testing.T) {
	ts := newTestServer(t, 4)
	data := randomBytes(11, 1000)
	u := ts.upload(t, data)
	old := ts.Keyring.Primary
	kid, err := ts.Keyring.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	n, err := ts.Store.Rewrap(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("Rewrap: n=%d err=%v, want 1", n, err)
	}
	raw, err := os.ReadFile(filepath.Join(ts.Dir, tusclient.UploadID(u)+".info"))
	if err != nil {
		t.Fatal(err)
	}
	var info struct{ Enc struct{ Kid string } }
	if err := json.Unmarshal(raw, &info); err != nil {
		t.Fatal(err)
	}
	if info.Enc.Kid != kid || kid == old {
		t.Fatalf("kid after rewrap: %q, want new primary %q", info.Enc.Kid, kid)
	}
	delete(ts.Keyring.Keys, old)
	ts.mustEqual(t, u, data)
}

// An .info copied under another upload's name is refused: the id is bound
// into every AAD and the tag, so it must match the key it was read from.
func TestCopiedInfoRefused(t *testing.T) {
	ts := newTestServer(t, 4)
	data := randomBytes(12, 100)
	u := ts.upload(t, data)
	id := tusclient.UploadID(u)
	for _, suffix := range []string{"", ".info"} {
		raw, err := os.ReadFile(filepath.Join(ts.Dir, id+suffix))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(ts.Dir, "copied"+suffix), raw, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := ts.Store.Decrypt(context.Background(), "copied", io.Discard); err == nil {
		t.Fatal("Decrypt of a copied upload succeeded")
	}
	copied := strings.TrimSuffix(u, id) + "copied"
	if _, _, err := ts.Client.Head(context.Background(), copied); tusclient.Status(err) != http.StatusInternalServerError {
		t.Fatalf("HEAD of a copied upload: %v, want 500", err)
	}
}
