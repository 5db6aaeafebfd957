// Command tusvault is a tus 1.0 resumable upload server, built on tusd's
// protocol handler, that encrypts every byte it stores.
//
// # Commands
//
//	tusvault [serve] [flags]            serve uploads (default)
//	tusvault keys rotate [flags]        add a new primary key, print its kid
//	tusvault keys rewrap [flags]        re-wrap every upload's DEK under the primary key
//	tusvault decrypt [flags] UPLOAD_ID  write a finished upload's plaintext
//	tusvault version | help
//
// The serve flags keep tusd's names, meanings and defaults (-host, -port,
// -base-path, -upload-dir, -max-size, the CORS, TLS, timeout and logging
// flags), so that a tusd command line works unchanged where the feature
// exists; tusvault adds -keyring, -part-size, -spool-dir and
// -concurrent-part-uploads. Concatenation is not supported yet.
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
//   - the keyring (store/crypt), loaded from -keyring or, on first start,
//     created with mode 0600 next to the uploads with a warning to back it up;
//   - the disk backend (store/disk) over -upload-dir;
//   - the encrypted data store (store), with the process-wide part-upload
//     limiter (store.NewLimiter) and the spool directory for ciphertext parts;
//   - a tusd StoreComposer holding the store (core, termination, deferred
//     length, content serving) and tusd's file locker over -upload-dir;
//   - tusd's handler, with concatenation disabled and tusd's CORS defaults
//     adjusted by the flags; its golang.org/x/exp/slog logger is adapted
//     to the log/slog handler everything else logs through (log.go);
//   - a mux that routes the base path, with and without its trailing slash,
//     through http.StripPrefix and store.BodyProbe to the handler, and shows
//     a greeting at "/";
//   - an http.Server like tusd's, whose base context is cancelled with
//     handler.ErrServerShutdown when shutdown starts, so that uploads in
//     flight save what they received and are answered 503.
//
// The last startup line is tusd's "You can now upload files to: URL" with
// the address actually bound (-port=0 picks a free port). On the first
// signal the server stops accepting requests and waits up to
// -shutdown-timeout for requests in flight; a second signal exits at once.
//
// Files: main.go (main, run, dispatch, usage, version), config.go (flags
// and validation), serve.go (store, handler, listener, server, shutdown),
// tls.go (-tls-mode), log.go (loggers), keys.go (keyring and the keys
// commands), decrypt.go (the decrypt command).
package main
