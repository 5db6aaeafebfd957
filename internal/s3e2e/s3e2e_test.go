package s3e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tusvault/tusvault/internal/tusclient"
)

// Uploads of many shapes round-trip through S3, and every part listed in
// the middle of an upload has exactly the part size.
func TestS3RoundTrip(t *testing.T) {
	r := newRig(t, rigOptions{slots: 4, partSize: 10 * mib})
	ctx := context.Background()
	for i, size := range []int{0, 1, 10 * mib, 10*mib + 1, 57 * mib} {
		data := randomBytes(uint64(i), size)
		u, err := r.Client.Create(ctx, r.URL, int64(size), map[string]string{"filename": "f.bin"})
		if err != nil {
			t.Fatal(err)
		}
		pieces := []int{1, 17, 5*mib + 3, 7*mib - 1, 13 * mib}
		off := 0
		for p := 0; off < size; p++ {
			n := min(pieces[min(p, len(pieces)-1)], size-off)
			if _, err := r.Client.Patch(ctx, u, int64(off), bytes.NewReader(data[off:off+n]), int64(n)); err != nil {
				t.Fatalf("size %d: PATCH at %d: %v", size, off, err)
			}
			off += n
			if off < size && size > 10*mib {
				id := tusclient.UploadID(u)
				parts, err := r.Backend.ListParts(ctx, id, r.multipartID(t, id))
				if err != nil {
					t.Fatal(err)
				}
				for _, p := range parts {
					if p.Size != 10*mib {
						t.Fatalf("size %d at offset %d: part %d has %d bytes, want exactly %d", size, off, p.Number, p.Size, 10*mib)
					}
				}
			}
		}
		r.mustEqual(t, u, data)
		if size > 100 {
			for _, rg := range [][2]int{{0, 0}, {10*mib - 5, 10*mib + 5}, {size - 100, size - 1}} {
				if rg[1] >= size {
					continue
				}
				status, got, _, err := r.Client.Get(ctx, u, fmt.Sprintf("bytes=%d-%d", rg[0], rg[1]))
				if err != nil || status != http.StatusPartialContent || !bytes.Equal(got, data[rg[0]:rg[1]+1]) {
					t.Fatalf("size %d: range %v: status %d, err %v, equal %v", size, rg, status, err, bytes.Equal(got, data[rg[0]:rg[1]+1]))
				}
			}
		}
	}
}

// With one slot and six uploads at once, S3 never sees two UploadParts in
// flight, and every upload finishes: parts wait, none is rejected.
func TestS3LimiterOneSlot(t *testing.T) {
	r := newRig(t, rigOptions{slots: 1, partSize: 5 * mib})
	datas := make([][]byte, 6)
	urls := make([]string, 6)
	errs := make([]error, 6)
	var wg sync.WaitGroup
	for i := range 6 {
		datas[i] = randomBytes(uint64(50+i), 11*mib)
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			urls[i], errs[i] = r.Client.Create(ctx, r.URL, int64(len(datas[i])), nil)
			if errs[i] == nil {
				errs[i] = r.Client.Upload(ctx, urls[i], datas[i], []int{4 * mib})
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("upload %d: %v", i, err)
		}
	}
	if got := r.Wire.maxParts.Load(); got != 1 {
		t.Fatalf("UploadParts in flight at once at the S3 side: %d, want 1", got)
	}
	if got := r.Wire.count("UploadPart"); got != 6*3 {
		t.Fatalf("UploadParts sent: %d, want 18", got)
	}
	for i := range 6 {
		r.mustEqual(t, urls[i], datas[i])
	}
}

// A client trickling bytes never holds a slot: with one slot, a fast
// upload finishes while the slow one is still sending.
func TestS3SlowClientHoldsNoSlot(t *testing.T) {
	r := newRig(t, rigOptions{slots: 1, partSize: 5 * mib})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	slowURL, err := r.Client.Create(ctx, r.URL, 20*mib, nil)
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	slowDone := make(chan error, 1)
	go func() {
		_, err := r.Client.Patch(ctx, slowURL, 0, pr, 20*mib)
		slowDone <- err
	}()
	stop := make(chan struct{})
	go func() {
		defer pw.CloseWithError(io.ErrUnexpectedEOF)
		chunk := make([]byte, 1024)
		for range 600 { // at most 60 s at 1 KiB per 100 ms
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			if _, err := pw.Write(chunk); err != nil {
				return
			}
		}
	}()

	time.Sleep(300 * time.Millisecond)
	data := randomBytes(77, 12*mib)
	fast, err := r.Client.Create(ctx, r.URL, int64(len(data)), nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := r.Client.Upload(ctx, fast, data, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-slowDone:
		t.Fatalf("the slow upload ended (%v) before the fast one finished", err)
	default:
	}
	t.Logf("fast 12 MiB upload finished in %s while the slow client trickled", time.Since(start).Round(time.Millisecond))
	r.mustEqual(t, fast, data)
	close(stop)
	<-slowDone
}

// Faults between the store and S3 (503 SlowDown, cut connections, delays)
// on UploadPart, PutObject and GetObject: with the SDK retrying once at
// most, some surface as errors to the client; the client resumes, and every
// upload ends byte-exact.
func TestS3FaultsThenResume(t *testing.T) {
	// Each call's fault is drawn from its operation's mix, in a fixed but
	// aperiodic order: a cycle could fail the same calls of every resume
	// (format v2's tag objects once made the PutObject cycle do that).
	pick := func(mix []fault, n int) fault {
		return mix[rand.New(rand.NewPCG(uint64(n), uint64(len(mix)))).IntN(len(mix))]
	}
	r := newRig(t, rigOptions{slots: 2, partSize: 5 * mib, maxAttempts: 2, faults: func(op string, n int) fault {
		switch op {
		case "UploadPart":
			return pick([]fault{pass, fail503, fail503, cut, pass, delay}, n)
		case "PutObject":
			return pick([]fault{pass, pass, cut, cut, pass, fail503, fail503, delay}, n)
		case "GetObject":
			return pick([]fault{pass, delay, cut, pass}, n)
		}
		return pass
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	surfaced := 0
	for i, size := range []int{3*mib + 1, 11 * mib, 16*mib + 7} {
		data := randomBytes(uint64(200+i), size)
		u, err := r.Client.Create(ctx, r.URL, int64(size), nil)
		for tries := 0; err != nil && tries < 10; tries++ {
			surfaced++
			u, err = r.Client.Create(ctx, r.URL, int64(size), nil)
		}
		if err != nil {
			t.Fatal(err)
		}
		err = r.Client.Upload(ctx, u, data, []int{2*mib + 3})
		for tries := 0; err != nil && tries < 40; tries++ {
			// 503 when the store failed on its side or the connection
			// broke (ERR_STORAGE_UNAVAILABLE), 500 for anything else.
			if s := tusclient.Status(err); s != http.StatusServiceUnavailable && s != http.StatusInternalServerError {
				t.Fatalf("upload %d failed with %v, want 503 or 500 for a storage fault", i, err)
			}
			var se *tusclient.StatusError
			if errors.As(err, &se) && (strings.Contains(se.Body, r.S3.Bucket) || strings.Contains(se.Body, "SlowDown") || strings.Contains(se.Body, tusclient.UploadID(u)+".")) {
				t.Fatalf("error body names storage details: %q", se.Body)
			}
			surfaced++
			err = r.Client.Resume(ctx, u, data, []int{2*mib + 3})
		}
		if err != nil {
			t.Fatalf("upload %d did not finish after retries: %v", i, err)
		}
		var got []byte
		for tries := 0; tries < 10; tries++ {
			var status int
			status, got, _, err = r.Client.Get(ctx, u, "")
			if err == nil && status == http.StatusOK {
				break
			}
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("upload %d: download differs (%d of %d bytes, last error %v)", i, len(got), len(data), err)
		}
	}
	if surfaced == 0 {
		t.Fatal("no fault reached the client: the test did not exercise resumption")
	}
	t.Logf("%d faults surfaced to the client; S3 saw %d UploadParts, %d PutObjects, %d GetObjects",
		surfaced, r.Wire.count("UploadPart"), r.Wire.count("PutObject"), r.Wire.count("GetObject"))
}
