// Command rssbench measures the tusvault server's memory and throughput
// under concurrent uploads: it starts the binary on loopback with a fresh
// upload dir, records its idle RSS, runs N uploads of SIZE bytes at once
// (each one PATCH streamed from a generator, as Uppy sends by default),
// samples RSS, optionally downloads each upload to check it, and prints a
// summary. Only 127.0.0.1 is used; the run is bounded by -timeout. The
// measuring itself is internal/loadgen.
//
//	go run ./internal/rssbench -bin bin/tusvault -uploads 4 -size 1GiB
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tusvault/tusvault/internal/loadgen"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "rssbench:", err)
		os.Exit(1)
	}
}

// config holds the command's flags.
type config struct {
	bin     string        // server binary; default bin/tusvault
	uploads int           // concurrent uploads; default 4
	size    string        // bytes per upload, as given; default 1GiB
	verify  bool          // download and compare every upload; default true
	timeout time.Duration // bound on the whole run; default 20m
	extra   string        // extra server flags, space-separated; default none
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("rssbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.bin, "bin", "bin/tusvault", "server binary")
	fs.IntVar(&c.uploads, "uploads", 4, "concurrent uploads")
	fs.StringVar(&c.size, "size", "1GiB", "bytes per upload (KiB, MiB, GiB suffixes)")
	fs.BoolVar(&c.verify, "verify", true, "download every upload and compare its SHA-256")
	fs.DurationVar(&c.timeout, "timeout", 20*time.Minute, "bound on the whole run")
	fs.StringVar(&c.extra, "server-flags", "", "extra flags for the server, space-separated")
	return c, fs.Parse(args)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	size, err := loadgen.ParseSize(c.size)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	dir, err := os.MkdirTemp("", "rssbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	serverArgs := []string{"-host", "127.0.0.1", "-port", "0", "-upload-dir", filepath.Join(dir, "data"), "-verbose=false"}
	serverArgs = append(serverArgs, strings.Fields(c.extra)...)
	srv, err := loadgen.StartServer(ctx, c.bin, serverArgs, nil)
	if err != nil {
		return err
	}
	defer srv.Stop()

	res, err := loadgen.Run(ctx, loadgen.Options{
		Endpoint: srv.URL, PID: srv.PID, Uploads: c.uploads, Size: size,
		Settle: time.Second,
	})
	if err != nil {
		return fmt.Errorf("%w; server output:\n%s", err, srv.Output())
	}
	fmt.Fprintf(stdout, "uploads: %d x %s in %.1fs = %.1f MB/s total\n", c.uploads, c.size, res.Elapsed.Seconds(), res.MBps())
	fmt.Fprintf(stdout, "server RSS idle: %.1f MiB\n", mib(res.IdleRSS))
	fmt.Fprintf(stdout, "server RSS peak while uploading (sampled every 50ms): %.1f MiB\n", mib(res.PeakRSS))
	fmt.Fprintf(stdout, "server VmHWM (peak RSS of the process so far): %.1f MiB\n", mib(res.HWM))
	if c.verify {
		if err := res.Verify(ctx); err != nil {
			return fmt.Errorf("%w; server output:\n%s", err, srv.Output())
		}
		fmt.Fprintf(stdout, "verified: %d downloads match their uploads\n", len(res.URLs))
	}
	return nil
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
