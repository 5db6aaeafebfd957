package s3server

import (
	"context"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Credentials returns a provider of the server's root credentials.
func (s *Server) Credentials() aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, "")
}

// Client returns an SDK client for the server (path-style addressing, root
// credentials, checksums only where an operation requires them; with TLS,
// trusting the server's certificate), for tests that look at the bucket
// behind a backend's back.
func (s *Server) Client() *s3.Client {
	o := s3.Options{
		Region:                     s.Region,
		BaseEndpoint:               aws.String(s.Endpoint),
		UsePathStyle:               true,
		Credentials:                s.Credentials(),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	}
	if s.cert != nil {
		o.HTTPClient = s.HTTPClient()
	}
	return s3.New(o)
}

// NewBucket creates a bucket with a fresh random name and returns the name.
// Start already makes one (Bucket); tests that want more isolation than a
// key prefix gives make their own.
func (s *Server) NewBucket(t testing.TB) string {
	t.Helper()
	name := "tv-" + strings.ToLower(rand.Text())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.Client().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("s3server: create bucket %q: %v\nversitygw output:\n%s", name, err, s.Output())
	}
	return name
}
