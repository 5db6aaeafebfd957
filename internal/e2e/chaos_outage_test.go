package e2e

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tusvault/tusvault/internal/tusclient"
)

// The object store down mid-upload: versitygw is stopped once a part of
// the upload is stored, stays down for the outage (8 s in CI, 30 s under
// make chaos) and comes back on the same port and directory. The client
// behaves like a tus client: on an error it asks HEAD (again, every half
// second) until the server answers, then resumes from the offset.
//
// Every answer meanwhile must be a 503 ERR_STORAGE_UNAVAILABLE (HEAD answers
// carry none), never a 413; no request may hang beyond -network-timeout
// (the default 60 s); at least one request must fail (the S3 SDK's five
// attempts back off by at most 50+100+200+400 ms, far shorter than either
// outage); and the upload must end byte-exact with a valid tag.
func TestChaosS3Outage(t *testing.T) {
	outage := 8 * time.Second
	if chaosLong() {
		outage = 30 * time.Second
	}
	const (
		networkTimeout = 60 * time.Second // the default
		size           = 40 * MiB
	)
	ctx := testCtx(t, outage+180*time.Second)
	env := newS3Env(t)
	s := env.start(t, t.TempDir(), "-network-timeout", networkTimeout.String())
	c := newClient()
	up := createUpload(t, ctx, c, s, randomBytes(9801, size))
	up.rate = 6 << 20 // the whole upload would take about 7 s

	type answer struct {
		what   string
		at     time.Time
		took   time.Duration
		status int
		body   string
		err    error
	}
	answers := make(chan answer, 1000)
	record := func(what string, start time.Time, err error) {
		a := answer{what: what, at: start, took: time.Since(start), err: err}
		var se *tusclient.StatusError
		if errors.As(err, &se) {
			a.status, a.body = se.Status, strings.TrimSpace(se.Body)
		}
		answers <- a
	}
	done := make(chan error, 1)
	go func() {
		for i := 0; up.acked < up.size; i++ {
			if i > 200 {
				done <- errors.New("more than 200 PATCHes")
				return
			}
			start := time.Now()
			err := up.patch(ctx, c, s, up.size)
			record("PATCH", start, err)
			for err != nil {
				var v *violation
				if errors.As(err, &v) || ctx.Err() != nil {
					done <- err
					return
				}
				select {
				case <-ctx.Done():
				case <-time.After(500 * time.Millisecond):
				}
				start = time.Now()
				_, err = up.head(ctx, c, s)
				record("HEAD", start, err)
			}
		}
		done <- nil
	}()

	// Down once a part is stored and the client is mid-PATCH.
	waitCommitted(t, objPath(s.ObjDir, up.id, ".info"), partSize, 30*time.Second)
	down := time.Now()
	env.srv.Down()
	t.Logf("versitygw down for %v after %d bytes committed", outage, readInfo(t, s.ObjDir, up.id).Enc.Committed)
	time.Sleep(outage) // the outage itself
	if err := env.srv.Up(); err != nil {
		t.Fatalf("versitygw did not come back: %v", err)
	}
	back := time.Now()

	var err error
	select {
	case err = <-done:
	case <-time.After(networkTimeout + 60*time.Second):
		t.Fatal("the upload did not finish within 2 minutes of the store's return")
	}
	close(answers)
	failed := 0
	for a := range answers {
		desc := fmt.Sprintf("%s at +%v took %v", a.what, a.at.Sub(down).Round(time.Millisecond), a.took.Round(time.Millisecond))
		switch {
		case a.err == nil:
			t.Logf("%s: ok", desc)
			continue
		case a.status == http.StatusRequestEntityTooLarge:
			t.Errorf("%s: 413 %q during an outage of the store", desc, a.body)
		case a.status != 0 && (a.status != http.StatusServiceUnavailable || (a.what != "HEAD" && !strings.HasPrefix(a.body, "ERR_STORAGE_UNAVAILABLE: "))):
			t.Errorf("%s: %d %q, want 503 ERR_STORAGE_UNAVAILABLE", desc, a.status, a.body)
		case a.status == 0:
			t.Errorf("%s: no answer (%v), want 503 ERR_STORAGE_UNAVAILABLE", desc, a.err)
		default:
			failed++
			t.Logf("%s: %d %q", desc, a.status, a.body)
		}
		if a.took > networkTimeout {
			t.Errorf("%s: longer than -network-timeout %v", desc, networkTimeout)
		}
	}
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	t.Logf("%d requests answered 503; finished %v after the store came back", failed, time.Since(back).Round(time.Millisecond))
	if failed == 0 {
		t.Errorf("no request failed during a %v outage of the store", outage)
	}
	up.verify(t, ctx, c, s)
}
