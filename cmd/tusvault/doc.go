// Command tusvault is a tus 1.0 resumable upload server, built on tusd's
// protocol handler, that encrypts every byte it stores.
//
// # Commands
//
//	tusvault [serve] [flags]            serve uploads (default)
//	tusvault keys init [flags]          create a new keyring file (never replaces one)
//	tusvault keys rotate [flags]        add a new primary key, print its kid
//	tusvault keys rewrap [flags]        re-wrap every upload's DEK under the primary key
//	tusvault decrypt [flags] UPLOAD_ID  write a finished upload's plaintext
//	tusvault cleanup [flags]            one expiry sweep of unfinished uploads
//	tusvault version | help
//
// The serve flags keep tusd's names, meanings and defaults (-host, -port,
// -base-path, -upload-dir, -max-size, the CORS, TLS, timeout and logging
// flags, and the -s3-* flags), so that a tusd command line works unchanged
// where the feature exists; tusvault adds -keyring, -spool-dir,
// -expire-after and -s3-sdk-checksums, and keeps -part-size and
// -concurrent-part-uploads as aliases of -s3-part-size and
// -s3-concurrent-part-uploads. Concatenation is not supported yet.
//
// The storage flags (storageFlags: -upload-dir, -keyring and the -s3-*
// flags that say where the bucket is) are shared by serve, decrypt, keys
// rewrap and cleanup, so every one of them works on either backend. With
// -s3-bucket, credentials and region come from the AWS default chain:
// AWS_REGION and AWS_DEFAULT_REGION through run's getenv, the rest
// (credential variables, shared config, instance roles) read by the AWS
// SDK from the process environment.
//
// # Wiring
//
// main turns SIGINT/SIGTERM into the cancellation of a context and calls
// run(ctx, args, getenv, stdout, stderr), which does everything else and
// returns an error rather than exiting, so tests run the real program in
// process.
//
// serve builds, in order:
//
//   - the backend: store/disk over -upload-dir, or store/s3 over
//     -s3-bucket, whose bucket check fails fast with a one-line reason;
//   - the keyring (store/crypt), loaded from -keyring or, on the first
//     start on local disk, created with mode 0600 next to the uploads with a
//     warning to back it up; with S3 it must exist (tusvault keys init) and
//     is checked before the bucket;
//   - the encrypted data store (store), with the process-wide part-upload
//     limiter (store.NewLimiter) and the spool directory for ciphertext parts;
//   - a tusd StoreComposer holding the store (core, termination, deferred
//     length, content serving) and tusd's file locker over -upload-dir, or
//     with S3 tusd's in-memory locker (one instance per bucket and prefix);
//   - tusd's handler, with concatenation disabled, tusd's CORS defaults
//     adjusted by the flags and hooks.CheckMetadata refusing a malformed
//     Upload-Metadata; its golang.org/x/exp/slog logger is adapted to the
//     log/slog handler everything else logs through (log.go);
//   - a mux that routes the base path, with and without its trailing slash,
//     through http.StripPrefix and store.BodyProbe to the handler, and shows
//     a greeting at "/";
//   - an http.Server like tusd's, whose base context is cancelled with
//     handler.ErrServerShutdown when shutdown starts, so that uploads in
//     flight save what they received and are answered 503.
//
// With -expire-after, a goroutine runs store.Cleanup shortly after startup
// and then every quarter of the duration (from once a minute to once an
// hour) until shutdown; `tusvault cleanup` runs one such sweep.
//
// The last startup line is tusd's "You can now upload files to: URL" with
// the address actually bound (-port=0 picks a free port). On the first
// signal the server stops accepting requests and waits up to
// -shutdown-timeout for requests in flight; a second signal exits at once.
//
// Files: main.go (main, run, dispatch, usage, version), config.go (the
// serve Config and its validation), flags.go (the serve flag set),
// storage.go (the storage flags, backends and the store), serve.go
// (handler, listener, server, shutdown), cleanup.go (the expiry sweep and
// the cleanup command), tls.go (-tls-mode), log.go (loggers), keys.go
// (keyring and the keys commands), decrypt.go (the decrypt command).
package main
