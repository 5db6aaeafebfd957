// Package soak is the long run of issue 11: tusvault on versitygw, many
// files of a realistic mix from several clients at once, every byte
// checked, the server's memory read every second. The system tusvault
// replaces was validated with 2,630 files over 6 h 56 min at a 398 MB
// peak; the full soak sends 2,630 files too, in well under an hour, and
// fails on any failure.
//
// NewPlan draws the files of a Mix from a seed (the same seed, the same
// plan): their kinds and sizes (photos, videos, empty and 1-byte files;
// FullMix and ReducedMix say exactly what), their route (a home account
// or a guest share), whether each is sent in one PATCH or in PATCHes of
// random sizes, where its connection is cut mid-PATCH, whether it is
// terminated (mid-way or once complete), and which files are kept to the
// end. Fractions become exact counts, so every behaviour is in every
// plan. The bytes of a file are a loadgen.Content: deterministic and
// readable from any offset, which is what a resume needs.
//
// Run sends a plan with N clients (8), each with its own connections,
// each taking the plan's next file when done with one. For each file a
// client:
//
//   - creates it (POST with filename and filetype metadata, its route's
//     token: a home token, or a guest token with -max-files and -types);
//   - sends it; at a planned cut the body stops and the transport closes
//     the connection, then HEAD asks the server's offset, which must lie
//     between the last offset it confirmed and the bytes sent, and the
//     client resumes from it. The cut request can still reach the server
//     after that HEAD (it was in flight), so one 409 per broken request
//     is answered by another HEAD, and so is one 400
//     ERR_UPLOAD_INTERRUPTED (the late request reached the server during
//     the next PATCH and took its lock, which tusd gives it by stopping
//     the holder); any other 409 or 400 fails;
//   - checks every offset a PATCH answers and, once done, that HEAD
//     reports the upload complete;
//   - terminates it (DELETE) when the plan says so, and checks that HEAD
//     and GET are then 404;
//   - otherwise downloads it with the account's home token (for a guest
//     upload the share owner's: guests cannot GET) and compares the
//     SHA-256 of the body with that of the bytes it sent; the server
//     verifies the upload's tag while it streams and cuts the connection
//     on a mismatch;
//   - deletes it (and checks 404), unless it is one of the kept files,
//     which are downloaded and compared again once every file is done,
//     then deleted. Disk use stays bounded by the uploads in flight.
//
// A failure is real: a byte that differs, an offset that goes back or
// past what was sent, an unexpected status, a request still failing after
// 5 retries (transport errors, 503 and 423 are retried, with backoff from
// 0.5 s). A resume after a cut is not a failure, nor a retry that
// succeeds; both are counted.
//
// While it runs, Run reads GET /upload/ram-status every second
// (ram_used_mb, the limiter's slots in use and waiters, the active
// uploads) with the process's VmRSS from /proc as a cross-check
// (loadgen.WatchStatus), and the server's CPU time and VmHWM
// (loadgen.StartProbe). Result.Table is the report for
// docs/BENCHMARKS.md, Result.Comparison the comparison with the old
// system, Result.WriteChart the RSS chart (internal/chart).
//
// TestSoak starts it all: versitygw (internal/s3server; missing, it fails
// in CI and skips elsewhere), a tusvault built from the tree as `make
// build` builds it (CGO_ENABLED=0, -trimpath), a keyring from `tusvault
// keys init`, a random secret for -auth-secret-file, tokens from
// `tusvault token home` and `tusvault token guest`, the server on
// 127.0.0.1 with -ram-limit-mb 512. It fails on a failed file, a failed
// RAM status reading, anything left in the bucket at the end and an
// unclean exit of the server. By default it runs ReducedMix (60 files,
// about 10 s: `make test`); TUSVAULT_SOAK=full runs FullMix (`make
// soak`). TUSVAULT_SOAK_SEED sets the seed (by default one from the
// clock, printed), TUSVAULT_SOAK_TUSVAULT another binary,
// TUSVAULT_SOAK_REPORT and TUSVAULT_SOAK_CHART where the tables and the
// chart go (by default the test's artifact directory, kept with go test
// -artifacts, which also keeps the server's whole log).
package soak
