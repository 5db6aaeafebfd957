// Package s3e2e tests the encrypted store on a real S3 server (versitygw,
// started by internal/s3server on a loopback port), in process, through
// tusd's handler over real HTTP: the part-upload limiter counted at the S3
// side, slow clients, and faults injected between the store and S3.
// End-to-end tests of the tusvault binary on S3 live in internal/e2e.
package s3e2e
