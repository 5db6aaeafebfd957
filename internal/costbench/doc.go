// Package costbench measures what an upload costs in object-store
// traffic: the bytes a tus server moves to and from its S3 server per
// uploaded byte, tusvault next to tusd v2.9.1 on the same versitygw
// (issue 12).
//
// A Proxy sits between the server and versitygw: a TCP proxy on a
// loopback port chosen at run time, given to the server as its
// -s3-endpoint. It forwards every byte unchanged and counts them both
// ways; reading the HTTP/1.1 messages as they pass (keep-alive
// connections, bodies framed by Content-Length or chunked encoding,
// 100-continue, HEAD answers without a body) it tallies each request by
// its Kind: the HTTP method, the S3 operation told from the method, the
// query (?uploads, ?uploadId, ?partNumber) and X-Amz-Copy-Source, and the
// class of object told from the key: <id>.info (the upload's state, in
// both servers' layouts), <id>.part (the bytes short of a part) or the
// data object. Wire bytes are whole messages (start line, headers,
// framing, body); body bytes are the decoded bodies. A message the proxy
// cannot parse is still forwarded and reported by Proxy.Err; once no
// request is in flight the tallies add up to the raw byte counts, which
// the harness checks.
//
// One run (a Run) is one server with a fresh bucket and a fresh proxy:
// a POST, the upload sent in PATCHes of one size, then one GET through
// the server checked against the SHA-256 of what was sent. Each phase
// ends when the object store has been quiet for 200 ms. Table writes the
// runs as markdown: bytes moved per uploaded byte (GET included) and the
// GET's share, the share of .info, S3 requests (per MiB, PUT, GET, HEAD)
// and the tusvault/tusd ratio; what .info costs per tus request (reads,
// writes, body bytes read and written per request, the mean size
// written); where the bytes go by object class and direction; and the
// S3 requests of each run by kind.
//
// The servers are started as internal/bench starts them (bench.Sides,
// bench.StartSide): 10 MiB parts, 4 part uploads in flight, the same
// environment; byte counts do not depend on timing, so the numbers are
// the same on any machine.
//
// BenchmarkTraffic is the table of issue 12: a 24 MiB upload in PATCHes
// of 5 MiB, 1 MiB and 256 KiB, each server in turn (tusd first), with
// bin/tusd and bin/tusvault (or $TUSVAULT_BENCH_TUSD and
// $TUSVAULT_BENCH_TUSVAULT); it prints the tables and writes them to
// $TUSVAULT_COSTBENCH_REPORT (relative to the repository root) when set:
//
//	make bench-traffic
//	go test -run '^$' -bench BenchmarkTraffic -benchtime=1x ./internal/costbench/
//
// `make test` runs the same sizes (about 20 s) with tusvault built from
// the tree: TestReducedRun checks that every upload came back unchanged
// and that the counts make sense, and TestTrafficTargets holds tusvault
// to the targets of issue 12: at most 3.2 bytes moved per uploaded byte
// for PATCHes of 256 KiB and more, and at most 0.6 × tusd's where tusd's
// is above 3.2/0.6. Both skip without versitygw or tusd, except in CI,
// where they fail.
package costbench
