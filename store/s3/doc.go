// Package s3 is tusvault's object backend for AWS S3 and S3-compatible
// services (Wasabi, R2, MinIO, Ceph, versitygw): it implements
// store.Backend on one bucket with the AWS SDK for Go v2, so that the
// encrypted store (package store) keeps its ciphertext, tails and .info
// objects there instead of on local disk.
//
// # Mapping
//
// Every store.Backend method is one S3 operation (two for a zero-length
// Get), on the key ObjectPrefix + key:
//
//	Put               PutObject, the seekable body passed with its length
//	Get               GetObject with Range; 416 InvalidRange (offset at or
//	                  past the end) is an empty reader
//	Head              HeadObject; Meta is the x-amz-meta-* user metadata
//	Delete            DeleteObject (a missing object is fine)
//	List              ListObjectsV2, page by page, ObjectPrefix stripped
//	CreateMultipart   CreateMultipartUpload with the metadata
//	UploadPart        UploadPart; ETags are kept without quotes
//	ListParts         ListParts, page by page
//	CompleteMultipart CompleteMultipartUpload
//	AbortMultipart    AbortMultipartUpload (NoSuchUpload is fine)
//
// plus ListMultipartUploads for the sweep that aborts abandoned uploads.
// NoSuchKey, NotFound (a HEAD's 404) and NoSuchUpload become errors
// wrapping store.ErrObjectNotFound; a missing bucket does not. Other errors
// wrap the SDK's error with %w and may carry request ids and the endpoint:
// they are for logs, never for clients (the store turns them into a
// generic 500).
//
// # Bodies, checksums, retries
//
// Bodies are io.ReadSeekers (spooled part files), handed to the SDK as a
// window of exactly the given size; a retry seeks back to the start.
// Nothing is buffered in memory. Over HTTPS the SDK sends them as
// UNSIGNED-PAYLOAD and hashes nothing; over plain HTTP SigV4 signs the
// payload's SHA-256: the backend is a store.PayloadHasher there, so the
// store hashes each part while it spools it and UploadPart signs that
// hash (payload.go) instead of the SDK reading the part once more. By default the SDK adds request checksums and validates response
// checksums only where an operation requires them (Config.SDKChecksums),
// because several S3-compatible services reject the checksum trailers the
// SDK sends otherwise; the payload hash and TLS still protect the data.
// The SDK's standard retryer (Config.MaxAttempts, exponential backoff with
// jitter) retries 500s, 503 SlowDown, timeouts and connection resets.
//
// New checks the bucket with HeadBucket, so that a wrong bucket, endpoint,
// region or credential fails at startup with a one-line reason.
//
// Tests run the conformance suite (internal/backendtest) against a real S3
// server, versitygw, started by internal/s3server.
package s3
