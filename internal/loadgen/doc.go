// Package loadgen drives a tus server process the way the memory and
// throughput measurements need it: it starts the server binary, reads its
// upload URL from the "You can now upload files to: URL" line that tusd and
// tusvault both print, samples the process's resident set size while N
// uploads run at once, and checks afterwards that every upload downloads
// back unchanged.
//
// Each upload is a POST followed by ONE PATCH whose body streams from a
// deterministic generator (ChaCha8 seeded with Options.Seed+i), as Uppy
// sends a file by default; nothing is held in memory on the client side, so
// uploads of many GiB cost the client a few buffers. The body is hashed
// (SHA-256) on the way out and the download is compared with that hash.
// Two runs with the same Seed, Uploads and Size send the same bytes, which
// is what a side-by-side comparison of two servers needs.
//
// Options.Rate makes the uploads slow clients: each PATCH body is paced
// in the client by a token bucket (pieces of up to 16 KiB), so the server
// sees a connection that trickles for Size/Rate seconds.
//
// A Probe measures a process over an interval: its VmRSS from
// /proc/PID/status at the start and every interval after (the series is
// kept, e.g. for a chart), VmHWM at the end, its CPU time (utime+stime
// from /proc/PID/stat) and how busy the whole machine was (/proc/stat).
// Run probes Options.PID while its uploads run (every Options.SampleEvery,
// 50 ms by default); a caller that runs several groups of uploads at once
// (PID 0 in each) probes the server itself across all of them. The
// package is Linux-only in what it measures; elsewhere the fields stay 0.
//
// Content is a deterministic file that can be read from any offset (a
// client resuming at the server's offset sends the same bytes again).
// WatchStatus reads tusvault's GET /upload/ram-status at an interval,
// with the process's VmRSS beside each reading. StartServerLog keeps a
// server's whole output in a file of the caller's.
//
// Only loopback addresses are used: StartServer refuses a server that
// announces anything but a loopback IP, and Run refuses a non-loopback
// endpoint. Every wait is bounded by the caller's context and by the
// package's own timeouts.
//
// Three users sit on top of it: internal/rssbench (`make rss`, the
// server's idle and peak RSS on its default disk storage), the
// side-by-side benchmark against tusd in internal/bench (`make
// bench-s3`) and the soak in internal/soak (`make soak`).
//
//	srv, err := loadgen.StartServer(ctx, "bin/tusvault", []string{"-host", "127.0.0.1", "-port", "0"}, nil)
//	if err != nil { ... }
//	defer srv.Stop()
//	res, err := loadgen.Run(ctx, loadgen.Options{Endpoint: srv.URL, PID: srv.PID, Uploads: 4, Size: 1 << 30, Verify: true})
package loadgen
