package loadgen

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/tusvault/tusvault/internal/tusclient"
)

// maxUploads bounds Options.Uploads: each upload is a goroutine and a
// connection.
const maxUploads = 256

// Options says what Run sends. Every field says its default.
type Options struct {
	// Endpoint is the upload creation URL (Server.URL). Required; its host
	// must be a loopback IP.
	Endpoint string
	// Uploads is the number of uploads run at once. Default 1.
	Uploads int
	// Size is the length of every upload in bytes. Default 0 (empty
	// uploads).
	Size int64
	// Verify downloads every upload after all are done (sequentially,
	// outside Elapsed) and compares it with what was sent. Default false;
	// Result.Verify does the same later.
	Verify bool
	// Seed makes upload i stream NewGenerator(Seed+i, Size). Default 0.
	Seed uint64
	// PID is the server process whose VmRSS is sampled; 0 (the default)
	// samples nothing and leaves the RSS fields of Result 0.
	PID int
	// Rate throttles every upload to this many bytes per second, in the
	// client: the PATCH body is read from the generator in pieces of up to
	// 16 KiB, each sent when a token bucket of one piece allows, so a slow
	// client holds its connection open for Size/Rate seconds. Default 0:
	// as fast as the server reads; else at least 1 KiB/s.
	Rate int64
	// Settle is how long Run waits before it starts (and reads the idle
	// RSS). Default 0.
	Settle time.Duration
	// SampleEvery is the RSS sampling interval. Default 50 ms.
	SampleEvery time.Duration
	// HTTP sends the requests. Default: a client of its own, with a
	// transport that keeps a connection per upload and does not
	// decompress.
	HTTP *http.Client
}

func (o *Options) validate() error {
	if o.Uploads == 0 {
		o.Uploads = 1
	}
	if o.SampleEvery == 0 {
		o.SampleEvery = 50 * time.Millisecond
	}
	switch {
	case o.Endpoint == "":
		return errors.New("loadgen: no endpoint")
	case o.Uploads < 0 || o.Uploads > maxUploads:
		return fmt.Errorf("loadgen: %d uploads, want 1 to %d", o.Uploads, maxUploads)
	case o.Size < 0:
		return fmt.Errorf("loadgen: negative size %d", o.Size)
	case o.Rate < 0 || o.Rate > 0 && o.Rate < minRate:
		return fmt.Errorf("loadgen: rate %d bytes/s, want 0 (unthrottled) or at least %d", o.Rate, minRate)
	case o.SampleEvery < time.Millisecond || o.Settle < 0:
		return errors.New("loadgen: bad sampling interval or settle time")
	}
	return checkLoopback(o.Endpoint)
}

// Result is what Run measured. The Usage is that of the server process
// (Options.PID) and the machine while the uploads ran; the RSS series
// starts with the idle RSS, read after Options.Settle.
type Result struct {
	Usage
	Elapsed time.Duration   // from the first POST to the last PATCH response
	Done    []time.Duration // upload i's PATCH response, from the first POST
	Bytes   int64           // bytes sent: Uploads × Size

	// VerifyElapsed is the time the sequential downloads of Verify took
	// (0 when not verified).
	VerifyElapsed time.Duration

	URLs []string   // upload i's URL
	Sums [][32]byte // SHA-256 of upload i's bytes

	client *tusclient.Client
}

// MBps returns the upload throughput in MB/s (10^6 bytes per second).
func (r Result) MBps() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Bytes) / r.Elapsed.Seconds() / 1e6
}

// Run creates o.Uploads uploads of o.Size bytes at o.Endpoint and sends
// each one in a single PATCH, all at once, while sampling the RSS of o.PID.
// The first failure cancels the other uploads and is returned. With
// o.Verify it then downloads every upload and compares it.
func Run(ctx context.Context, o Options) (Result, error) {
	if err := o.validate(); err != nil {
		return Result{}, err
	}
	client := o.HTTP
	if client == nil {
		client = &http.Client{Transport: &http.Transport{
			MaxIdleConnsPerHost: o.Uploads,
			DisableCompression:  true,
		}}
		defer client.CloseIdleConnections()
	}
	res := Result{
		Bytes:  int64(o.Uploads) * o.Size,
		Done:   make([]time.Duration, o.Uploads),
		URLs:   make([]string, o.Uploads),
		Sums:   make([][32]byte, o.Uploads),
		client: &tusclient.Client{HTTP: client},
	}
	if o.Settle > 0 {
		select {
		case <-time.After(o.Settle):
		case <-ctx.Done():
			return res, ctx.Err()
		}
	}
	probe := StartProbe(o.PID, o.SampleEvery)
	start := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	for i := range o.Uploads {
		g.Go(func() error {
			u, err := res.client.Create(gctx, o.Endpoint, o.Size, map[string]string{"filename": fmt.Sprintf("load-%d.bin", i)})
			if err != nil {
				return fmt.Errorf("loadgen: upload %d: %w", i, err)
			}
			h := sha256.New()
			var body io.Reader = io.TeeReader(NewGenerator(o.Seed+uint64(i), o.Size), h)
			if o.Rate > 0 {
				body = newPaced(gctx, body, o.Rate)
			}
			off, err := res.client.Patch(gctx, u, 0, body, o.Size)
			if err != nil {
				return fmt.Errorf("loadgen: upload %d: %w", i, err)
			}
			if off != o.Size {
				return fmt.Errorf("loadgen: upload %d: server reports offset %d after %d bytes", i, off, o.Size)
			}
			res.Done[i] = time.Since(start)
			res.URLs[i] = u
			copy(res.Sums[i][:], h.Sum(nil))
			return nil
		})
	}
	err := g.Wait()
	res.Elapsed = time.Since(start)
	res.Usage = probe.Stop()
	if err != nil {
		return res, err
	}
	if o.Verify {
		t := time.Now()
		if err := res.Verify(ctx); err != nil {
			return res, err
		}
		res.VerifyElapsed = time.Since(t)
	}
	return res, nil
}

// Verify downloads every upload of a successful Run, one after the other,
// and compares each with the SHA-256 of the bytes sent.
func (r Result) Verify(ctx context.Context) error {
	c := r.client
	if c == nil {
		c = &tusclient.Client{}
	}
	for i, u := range r.URLs {
		if err := verifyDownload(ctx, c, u, r.Sums[i]); err != nil {
			return fmt.Errorf("loadgen: upload %d: %w", i, err)
		}
	}
	return nil
}

func verifyDownload(ctx context.Context, c *tusclient.Client, u string, want [32]byte) error {
	req, err := c.NewRequest(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d", u, resp.StatusCode)
	}
	h := sha256.New()
	if _, err := io.Copy(h, resp.Body); err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	if [32]byte(h.Sum(nil)) != want {
		return fmt.Errorf("GET %s: download differs from upload", u)
	}
	return nil
}
