package bench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"golang.org/x/sync/errgroup"

	"github.com/tusvault/tusvault/internal/loadgen"
)

// Bounds of a direct upload.
const (
	abortTimeout = 10 * time.Second // the AbortMultipartUpload after a failure
	maxParts     = 10000            // parts of one upload, the S3 limit
)

// directInFlight is the number of parts of one direct upload in flight
// at once: while one part is sent the next is generated. (1, 2 and 4
// gave the same MB/s within the noise here.)
const directInFlight = 2

// directMeasurement is the direct ceiling: the versus case's bytes sent
// straight to versitygw as multipart uploads, no tus server in between.
type directMeasurement struct {
	Transport     string // HTTP or HTTPS
	Uploads       int
	Bytes         int64
	Elapsed       time.Duration // from the first CreateMultipartUpload to the last Complete
	S3            loadgen.Usage // versitygw's: its CPU time and RSS, how busy the machine was
	ClientCPU     time.Duration
	VerifyElapsed time.Duration // the sequential GETs of the check
}

// MBps is the upload throughput in MB/s (10^6 bytes per second).
func (d directMeasurement) MBps() float64 {
	if d.Elapsed <= 0 {
		return 0
	}
	return float64(d.Bytes) / d.Elapsed.Seconds() / 1e6
}

// measureDirect sends uploads objects of plan.size bytes at once to a
// fresh bucket of gw with the SDK, each a multipart upload of 10 MiB
// parts, directInFlight at a time, from the same generator seeds as the
// versus case; the SDK signs each part's SHA-256 over plain HTTP and
// sends UNSIGNED-PAYLOAD over HTTPS, as the servers' SDKs do. Every
// object is read back and checked afterwards.
func (h *harness) measureDirect(tb testing.TB, gw *gateway, uploads int) directMeasurement {
	tb.Helper()
	timer(tb, false)
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	bucket := gw.NewBucket(tb)
	defer os.RemoveAll(filepath.Join(gw.Dir, bucket))
	client := gw.Client() // path-style, checksums only where required, the test CA
	sums := make([][32]byte, uploads)

	d := directMeasurement{Transport: gw.transport(), Uploads: uploads, Bytes: int64(uploads) * h.plan.size}
	flush()
	clientCPU := cpuOf(os.Getpid())
	timer(tb, true)
	probe := loadgen.StartProbe(gw.pid, slowSampleEvery)
	start := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	for i := range uploads {
		g.Go(func() (err error) {
			body := loadgen.NewGenerator(uint64(i), h.plan.size)
			sums[i], err = putMultipart(gctx, client, bucket, objectKey(i), body)
			return err
		})
	}
	err := g.Wait()
	d.Elapsed = time.Since(start)
	d.S3 = probe.Stop()
	timer(tb, false)
	d.ClientCPU = cpuOf(os.Getpid()) - clientCPU
	if err != nil {
		tb.Fatalf("direct: %v\nversitygw output:\n%s", err, gw.Output())
	}
	t := time.Now()
	for i := range uploads {
		if err := checkObject(ctx, client, bucket, objectKey(i), sums[i]); err != nil {
			tb.Fatalf("direct: %v", err)
		}
	}
	d.VerifyElapsed = time.Since(t)
	return d
}

func objectKey(i int) string { return fmt.Sprintf("direct-%d.bin", i) }

// putMultipart uploads what r yields as the object key in parts of
// PartSize bytes, directInFlight at a time, and returns its SHA-256. Each
// part is read into a buffer first (directInFlight+1 buffers, so one fills
// while the others are sent): over plain HTTP the SDK needs a seekable
// body, as it hashes the payload for the signature. A failed upload is
// aborted.
func putMultipart(ctx context.Context, c *s3.Client, bucket, key string, r io.Reader) (sum [32]byte, err error) {
	up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return sum, fmt.Errorf("create multipart upload %s: %w", key, err)
	}
	defer func() {
		if err != nil {
			actx, cancel := context.WithTimeout(context.Background(), abortTimeout)
			defer cancel()
			c.AbortMultipartUpload(actx, &s3.AbortMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key), UploadId: up.UploadId})
		}
	}()
	bufs := make(chan []byte, directInFlight+1)
	for range cap(bufs) {
		bufs <- make([]byte, PartSize)
	}
	h := sha256.New()
	var parts []types.CompletedPart
	var mu sync.Mutex // guards parts: the loop appends, the uploads set ETags
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(directInFlight)
	for n := int32(1); ; n++ {
		if n > maxParts {
			g.Wait()
			return sum, fmt.Errorf("%s: more than %d parts", key, maxParts)
		}
		var buf []byte
		select {
		case buf = <-bufs:
		case <-gctx.Done():
		}
		if buf == nil {
			break // a part failed: g.Wait returns why
		}
		k, rerr := io.ReadFull(r, buf)
		if rerr != nil && rerr != io.EOF && !errors.Is(rerr, io.ErrUnexpectedEOF) {
			g.Wait()
			return sum, rerr
		}
		if k == 0 {
			break
		}
		h.Write(buf[:k])
		mu.Lock()
		parts = append(parts, types.CompletedPart{PartNumber: aws.Int32(n)})
		mu.Unlock()
		g.Go(func() error {
			defer func() { bufs <- buf }()
			out, err := c.UploadPart(gctx, &s3.UploadPartInput{
				Bucket: aws.String(bucket), Key: aws.String(key), UploadId: up.UploadId,
				PartNumber: aws.Int32(n), Body: bytes.NewReader(buf[:k]), ContentLength: aws.Int64(int64(k)),
			})
			if err != nil {
				return fmt.Errorf("upload part %d of %s: %w", n, key, err)
			}
			mu.Lock()
			parts[n-1].ETag = out.ETag
			mu.Unlock()
			return nil
		})
		if rerr != nil { // the short last part
			break
		}
	}
	if err := g.Wait(); err != nil {
		return sum, err
	}
	_, err = c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: aws.String(bucket), Key: aws.String(key), UploadId: up.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	})
	if err != nil {
		return sum, fmt.Errorf("complete multipart upload %s: %w", key, err)
	}
	copy(sum[:], h.Sum(nil))
	return sum, nil
}

// checkObject reads the object back and compares its SHA-256 with want.
func checkObject(ctx context.Context, c *s3.Client, bucket, key string, want [32]byte) error {
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return fmt.Errorf("get %s: %w", key, err)
	}
	defer out.Body.Close()
	h := sha256.New()
	if _, err := io.Copy(h, out.Body); err != nil {
		return fmt.Errorf("get %s: %w", key, err)
	}
	if [32]byte(h.Sum(nil)) != want {
		return fmt.Errorf("get %s: object differs from what was sent", key)
	}
	return nil
}

// report sets the sub-benchmark's metrics: throughput, and versitygw's
// CPU (there is no server in between).
func (d *directMeasurement) report(b *testing.B) {
	b.SetBytes(d.Bytes)
	b.ReportMetric(float64(d.Elapsed.Nanoseconds()), "ns/op")
	b.ReportMetric(d.MBps(), "MB/s")
	b.ReportMetric(d.S3.CPU.Seconds(), "versitygw-CPU-s")
	b.ReportMetric(perGiB(d.S3.CPU, d.Bytes), "versitygw-CPU-s/GiB")
	b.ReportMetric(mib(d.S3.PeakRSS), "versitygw-peak-RSS-MiB")
	b.ReportMetric(d.ClientCPU.Seconds(), "client-CPU-s")
	b.ReportMetric(100*d.S3.MachineBusy, "machine-busy-%")
}
