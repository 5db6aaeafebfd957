// Command rssbench measures the tusvault server's memory and throughput
// under concurrent uploads: it starts the binary on loopback with a fresh
// upload dir, records its idle RSS, runs N uploads of SIZE bytes at once
// (each one PATCH streamed from a generator, as Uppy sends by default),
// samples RSS, optionally downloads each upload to check it, and prints a
// summary. Only 127.0.0.1 is used; the run is bounded by -timeout.
//
//	go run ./internal/rssbench -bin bin/tusvault -uploads 4 -size 1GiB
package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tusvault/tusvault/internal/tusclient"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "rssbench:", err)
		os.Exit(1)
	}
}

func run() error {
	bin := flag.String("bin", "bin/tusvault", "server binary")
	uploads := flag.Int("uploads", 4, "concurrent uploads")
	sizeFlag := flag.String("size", "1GiB", "bytes per upload (KiB, MiB, GiB suffixes)")
	verify := flag.Bool("verify", true, "download every upload and compare its SHA-256")
	timeout := flag.Duration("timeout", 20*time.Minute, "bound on the whole run")
	extra := flag.String("server-flags", "", "extra flags for the server, space-separated")
	flag.Parse()
	size, err := parseSize(*sizeFlag)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()

	dir, err := os.MkdirTemp("", "rssbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	args := []string{"-host", "127.0.0.1", "-port", "0", "-upload-dir", filepath.Join(dir, "data"), "-verbose=false"}
	if *extra != "" {
		args = append(args, strings.Fields(*extra)...)
	}
	srv, endpoint, err := startServer(ctx, *bin, args)
	if err != nil {
		return err
	}
	defer srv.Process.Kill()
	pid := srv.Process.Pid

	time.Sleep(time.Second)
	idle, _ := readStatus(pid, "VmRSS")
	var peak atomic.Int64
	stopSampling := sample(pid, &peak)

	start := time.Now()
	sums := make([][32]byte, *uploads)
	urls := make([]string, *uploads)
	var wg sync.WaitGroup
	errs := make(chan error, *uploads)
	c := &tusclient.Client{}
	for i := range *uploads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u, err := c.Create(ctx, endpoint, size, map[string]string{"filename": fmt.Sprintf("load-%d.bin", i)})
			if err != nil {
				errs <- err
				return
			}
			h := sha256.New()
			body := io.TeeReader(newGenerator(uint64(i), size), h)
			if _, err := c.Patch(ctx, u, 0, body, size); err != nil {
				errs <- fmt.Errorf("upload %d: %w", i, err)
				return
			}
			copy(sums[i][:], h.Sum(nil))
			urls[i] = u
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	stopSampling()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	hwm, _ := readStatus(pid, "VmHWM")
	total := float64(size) * float64(*uploads)
	fmt.Printf("uploads: %d x %s in %.1fs = %.1f MB/s total\n", *uploads, *sizeFlag, elapsed.Seconds(), total/elapsed.Seconds()/1e6)
	fmt.Printf("server RSS idle: %.1f MiB\n", float64(idle)/1024)
	fmt.Printf("server RSS peak while uploading (sampled every 50ms): %.1f MiB\n", float64(peak.Load())/1024)
	fmt.Printf("server VmHWM (peak RSS of the process so far): %.1f MiB\n", float64(hwm)/1024)
	if *verify {
		for i, u := range urls {
			if err := verifyDownload(ctx, u, sums[i]); err != nil {
				return fmt.Errorf("upload %d: %w", i, err)
			}
		}
		fmt.Printf("verified: %d downloads match their uploads\n", len(urls))
	}
	return nil
}

var uploadLine = regexp.MustCompile(`You can now upload files to: (\S+)`)

// startServer runs the binary and waits for its upload URL line.
func startServer(ctx context.Context, bin string, args []string) (*exec.Cmd, string, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := uploadLine.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	select {
	case u := <-found:
		return cmd, u, nil
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		return nil, "", errors.New("server did not print its upload URL within 30s")
	}
}

// sample records the highest VmRSS seen until the returned func is called.
func sample(pid int, peak *atomic.Int64) func() {
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			if kb, err := readStatus(pid, "VmRSS"); err == nil && kb > peak.Load() {
				peak.Store(kb)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); <-stopped }
}

// readStatus returns a kB field of /proc/PID/status.
func readStatus(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s in status", field)
}

func verifyDownload(ctx context.Context, u string, want [32]byte) error {
	c := &tusclient.Client{}
	req, err := c.NewRequest(ctx, "GET", u, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	h := sha256.New()
	if _, err := io.Copy(h, resp.Body); err != nil {
		return err
	}
	if [32]byte(h.Sum(nil)) != want {
		return errors.New("download differs from upload")
	}
	return nil
}

// generator yields n deterministic pseudo-random bytes without holding them.
type generator struct {
	r    *rand.ChaCha8
	left int64
}

func newGenerator(seed uint64, n int64) io.Reader {
	var s [32]byte
	s[0] = byte(seed)
	return &generator{r: rand.NewChaCha8(s), left: n}
}

func (g *generator) Read(p []byte) (int, error) {
	if g.left == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > g.left {
		p = p[:g.left]
	}
	n, _ := g.r.Read(p)
	g.left -= int64(n)
	return n, nil
}

func parseSize(s string) (int64, error) {
	mult := int64(1)
	for suffix, m := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30} {
		if v, ok := strings.CutSuffix(s, suffix); ok {
			s, mult = v, m
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return n * mult, nil
}
