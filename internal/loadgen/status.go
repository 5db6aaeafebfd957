package loadgen

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// statusTimeout bounds one GET of the status route.
const statusTimeout = 5 * time.Second

// StatusSample is one reading of tusvault's GET /upload/ram-status (the
// fields of its JSON body named after them) and, as a cross-check, of the
// process's VmRSS from /proc.
type StatusSample struct {
	At             time.Duration // since WatchStatus
	RAMUsedMB      float64       `json:"ram_used_mb"`
	GoHeapMB       float64       `json:"go_heap_mb"`
	SpoolDiskMB    float64       `json:"spool_disk_mb"`
	LimiterInUse   int           `json:"limiter_in_use"`
	LimiterWaiting int           `json:"limiter_waiting"`
	ActiveUploads  int64         `json:"active_uploads"`
	VmRSS          int64         `json:"-"` // bytes; 0 without a PID
}

// StatusSeries is what a StatusWatch read.
type StatusSeries struct {
	Samples []StatusSample
	// Failed counts the readings that failed (no answer within 5 s, a
	// status other than 200, a body that is not the JSON expected);
	// FirstError says why the first one did.
	Failed     int
	FirstError string
}

// StatusWatch reads a server's RAM status route at a fixed interval.
type StatusWatch struct {
	url    string
	pid    int
	header http.Header
	client *http.Client
	start  time.Time

	cancel  context.CancelFunc
	stopped chan struct{}
	once    sync.Once
	mu      sync.Mutex // guards series while the sampler runs
	series  StatusSeries
}

// WatchStatus GETs statusURL (such as http://127.0.0.1:PORT/upload/ram-status)
// now and every interval (at least 10 ms) until Stop, with header added
// to each request (nil: none; an Authorization for -status-token-file),
// and reads the VmRSS of pid with each answer (pid 0: none). A reading
// that takes longer than the interval delays the next one; none is
// dropped from the series but by its bound (65,536 readings).
func WatchStatus(statusURL string, pid int, every time.Duration, header http.Header) *StatusWatch {
	every = max(every, 10*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	w := &StatusWatch{
		url: statusURL, pid: pid, header: header, start: time.Now(),
		client: &http.Client{Timeout: statusTimeout, Transport: &http.Transport{MaxIdleConnsPerHost: 1}},
		cancel: cancel, stopped: make(chan struct{}),
	}
	go w.run(ctx, every)
	return w
}

func (w *StatusWatch) run(ctx context.Context, every time.Duration) {
	defer close(w.stopped)
	defer w.client.CloseIdleConnections()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		w.read(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (w *StatusWatch) read(ctx context.Context) {
	s, err := w.get(ctx)
	if ctx.Err() != nil {
		return // stopped during the request: not a failed reading
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		if w.series.Failed == 0 {
			w.series.FirstError = fmt.Sprintf("at %v: %v", time.Since(w.start).Round(time.Millisecond), err)
		}
		w.series.Failed++
		return
	}
	if w.pid != 0 {
		s.VmRSS, _ = readStatus(w.pid, "VmRSS")
	}
	if len(w.series.Samples) < maxSamples {
		w.series.Samples = append(w.series.Samples, s)
	}
}

func (w *StatusWatch) get(ctx context.Context) (StatusSample, error) {
	var s StatusSample
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.url, nil)
	if err != nil {
		return s, err
	}
	for k, vs := range w.header {
		req.Header[k] = vs
	}
	at := time.Since(w.start)
	resp, err := w.client.Do(req)
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s, fmt.Errorf("GET %s: status %d", w.url, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return s, fmt.Errorf("GET %s: %w", w.url, err)
	}
	var probe struct {
		RAMUsedMB *float64 `json:"ram_used_mb"`
	}
	if err := json.Unmarshal(body, &probe); err != nil || probe.RAMUsedMB == nil {
		return s, fmt.Errorf("GET %s: not a RAM status: %.200q", w.url, body)
	}
	if err := json.Unmarshal(body, &s); err != nil {
		return s, fmt.Errorf("GET %s: %w", w.url, err)
	}
	s.At = at
	return s, nil
}

// Last returns the latest reading (false: none yet).
func (w *StatusWatch) Last() (StatusSample, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.series.Samples) == 0 {
		return StatusSample{}, false
	}
	return w.series.Samples[len(w.series.Samples)-1], true
}

// Stop ends the readings and returns them. Later calls return the same.
func (w *StatusWatch) Stop() StatusSeries {
	w.once.Do(func() {
		w.cancel()
		<-w.stopped
	})
	return w.series
}
