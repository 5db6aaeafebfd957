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
//	tusvault token home|guest [flags]   mint a bearer token (JWT)
//	tusvault healthcheck [flags]        GET /healthz of the local server (container HEALTHCHECK)
//	tusvault version | help
//
// The serve flags keep tusd's names, meanings and defaults (-host, -port,
// -base-path, -upload-dir, -max-size, -enable-experimental-protocol, the
// CORS, TLS, timeout and logging flags, the -s3-* flags and the -hooks-*
// flags), so that a tusd command
// line works unchanged where the feature exists (with -auth=none, since
// tusd's uploads are open); tusvault adds -keyring, -spool-dir,
// -expire-after, -s3-sdk-checksums, -redis-url, the auth and routing flags
// (-auth, -auth-*, -home-max-size, -guest-max-size, the route prefixes)
// and the web page flags (-web-chunk-size, -web-retry-delays,
// -web-token-refresh-url),
// and keeps -part-size and -concurrent-part-uploads as aliases of
// -s3-part-size and -s3-concurrent-part-uploads. Concatenation is not
// supported yet; only one hook backend may be given (tusd silently picks
// one).
//
// Every serve flag but -version can also be set by its variable
// TUSVAULT_<FLAG> (-s3-bucket: TUSVAULT_S3_BUCKET), read through run's
// getenv after the command line is parsed, for each flag the command line
// left unset (env.go: applyEnv walks whatever flags the flag set holds, so
// new flags need nothing more). The subcommands read the variables of the
// serve flags they share in name and meaning (the storage flags, the auth
// secret and claims, healthcheck's address), not those of their own flags.
// Secrets stay in files (-auth-secret-file, -keyring, -status-token-file,
// -tls-key): no variable holds one.
//
// The storage flags (storageFlags: -upload-dir, -keyring, the -s3-*
// flags that say where the bucket is, and -redis-url) are shared by serve,
// decrypt, keys rewrap and cleanup, so every one of them works on either
// backend, and a cleanup given -redis-url respects the servers' locks.
// With -redis-url, serve locks uploads in Redis and keeps the max_files
// reservations there (store/lock.Redis, its Reservations), so several
// instances can serve one bucket. With
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
//     is checked before the bucket. Like the auth secret, it is linked into
//     place and never replaced, so that processes starting together on a
//     fresh upload dir share the one whoever came first created;
//   - the encrypted data store (store), with the process-wide part-upload
//     limiter (store.NewLimiter) and the spool directory for ciphertext parts;
//   - the token verifier (auth.go): HS256 with -auth-secret-file, whose
//     text as written is the key (base64-decoded with
//     -auth-secret-encoding=base64; on the local disk by default
//     <upload-dir>/auth.secret, created 0600 when missing) or
//     EdDSA/RS256/ES256 with -auth-public-key-file; none with -auth=none,
//     which prints a loud warning;
//   - the policy (hooks.Policy): routing of new uploads to
//     home/<user>/<id>, guest/<owner>/<share>/<id> or public/<id>, and the
//     access check of every request;
//   - a tusd StoreComposer holding the store (core, termination, deferred
//     length, content serving) and its locker, which tusd shares
//     (store/lock): lock files flat in <upload-dir>/.tusvault/locks, or with
//     S3 an in-memory locker (one instance per bucket and prefix); uploads
//     the store completes on its own reach the hook handler's post-finish
//     through service.go's completions;
//   - tusd's handler built by tusd's hooks.NewHandlerWithHooks over the
//     policy's hook handler: its pre-create (strict Upload-Metadata,
//     token, route, limits) always runs first, then the external hook
//     backend of the -hooks-* flags, if any (exthooks.go); concatenation
//     is disabled, tusd's CORS defaults adjusted by the flags; its
//     golang.org/x/exp/slog logger is adapted to the log/slog handler
//     everything else logs through (log.go);
//   - a mux that routes the base path, with and without its trailing slash,
//     through http.StripPrefix and the policy's middleware to the handler,
//     and serves beside it the side routes (package web), the upload
//     page's API at /api/session and /api/uploads (web/api) and, unless
//     -show-greeting=false or the base path is "/", the upload page at
//     "/" (web, from the embedded web/dist); the policy signs its
//     download links with a key derived from the keyring's primary KEK;
//   - an http.Server like tusd's, whose base context is cancelled with
//     handler.ErrServerShutdown when shutdown starts, so that uploads in
//     flight save what they received and are answered 503.
//
// With -expire-after, a goroutine runs store.Cleanup shortly after startup
// and then every quarter of the duration (from once a minute to once an
// hour) until shutdown; `tusvault cleanup` runs one such sweep.
//
// The last startup line is tusd's "You can now upload files to: URL" with
// the address actually bound (-port=0 picks a free port). With the auto
// secret, the lines before it are a home link (user "dev") and a guest
// link (share "dev/demo"), valid 24h, carrying the token in the URL
// fragment. On the first
// signal the server stops accepting requests and waits up to
// -shutdown-timeout for requests in flight; a second signal exits at once.
//
// Files: main.go (main, run, dispatch, usage, version), config.go (the
// serve Config and its validation), flags.go (the serve flag set),
// storage.go (the storage flags, backends and the store), serve.go
// (handler, listener, server, shutdown), cleanup.go (the expiry sweep and
// the cleanup command), tls.go (-tls-mode), log.go (loggers), keys.go
// (keyring and the keys commands), decrypt.go (the decrypt command),
// authflags.go and auth.go (the auth flags, keys and startup links),
// service.go (store, policy and tusd handler), exthooks.go (the hook
// flags and backends), locks.go (the flat file locker), token.go (the
// token command), size.go (sizes with units), web.go (the web page
// flags), env.go (flags from TUSVAULT_ variables), healthcheck.go (the
// healthcheck command).
package main
