// Package e2e runs the tusvault binary as a subprocess on 127.0.0.1 and
// checks it end to end with internal/tusclient: uneven PATCH pieces, ranged
// GETs, resumption after SIGKILL and SIGTERM, rolled-back offsets, bad input,
// termination, and that nothing is stored in clear.
//
// The chaos tests (chaos_*_test.go) run a second binary built with -tags
// failpoint (internal/failpoint) and kill it at every stage of the upload
// path, on the disk backend and on versitygw: one deterministic trial per
// stage, random kills in a loop, and the sweep; after every restart each
// upload resumes and ends byte-exact with a valid tag, and a checker over
// the segment log and every .info proves that no counter block encrypted
// two plaintexts (chaos_check_test.go). They also take the object store
// down mid-upload, make it slow behind a proxy until the limiter queue
// fills, and open 200 uploads that never send a byte. `make test` runs
// them in their CI size (10 random trials, an 8 s outage); `make chaos`
// runs the long loops (TUSVAULT_CHAOS=long: 50 trials, a 30 s outage).
package e2e
