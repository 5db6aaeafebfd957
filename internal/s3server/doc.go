// Package s3server runs a real S3 server for tests: versitygw (v1.8.0) with
// its posix backend, listening on a loopback port chosen at run time, with a
// fresh bucket and throw-away root credentials.
//
// Tests of the S3 object backend (store/s3) and end-to-end tests call Start;
// the server is stopped when the test ends:
//
//	srv := s3server.Start(t)
//	b, err := s3.New(ctx, s3.Config{Bucket: srv.Bucket, Endpoint: srv.Endpoint, ...})
//
// The gateway binary is looked up, in this order, in the environment
// variable TUSVAULT_VERSITYGW, as bin/versitygw under the repository root
// (install it there with
// `GOBIN=$PWD/bin go install github.com/versity/versitygw/cmd/versitygw@v1.8.0`)
// and in PATH. Without it a test is skipped with that instruction, except
// when the environment variable CI is set: then it fails, so that CI never
// passes by skipping.
//
// The posix backend maps bucket b and key k to the file <Dir>/b/k, so tests
// can inspect the raw stored bytes (for example, to check that only
// ciphertext reaches the provider). Object metadata lives in extended
// attributes; on a file system without user xattrs the harness falls back to
// versitygw's sidecar directory.
//
// An outage of the object store is Down then Up: the server stops, and
// starts again on the same port with the same directory, credentials and
// buckets (internal/e2e's TestChaosS3Outage).
package s3server
