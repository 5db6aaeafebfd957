// Package redisserver runs a real Redis for tests: Debian's redis-server
// (7.0 on bookworm), listening on a loopback port chosen at run time, with
// a temporary working directory and no persistence (no snapshots, no
// append-only file), so that a restart loses every key as a crash of a
// cache-only Redis would.
//
// The locker tests of store/lock and the multi-instance end-to-end tests
// call Start; the server is stopped when the test ends:
//
//	srv := redisserver.Start(t)
//	l, err := lock.NewRedis(lock.RedisConfig{URL: srv.URL()})
//
// Stop and Restart (on the same port) let a test take Redis away under
// load. The binary is looked up in the environment variable
// TUSVAULT_REDIS_SERVER, then in PATH (`apt-get install redis-server`, which
// `make test` runs as root; the Debian service is not needed: the tests
// start their own). Without it a test is skipped with that instruction,
// except when the environment variable CI is set: then it fails, so that
// CI never passes by skipping.
package redisserver
