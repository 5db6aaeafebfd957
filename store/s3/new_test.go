package s3_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/tusvault/tusvault/internal/s3server"
	"github.com/tusvault/tusvault/store/s3"
)

// oneLine fails the test unless err is a non-nil one-line error containing
// every one of want.
func oneLine(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("got no error")
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") {
		t.Errorf("error is not one line: %q", msg)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q does not contain %q", msg, w)
		}
	}
}

func TestNewMissingBucket(t *testing.T) {
	srv := s3server.Start(t)
	start := time.Now()
	_, err := s3.New(t.Context(), config(srv, "no-such-bucket"))
	oneLine(t, err, `s3: bucket "no-such-bucket" not found at endpoint `+srv.Endpoint)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("New took %v to fail", d)
	}
	t.Logf("%v (after %v)", err, time.Since(start).Round(time.Millisecond))
}

func TestNewBadCredentials(t *testing.T) {
	srv := s3server.Start(t)
	cfg := config(srv, srv.Bucket)
	cfg.Credentials = credentials.NewStaticCredentialsProvider(srv.AccessKey, "wrong-secret", "")
	_, err := s3.New(t.Context(), cfg)
	oneLine(t, err, "denied", srv.Bucket)
	if strings.Contains(err.Error(), "wrong-secret") {
		t.Errorf("error shows the secret: %v", err)
	}
	t.Log(err)
}

func TestNewUnreachable(t *testing.T) {
	port, err := s3server.FreePort() // closed right away: nothing listens
	if err != nil {
		t.Fatal(err)
	}
	endpoint := fmt.Sprintf("http://127.0.0.1:%d", port)
	start := time.Now()
	_, err = s3.New(t.Context(), s3.Config{
		Bucket:      "bucket",
		Endpoint:    endpoint,
		Credentials: credentials.NewStaticCredentialsProvider("AK", "SK", ""),
	})
	oneLine(t, err, "s3: cannot reach endpoint "+endpoint, "connection refused")
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("New took %v to fail", d)
	}
	t.Logf("%v (after %v)", err, time.Since(start).Round(time.Millisecond))
}

func TestNewConfigErrors(t *testing.T) {
	creds := credentials.NewStaticCredentialsProvider("AK", "SK", "")
	for _, tc := range []struct {
		cfg  s3.Config
		want string
	}{
		{s3.Config{Endpoint: "http://127.0.0.1:1"}, "no bucket"},
		{s3.Config{Bucket: "b", Endpoint: "ftp://host"}, "endpoint is not"},
		{s3.Config{Bucket: "b", Endpoint: "http://user:pw@host"}, "endpoint is not"},
		{s3.Config{Bucket: "b", MaxAttempts: -1}, "negative"},
	} {
		tc.cfg.Credentials = creds
		_, err := s3.New(t.Context(), tc.cfg)
		oneLine(t, err, tc.want)
		if strings.Contains(fmt.Sprint(err), "pw") {
			t.Errorf("error shows the endpoint's password: %v", err)
		}
	}
}
