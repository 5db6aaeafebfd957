package s3server

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func TestStart(t *testing.T) {
	start := time.Now()
	srv := Start(t)
	t.Logf("versitygw ready at %s after %v", srv.Endpoint, time.Since(start).Round(time.Millisecond))
	if !strings.HasPrefix(srv.Endpoint, "http://127.0.0.1:") {
		t.Errorf("Endpoint = %q, want http://127.0.0.1:PORT", srv.Endpoint)
	}

	// An object written through S3 is a file under Dir/<bucket>/<key>.
	data := []byte("raw bytes on disk")
	_, err := srv.Client().PutObject(t.Context(), &s3.PutObjectInput{
		Bucket: aws.String(srv.Bucket), Key: aws.String("a/b/c"), Body: bytes.NewReader(data),
	})
	if err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	got, err := os.ReadFile(filepath.Join(srv.Dir, srv.Bucket, "a", "b", "c"))
	if err != nil || !bytes.Equal(got, data) {
		t.Errorf("raw object = %q, %v; want %q", got, err, data)
	}

	// A second bucket is independent.
	other := srv.NewBucket(t)
	if other == srv.Bucket {
		t.Fatalf("NewBucket returned the existing bucket %q", other)
	}
	out, err := srv.Client().ListObjectsV2(t.Context(), &s3.ListObjectsV2Input{Bucket: aws.String(other)})
	if err != nil || len(out.Contents) != 0 {
		t.Errorf("new bucket: %d objects, %v; want empty", len(out.Contents), err)
	}

	// Stop ends the process and can be called again (Cleanup does).
	srv.Stop()
	srv.Stop()
	if _, err := net.DialTimeout("tcp", strings.TrimPrefix(srv.Endpoint, "http://"), time.Second); err == nil {
		t.Errorf("%s still accepts connections after Stop", srv.Endpoint)
	}
}

func TestTwoServers(t *testing.T) {
	a, b := Start(t), Start(t)
	if a.Endpoint == b.Endpoint || a.Dir == b.Dir || a.SecretKey == b.SecretKey {
		t.Errorf("two servers share endpoint, directory or credentials: %s %s", a.Endpoint, b.Endpoint)
	}
}

func TestFreePort(t *testing.T) {
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	if port <= 0 || port > 65535 {
		t.Fatalf("FreePort = %d", port)
	}
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatalf("port %d is not free: %v", port, err)
	}
	l.Close()
}

// recorder is a testing.TB that records Skip and Fatal instead of acting on
// the real test.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper() {}
func (r *recorder) Skipf(format string, args ...any) {
	r.skipped = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// runStart calls Start with a recorder in its own goroutine (Skip and
// Fatal end it).
func runStart(t *testing.T) *recorder {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Start(r)
		t.Error("Start returned without skipping or failing")
	}()
	<-done
	return r
}

func TestMissingBinary(t *testing.T) {
	t.Setenv(EnvBinary, filepath.Join(t.TempDir(), "no-versitygw"))

	t.Setenv("CI", "")
	r := runStart(t)
	if r.skipped == "" || r.failed != "" {
		t.Errorf("outside CI: skipped %q, failed %q; want a skip", r.skipped, r.failed)
	}
	if !strings.Contains(r.skipped, "go install github.com/versity/versitygw/cmd/versitygw@"+Version) {
		t.Errorf("skip message lacks the install command: %s", r.skipped)
	}
	if strings.Contains(r.skipped, "\n") {
		t.Errorf("skip message is not one line: %q", r.skipped)
	}

	t.Setenv("CI", "true")
	r = runStart(t)
	if r.failed == "" || r.skipped != "" {
		t.Errorf("in CI: skipped %q, failed %q; want a failure", r.skipped, r.failed)
	}
}

func TestCleanEnv(t *testing.T) {
	got := cleanEnv([]string{"HOME=/root", "VGW_PORT=:1", "ROOT_ACCESS_KEY=x", "LOGFILE=f", "WEBHOOK=w", "PATH=/bin"})
	if want := []string{"HOME=/root", "PATH=/bin"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("cleanEnv = %q, want %q", got, want)
	}
}

// TestSidecar checks the fallback Start uses on file systems without user
// xattrs: metadata in versitygw's sidecar directory.
func TestSidecar(t *testing.T) {
	bin, err := findBinary()
	if err != nil {
		Start(t) // skips or fails with the usual message
	}
	base := t.TempDir()
	s := &Server{AccessKey: "ak", SecretKey: "sk-sidecar", Region: "us-east-1", Dir: filepath.Join(base, "root")}
	sidecar := filepath.Join(base, "sidecar")
	for _, d := range []string{s.Dir, sidecar} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.launch(bin, sidecar); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	s.Bucket = s.NewBucket(t)
	_, err = s.Client().PutObject(t.Context(), &s3.PutObjectInput{
		Bucket: aws.String(s.Bucket), Key: aws.String("k"), Body: strings.NewReader("x"),
		Metadata: map[string]string{"m": "v"},
	})
	if err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	out, err := s.Client().HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String("k")})
	if err != nil || out.Metadata["m"] != "v" {
		t.Fatalf("HeadObject: %v, %v", out, err)
	}
	entries, _ := os.ReadDir(sidecar)
	if len(entries) == 0 {
		t.Errorf("sidecar directory is empty: metadata went elsewhere")
	}
}

// TestPortTaken makes the first port Start tries a busy one: Start must
// notice versitygw's bind failure and try another port.
func TestPortTaken(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	calls := 0
	freePort = func() (int, error) {
		calls++
		if calls == 1 {
			return busy.Addr().(*net.TCPAddr).Port, nil
		}
		return FreePort()
	}
	t.Cleanup(func() { freePort = FreePort })
	srv := Start(t)
	if calls < 2 || strings.HasSuffix(srv.Endpoint, busy.Addr().String()) {
		t.Errorf("Start used the busy port (%d port picks, endpoint %s)", calls, srv.Endpoint)
	}
}

// Down and Up are an outage: requests fail meanwhile, and the server comes
// back on the same endpoint with the same buckets and objects.
func TestDownUp(t *testing.T) {
	srv := Start(t)
	data := []byte("kept across the outage")
	if _, err := srv.Client().PutObject(t.Context(), &s3.PutObjectInput{
		Bucket: aws.String(srv.Bucket), Key: aws.String("k"), Body: bytes.NewReader(data),
	}); err != nil {
		t.Fatal(err)
	}
	endpoint := srv.Endpoint
	srv.Down()
	if _, err := net.DialTimeout("tcp", strings.TrimPrefix(endpoint, "http://"), time.Second); err == nil {
		t.Fatalf("%s still accepts connections after Down", endpoint)
	}
	if err := srv.Up(); err != nil {
		t.Fatal(err)
	}
	if srv.Endpoint != endpoint {
		t.Errorf("endpoint after Up = %s, want %s", srv.Endpoint, endpoint)
	}
	out, err := srv.Client().GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String(srv.Bucket), Key: aws.String("k")})
	if err != nil {
		t.Fatalf("GetObject after Up: %v", err)
	}
	defer out.Body.Close()
	var got bytes.Buffer
	got.ReadFrom(out.Body)
	if !bytes.Equal(got.Bytes(), data) {
		t.Errorf("object after Up = %q, want %q", got.Bytes(), data)
	}
	if err := srv.Up(); err == nil {
		t.Error("Up of a running server succeeded")
	}
}

// TestTLS starts a server over HTTPS: its client (which trusts the test
// certificate) works, a client that trusts only the system's CAs is
// refused, and plain HTTP gets no S3 answer on that port.
func TestTLS(t *testing.T) {
	srv := StartWith(t, Options{TLS: true})
	if !strings.HasPrefix(srv.Endpoint, "https://127.0.0.1:") || srv.CAFile == "" {
		t.Fatalf("Endpoint = %q, CAFile = %q; want https://127.0.0.1:PORT and a CA file", srv.Endpoint, srv.CAFile)
	}
	pemData, err := os.ReadFile(srv.CAFile)
	if err != nil || !bytes.Contains(pemData, []byte("BEGIN CERTIFICATE")) {
		t.Fatalf("CA file: %q, %v", pemData, err)
	}
	ctx := t.Context()
	data := []byte("over TLS")
	_, err = srv.Client().PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(srv.Bucket), Key: aws.String("k"), Body: bytes.NewReader(data),
	})
	if err != nil {
		t.Fatalf("PutObject over TLS: %v", err)
	}
	if got, err := os.ReadFile(filepath.Join(srv.Dir, srv.Bucket, "k")); err != nil || !bytes.Equal(got, data) {
		t.Errorf("raw object = %q, %v; want %q", got, err, data)
	}
	if resp, err := http.Get(srv.Endpoint + "/"); err == nil {
		resp.Body.Close()
		t.Errorf("a client without the test CA got an answer: %s", resp.Status)
	}
	if resp, err := http.Get("http://" + strings.TrimPrefix(srv.Endpoint, "https://") + "/"); err == nil {
		defer resp.Body.Close()
		if resp.Header.Get("Server") == "VERSITYGW" && resp.StatusCode != http.StatusBadRequest {
			t.Errorf("plain HTTP on the TLS port answered %s", resp.Status)
		}
	}
	// Down and Up keep TLS and the certificate.
	srv.Down()
	if err := srv.Up(); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Client().HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(srv.Bucket), Key: aws.String("k")}); err != nil {
		t.Errorf("HeadObject after Up: %v", err)
	}
}

// TestKeepAlive checks that with Options.KeepAlive the requests of one
// client share a connection, and that without it each has its own (the
// behaviour the benchmarks' KeepAlive works around).
func TestKeepAlive(t *testing.T) {
	for _, keep := range []bool{false, true} {
		srv := StartWith(t, Options{KeepAlive: keep})
		var fresh, reused int
		tr := &http.Transport{}
		defer tr.CloseIdleConnections()
		client := s3.New(s3.Options{
			Region: srv.Region, BaseEndpoint: aws.String(srv.Endpoint), UsePathStyle: true, Credentials: srv.Credentials(),
			HTTPClient: &http.Client{Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
				trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) {
					if i.Reused {
						reused++
					} else {
						fresh++
					}
				}}
				return tr.RoundTrip(r.WithContext(httptrace.WithClientTrace(r.Context(), trace)))
			})},
		})
		const n = 4
		for range n {
			if _, err := client.ListObjectsV2(t.Context(), &s3.ListObjectsV2Input{Bucket: aws.String(srv.Bucket)}); err != nil {
				t.Fatalf("keep-alive %v: ListObjectsV2: %v", keep, err)
			}
		}
		if want := map[bool][2]int{false: {n, 0}, true: {1, n - 1}}[keep]; fresh != want[0] || reused != want[1] {
			t.Errorf("keep-alive %v: %d new and %d reused connections for %d requests, want %d and %d", keep, fresh, reused, n, want[0], want[1])
		}
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
