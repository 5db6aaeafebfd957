package soak

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tusvault/tusvault/internal/tusclient"
)

// Bounds of one file's requests.
const (
	maxRetries     = 5               // per file: requests repeated after a transport error, a 503 or a 423
	requestTimeout = 2 * time.Minute // a request without a body to send, or the base of one with
	minRate        = 1 << 20         // bytes per second a PATCH or GET body is given at least
	firstBackoff   = 500 * time.Millisecond
	maxBackoff     = 8 * time.Second
)

// Target is the server a soak runs against, with its tokens.
type Target struct {
	Endpoint string            // the upload creation URL
	Home     map[string]string // account → home token
	Guest    map[string]string // Share.String() → guest token
}

// uploader is the token a file is uploaded (and terminated, and
// deleted) with: its share's guest token, or its account's home token.
func (t Target) uploader(f *File) string {
	if f.Share != nil {
		return t.Guest[f.Share.String()]
	}
	return t.Home[f.Account]
}

// reader is the token a file is downloaded with: its account's home
// token (the share owner's for a guest upload; guests cannot GET).
func (t Target) reader(f *File) string { return t.Home[f.Account] }

// Outcome is what happened to one file.
type Outcome struct {
	URL     string
	Sent    int64 // bytes of PATCH bodies read by the transport, those sent again after a cut included
	Patches int
	Cuts    int // connections closed mid-PATCH by the client
	Resumes int // HEADs after a cut or a retried PATCH, and the PATCHes from the offset they gave
	Retries int // requests repeated after a transport error, a 503 or a 423
	// Conflicts counts the 409s of a PATCH after a cut or a transport
	// error: the request that broke reached the server after the HEAD
	// that followed it, and stored more. The client asks again (HEAD) and
	// resumes; a 409 with no request that broke before it is a failure.
	Conflicts int
	// Interrupted counts the PATCHes that a request which broke before
	// them interrupted (400 ERR_UPLOAD_INTERRUPTED), each then resumed;
	// one with no request that broke before it is a failure.
	Interrupted int
	RetryErrors []string
	Verified    bool // downloaded byte-exact
	Terminated  bool // deleted before download, and gone
	Deleted     bool // deleted once verified, and gone
	Sum         [32]byte
}

// client sends files as one of the soak's clients: its own connections.
type client struct {
	http   *http.Client
	target Target
	chunk  [2]int64 // PATCH sizes, Mix.ChunkMin and ChunkMax
	// backoff is the wait before retry n (from 0); nil: 0.5 s doubling
	// up to 8 s.
	backoff func(n int) time.Duration
}

// as returns a tus client sending tok.
func (c *client) as(tok string) *tusclient.Client {
	return &tusclient.Client{HTTP: c.http, Header: http.Header{"Authorization": {"Bearer " + tok}}}
}

// upload creates f, sends it as the plan says (cuts, resumes, the
// termination), checks every offset the server reports, downloads it
// with its reader's token and compares it with what was sent, then
// deletes it unless f.Keep. Any unexpected answer is an error, as is a
// request still failing after maxRetries retries.
func (c *client) upload(ctx context.Context, f *File) (*Outcome, error) {
	o := &Outcome{}
	up := c.as(c.target.uploader(f))
	size := f.Data.Size
	meta := map[string]string{"filename": f.Name, "filetype": f.Type}
	err := c.retry(ctx, o, "POST", requestTimeout, func(ctx context.Context) (err error) {
		o.URL, err = up.Create(ctx, c.target.Endpoint, size, meta)
		return err
	})
	if err != nil {
		return o, err
	}

	rng := rand.New(rand.NewPCG(f.PatchSeed, 1))
	cuts := f.Cuts
	ph := &prefixHash{h: sha256.New()}
	var (
		off    int64 // where the next PATCH starts
		acked  int64 // the highest offset the server confirmed (a 204 or a HEAD): never to go back
		sentTo int64 // the furthest byte handed to the transport: the offset never to pass
		// late counts the requests that broke on the client's side (a
		// cut, a transport error) and may still reach the server after
		// the HEAD that follows them: each may make one PATCH after it a
		// 409, until a PATCH succeeds.
		late int
	)
	resume := func(why string) error {
		s, err := c.offset(ctx, o, up)
		switch {
		case err != nil:
			return fmt.Errorf("HEAD after %s: %w", why, err)
		case s < acked:
			return fmt.Errorf("HEAD after %s: offset %d, below the %d the server confirmed before (bytes lost)", why, s, acked)
		case s > sentTo:
			return fmt.Errorf("HEAD after %s: offset %d, past the %d bytes sent", why, s, sentTo)
		}
		o.Resumes++
		off, acked = s, s
		return nil
	}
	steps := int(size/max(c.chunk[0], 1)) + 2*len(f.Cuts) + 2*maxRetries + 4
	for step := 0; ; step++ {
		if f.Term == TerminatesMid && off >= f.TerminateAt {
			return o, c.terminate(ctx, o, f)
		}
		if off == size {
			break
		}
		if step >= steps {
			return o, fmt.Errorf("not complete after %d PATCHes: offset %d of %d", step, off, size)
		}
		n := size - off
		if !f.Whole {
			n = min(n, c.patchSize(rng))
		}
		if f.Term == TerminatesMid {
			n = min(n, f.TerminateAt-off)
		}
		for len(cuts) > 0 && cuts[0] < off {
			cuts = cuts[1:] // behind a resume point
		}
		body := &posReader{r: io.LimitReader(f.Data.Reader(off), n), off: off, ph: ph}
		var r io.Reader = body
		var cr *cutReader
		if len(cuts) > 0 && cuts[0] < off+n {
			// The cut stays planned until it fires: a request refused
			// before its body reaches it (a 409 after an earlier cut)
			// leaves it for the next.
			cr = &cutReader{r: body, left: cuts[0] - off}
			r = cr
		}
		pctx, cancel := context.WithTimeout(ctx, timeoutFor(n))
		got, err := up.Patch(pctx, o.URL, off, r, n)
		cancel()
		o.Patches++
		o.Sent += body.read
		sentTo = max(sentTo, off+body.read)
		if body.err != nil {
			return o, body.err
		}
		switch {
		case cr != nil && cr.fired && err == nil:
			return o, fmt.Errorf("PATCH at %d cut after %d of %d bytes: answered as a success (offset %d)", off, cr.at, n, got)
		case cr != nil && cr.fired:
			// The server keeps what it received: resume from its offset.
			cuts = cuts[1:]
			o.Cuts++
			late++
			if err := resume(fmt.Sprintf("a cut at %d", off+cr.at)); err != nil {
				return o, err
			}
		case late > 0 && (tusclient.Status(err) == http.StatusConflict || interrupted(err)):
			// A request that broke reached the server after the HEAD
			// (a 409), or during this PATCH, asking for its lock: tusd
			// stops the holder, keeping what it received, and answers it
			// 400 (the late one then meets a 409 that nobody reads). Ask
			// again.
			if interrupted(err) {
				o.Interrupted++
			} else {
				o.Conflicts++
			}
			late--
			if err := resume(fmt.Sprintf("a %d", tusclient.Status(err))); err != nil {
				return o, err
			}
		case err != nil:
			if !retryable(err) || o.Retries >= maxRetries || ctx.Err() != nil {
				return o, fmt.Errorf("after %d retries: %w", o.Retries, err)
			}
			if err := c.wait(ctx, o, err); err != nil {
				return o, err
			}
			if tusclient.Status(err) == 0 {
				late++ // a transport error: it may still arrive
			}
			if err := resume("a failed PATCH"); err != nil {
				return o, err
			}
		case got != off+n:
			return o, fmt.Errorf("PATCH at %d of %d bytes: server reports offset %d, want %d", off, n, got, off+n)
		default:
			off, acked, late = got, got, 0
		}
	}
	if ph.next != size {
		return o, fmt.Errorf("soak: hashed %d of %d bytes", ph.next, size)
	}
	copy(o.Sum[:], ph.h.Sum(nil))
	// The server agrees the upload is complete.
	var length int64
	err = c.retry(ctx, o, "HEAD", requestTimeout, func(ctx context.Context) (err error) {
		off, length, err = up.Head(ctx, o.URL)
		return err
	})
	if err != nil {
		return o, err
	}
	if off != size || length != size {
		return o, fmt.Errorf("complete upload: HEAD gives offset %d, length %d; want %d", off, length, size)
	}
	if f.Term == TerminatesDone {
		return o, c.terminate(ctx, o, f)
	}
	if err := c.verify(ctx, o, f); err != nil {
		return o, err
	}
	o.Verified = true
	if f.Keep {
		return o, nil
	}
	if err := c.remove(ctx, o, f); err != nil {
		return o, err
	}
	o.Deleted = true
	return o, nil
}

// patchSize draws a PATCH size log-uniformly from the chunk range.
func (c *client) patchSize(rng *rand.Rand) int64 {
	lo, hi := math.Log(float64(c.chunk[0])), math.Log(float64(c.chunk[1]))
	return min(max(int64(math.Exp(lo+rng.Float64()*(hi-lo))), c.chunk[0]), c.chunk[1])
}

// timeoutFor bounds a request carrying n bytes of body.
func timeoutFor(n int64) time.Duration {
	return requestTimeout + time.Duration(n/minRate)*time.Second
}

// offset asks the upload's offset (HEAD, retried).
func (c *client) offset(ctx context.Context, o *Outcome, tc *tusclient.Client) (int64, error) {
	var off int64
	err := c.retry(ctx, o, "HEAD", requestTimeout, func(ctx context.Context) (err error) {
		off, _, err = tc.Head(ctx, o.URL)
		return err
	})
	return off, err
}

// terminate deletes f's upload before it was downloaded and checks that
// it is gone.
func (c *client) terminate(ctx context.Context, o *Outcome, f *File) error {
	if err := c.remove(ctx, o, f); err != nil {
		return err
	}
	o.Terminated = true
	return nil
}

// remove deletes f's upload with its uploader's token and checks that it
// is gone: HEAD (the uploader's token) and GET (the reader's) are 404.
func (c *client) remove(ctx context.Context, o *Outcome, f *File) error {
	up := c.as(c.target.uploader(f))
	tries := 0
	err := c.retry(ctx, o, "DELETE", requestTimeout, func(ctx context.Context) error {
		tries++
		err := up.Delete(ctx, o.URL)
		if tries > 1 && tusclient.Status(err) == http.StatusNotFound {
			return nil // the earlier, failed-looking DELETE went through
		}
		return err
	})
	if err != nil {
		return err
	}
	return c.gone(ctx, o, f)
}

// gone checks that HEAD and GET of f's upload are 404.
func (c *client) gone(ctx context.Context, o *Outcome, f *File) error {
	err := c.retry(ctx, o, "HEAD", requestTimeout, func(ctx context.Context) error {
		_, _, err := c.as(c.target.uploader(f)).Head(ctx, o.URL)
		if err == nil {
			return errors.New("HEAD of a deleted upload: answered 200")
		}
		if tusclient.Status(err) == http.StatusNotFound {
			return nil
		}
		return err
	})
	if err != nil {
		return err
	}
	return c.retry(ctx, o, "GET", requestTimeout, func(ctx context.Context) error {
		status, _, _, err := c.as(c.target.reader(f)).Get(ctx, o.URL, "")
		switch {
		case err != nil:
			return err
		case status != http.StatusNotFound:
			return fmt.Errorf("GET of a deleted upload: status %d, want 404", status)
		}
		return nil
	})
}

// verify downloads f's upload with its reader's token and compares its
// SHA-256 with o.Sum. The server checks the tag while it streams and cuts
// the connection on a mismatch: a body that does not end cleanly is
// retried and, still failing, an error.
func (c *client) verify(ctx context.Context, o *Outcome, f *File) error {
	rd := c.as(c.target.reader(f))
	size := f.Data.Size
	return c.retry(ctx, o, "GET", timeoutFor(size), func(ctx context.Context) error {
		req, err := rd.NewRequest(ctx, http.MethodGet, o.URL, nil)
		if err != nil {
			return err
		}
		resp, err := rd.Do(req)
		if err != nil {
			return fmt.Errorf("GET %s: %w", o.URL, err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK && !(size == 0 && resp.StatusCode == http.StatusNoContent) {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
			return fmt.Errorf("GET %s: %w", o.URL, &tusclient.StatusError{Status: resp.StatusCode, Body: string(b)})
		}
		if cl := resp.Header.Get("Content-Length"); cl != "" && cl != strconv.FormatInt(size, 10) {
			return fmt.Errorf("GET %s: Content-Length %s, want %d", o.URL, cl, size)
		}
		h := sha256.New()
		n, err := io.Copy(h, resp.Body)
		if err != nil {
			// A transport error: retried like one.
			return fmt.Errorf("GET %s: after %d of %d bytes: %w", o.URL, n, size, &url.Error{Op: "GET", URL: o.URL, Err: err})
		}
		if n != size || [32]byte(h.Sum(nil)) != o.Sum {
			return fmt.Errorf("GET %s: %d bytes whose SHA-256 differs from the %d bytes uploaded", o.URL, n, size)
		}
		return nil
	})
}

// retry runs fn with a timeout of its own until it succeeds, fails with
// an error that is not retryable, or maxRetries retries of the file are
// used up.
func (c *client) retry(ctx context.Context, o *Outcome, what string, timeout time.Duration, fn func(context.Context) error) error {
	for {
		rctx, cancel := context.WithTimeout(ctx, timeout)
		err := fn(rctx)
		cancel()
		if err == nil {
			return nil
		}
		if !retryable(err) || ctx.Err() != nil {
			return err
		}
		if o.Retries >= maxRetries {
			return fmt.Errorf("%s: still failing after %d retries: %w", what, maxRetries, err)
		}
		if err := c.wait(ctx, o, err); err != nil {
			return err
		}
	}
}

// wait counts a retry after cause and waits before it.
func (c *client) wait(ctx context.Context, o *Outcome, cause error) error {
	d := c.backoffFor(o.Retries)
	o.Retries++
	o.RetryErrors = append(o.RetryErrors, cause.Error())
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting to retry %v: %w", cause, ctx.Err())
	}
}

func (c *client) backoffFor(n int) time.Duration {
	if c.backoff != nil {
		return c.backoff(n)
	}
	return min(firstBackoff<<n, maxBackoff)
}

// retryable reports whether err is worth another try: a transport error
// (the connection broke, a timeout), a 503 (the server is shutting down,
// its lock service is away) or a 423 (locked by another request). Any
// other status is a failure at once.
func retryable(err error) bool {
	switch tusclient.Status(err) {
	case http.StatusServiceUnavailable, http.StatusLocked:
		return true
	case 0:
		var ue *url.Error
		return errors.As(err, &ue)
	}
	return false
}

// errCut is what a cut body returns: the transport then closes the
// connection mid-request.
var errCut = errors.New("soak: connection cut by the client")

// cutReader ends its body with errCut after left bytes.
type cutReader struct {
	r     io.Reader
	left  int64
	at    int64 // bytes handed out
	fired bool
}

func (c *cutReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		c.fired = true
		return 0, errCut
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	c.at += int64(n)
	return n, err
}

// posReader reads a file's bytes from off and feeds them to the file's
// prefix hash.
type posReader struct {
	r    io.Reader
	off  int64
	read int64
	ph   *prefixHash
	err  error // a gap in the hash: a bug of the harness
}

func (p *posReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		if herr := p.ph.write(p.off+p.read, b[:n]); herr != nil && p.err == nil {
			p.err = herr
		}
		p.read += int64(n)
	}
	return n, err
}

// prefixHash hashes a file's bytes in order, each once, from the bytes
// the client sends: bytes sent again after a resume are skipped, since
// the same offset always holds the same byte.
type prefixHash struct {
	h    hash.Hash
	next int64 // bytes hashed
}

func (ph *prefixHash) write(off int64, p []byte) error {
	if off > ph.next {
		return fmt.Errorf("soak: bytes at %d sent before the bytes from %d", off, ph.next)
	}
	if skip := ph.next - off; skip < int64(len(p)) {
		ph.h.Write(p[skip:])
		ph.next = off + int64(len(p))
	}
	return nil
}

// interrupted reports whether err is tusd's answer to a PATCH whose lock
// another request for the upload took: 400 ERR_UPLOAD_INTERRUPTED.
func interrupted(err error) bool {
	var se *tusclient.StatusError
	return errors.As(err, &se) && se.Status == http.StatusBadRequest && strings.Contains(se.Body, "ERR_UPLOAD_INTERRUPTED")
}
