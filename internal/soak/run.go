package soak

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/tusvault/tusvault/internal/loadgen"
)

// Config is one soak run. Every field says its default.
type Config struct {
	Plan   Plan
	Target Target
	// Clients is the number of clients sending at once, each with its own
	// connections, each taking the plan's next file when done with one.
	// Default 8.
	Clients int
	// StatusURL is the server's GET /upload/ram-status, read every
	// StatusEvery (default 1 s) over the whole run; PID is the server's
	// process (its VmRSS read with each reading, its CPU time and peak
	// RSS measured). Required.
	StatusURL   string
	StatusEvery time.Duration
	PID         int
	// MaxFailures stops the run from taking more files once that many
	// have failed (the ones under way finish). Default 10.
	MaxFailures int
	// Logf receives a progress line every ProgressEvery (default 30 s)
	// and one per failure. Default: none.
	Logf          func(format string, args ...any)
	ProgressEvery time.Duration

	backoff func(n int) time.Duration // the clients' waits before retry n; nil: 0.5 s doubling up to 8 s
}

func (c *Config) validate() error {
	if c.Clients == 0 {
		c.Clients = 8
	}
	if c.StatusEvery == 0 {
		c.StatusEvery = time.Second
	}
	if c.MaxFailures == 0 {
		c.MaxFailures = 10
	}
	if c.ProgressEvery == 0 {
		c.ProgressEvery = 30 * time.Second
	}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
	switch {
	case len(c.Plan.Files) == 0:
		return errors.New("soak: an empty plan")
	case c.Clients < 1 || c.Clients > 64:
		return fmt.Errorf("soak: %d clients, want 1 to 64", c.Clients)
	case c.Target.Endpoint == "" || c.StatusURL == "" || c.PID == 0:
		return errors.New("soak: no endpoint, status URL or server PID")
	}
	for _, f := range c.Plan.Files {
		if c.Target.uploader(&f) == "" || c.Target.reader(&f) == "" {
			return fmt.Errorf("soak: no token for file %d (%s)", f.Index, f.Name)
		}
	}
	return nil
}

// Failure is a file that did not go as planned.
type Failure struct {
	File  int
	Name  string
	Error string
}

// Result is what a run did and measured.
type Result struct {
	Started time.Time     // UTC
	Elapsed time.Duration // from the first POST to the end of the final check
	Clients int
	Totals  Totals // the plan's

	Done        int   // files the clients finished without a failure
	Bytes       int64 // file bytes stored: the sizes of the files sent, a file terminated mid-way up to where it was
	Sent        int64 // bytes of PATCH bodies, those sent again after a cut or a retry included
	Patches     int
	Cuts        int
	Resumes     int
	Retries     int
	Conflicts   int
	Interrupted int
	Terminated  int
	Verified    int // files downloaded byte-exact once complete
	Reverified  int // kept files downloaded byte-exact again at the end
	Deleted     int // files deleted once verified (and gone)
	Failures    []Failure
	// RetryErrors are the causes of the first retries (up to 20).
	RetryErrors []string

	Status  loadgen.StatusSeries // the RAM status readings
	Server  loadgen.Usage        // the server process: CPU time, VmRSS every StatusEvery, VmHWM
	Pending []int                // files not taken (after MaxFailures)
}

// Run sends cfg.Plan with cfg.Clients clients, reading the server's RAM
// status every second, then downloads the kept files again and deletes
// them. Failures are in the Result; the error is for a run that could
// not start.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	p := cfg.Plan
	res := &Result{Started: time.Now().UTC(), Clients: cfg.Clients, Totals: p.Totals()}
	var mu sync.Mutex // guards res
	outcomes := make([]*Outcome, len(p.Files))
	fail := func(f *File, err error) {
		mu.Lock()
		defer mu.Unlock()
		res.Failures = append(res.Failures, Failure{File: f.Index, Name: f.Name, Error: err.Error()})
		cfg.Logf("FAILURE file %d %s: %v", f.Index, describe(f), err)
	}
	record := func(f *File, o *Outcome) {
		mu.Lock()
		defer mu.Unlock()
		res.Sent += o.Sent
		res.Patches += o.Patches
		res.Cuts += o.Cuts
		res.Resumes += o.Resumes
		res.Retries += o.Retries
		res.Conflicts += o.Conflicts
		res.Interrupted += o.Interrupted
		for _, e := range o.RetryErrors {
			if len(res.RetryErrors) < 20 {
				res.RetryErrors = append(res.RetryErrors, fmt.Sprintf("file %d: %s", f.Index, e))
			}
		}
	}

	probe := loadgen.StartProbe(cfg.PID, cfg.StatusEvery)
	watch := loadgen.WatchStatus(cfg.StatusURL, cfg.PID, cfg.StatusEvery, nil)
	start := time.Now()
	stopProgress := progress(cfg, res, &mu, watch, start)

	clients := make([]*client, cfg.Clients)
	for i := range clients {
		clients[i] = newClient(cfg.Target, p.Mix)
		clients[i].backoff = cfg.backoff
		defer clients[i].http.CloseIdleConnections()
	}
	jobs := make(chan int)
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Go(func() {
			for i := range jobs {
				f := &p.Files[i]
				o, err := c.upload(ctx, f)
				record(f, o)
				if err != nil {
					fail(f, err)
					continue
				}
				mu.Lock()
				outcomes[i] = o
				res.Done++
				res.Bytes += storedBytes(f)
				if o.Terminated {
					res.Terminated++
				}
				if o.Verified {
					res.Verified++
				}
				if o.Deleted {
					res.Deleted++
				}
				mu.Unlock()
			}
		})
	}
	for i := range p.Files {
		mu.Lock()
		stop := len(res.Failures) >= cfg.MaxFailures
		mu.Unlock()
		if stop || ctx.Err() != nil {
			for j := i; j < len(p.Files); j++ {
				res.Pending = append(res.Pending, j)
			}
			break
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()

	// The kept files: downloaded again, then deleted.
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(cfg.Clients)
	for i, o := range outcomes {
		f := &p.Files[i]
		if o == nil || !f.Keep {
			continue
		}
		c := clients[i%len(clients)]
		g.Go(func() error {
			var again Outcome
			again.URL, again.Sum = o.URL, o.Sum
			err := c.verify(gctx, &again, f)
			if err == nil {
				mu.Lock()
				res.Reverified++
				mu.Unlock()
				err = c.remove(gctx, &again, f)
			}
			record(f, &again)
			if err != nil {
				fail(f, fmt.Errorf("at the end: %w", err))
			}
			return nil
		})
	}
	g.Wait()

	res.Elapsed = time.Since(start)
	stopProgress()
	res.Status = watch.Stop()
	res.Server = probe.Stop()
	return res, nil
}

// storedBytes is what the server stored of f when it went as planned.
func storedBytes(f *File) int64 {
	if f.Term == TerminatesMid {
		return f.TerminateAt
	}
	return f.Data.Size
}

// describe names f for a log line.
func describe(f *File) string {
	route := "home/" + f.Account
	if f.Share != nil {
		route = "guest/" + f.Share.String()
	}
	return fmt.Sprintf("%s (%d bytes, %s, cuts %v, termination %d)", f.Name, f.Data.Size, route, f.Cuts, f.Term)
}

// newClient is a client with connections of its own.
func newClient(t Target, m Mix) *client {
	tr := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       30 * time.Second,
		ResponseHeaderTimeout: 0, // bounded by each request's context
		DisableCompression:    true,
	}
	return &client{http: &http.Client{Transport: tr}, target: t, chunk: [2]int64{m.ChunkMin, m.ChunkMax}}
}

// progress logs a line every cfg.ProgressEvery until the returned func
// is called.
func progress(cfg Config, res *Result, mu *sync.Mutex, watch *loadgen.StatusWatch, start time.Time) func() {
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(cfg.ProgressEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			last, _ := watch.Last()
			mu.Lock()
			el := time.Since(start)
			cfg.Logf("%v: %d of %d files, %.2f GB stored (%.1f MB/s), %d cuts, %d retries, %d failures; RSS %.1f MiB, %d uploads active, limiter %d in use, %d waiting",
				el.Round(time.Second), res.Done, len(cfg.Plan.Files), float64(res.Bytes)/1e9,
				float64(res.Bytes)/el.Seconds()/1e6, res.Cuts, res.Retries, len(res.Failures),
				last.RAMUsedMB, last.ActiveUploads, last.LimiterInUse, last.LimiterWaiting)
			mu.Unlock()
		}
	}()
	return func() {
		close(done)
		<-stopped
	}
}
