package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// ramStatus is what the chaos tests read of GET /upload/ram-status.
type ramStatus struct {
	Used    float64 `json:"ram_used_mb"`
	Heap    float64 `json:"go_heap_mb"`
	InUse   int     `json:"limiter_in_use"`
	Waiting int     `json:"limiter_waiting"`
	Active  int     `json:"active_uploads"`
}

func readRAMStatus(s *server) (ramStatus, error) {
	var st ramStatus
	resp, err := probeClient.Get("http://" + s.Addr + "/upload/ram-status")
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("ram-status: %s", resp.Status)
	}
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// statusSample is one reading of the slow-store test.
type statusSample struct {
	at  time.Time
	st  ramStatus
	cpu time.Duration
}

// The object store slow: every request to versitygw waits 300 ms in a
// proxy and what tusvault sends it is capped at 32 MiB/s, with one limiter
// slot (-s3-concurrent-part-uploads 1) for four uploads sent at once, so
// parts queue for the slot. Sampled once a second: RAM stays flat once the
// queue filled (the peak is within 5 MiB of the level then: spooled parts
// are files, not memory), the waiting requests do not spin (the server
// uses under a quarter of a core while parts wait), nothing fails, and every
// upload ends byte-exact.
func TestChaosSlowStore(t *testing.T) {
	const (
		uploads  = 4
		size     = 11*MiB + 1
		latency  = 300 * time.Millisecond
		rate     = 32 << 20
		maxRise  = 5.0  // MiB above the level once the queue filled
		maxCores = 0.25 // CPU while parts wait
	)
	ctx := testCtx(t, 120*time.Second)
	env := newS3Env(t)
	proxy := startSlowProxy(t, env.srv.Endpoint[len("http://"):], latency, rate)
	dir := t.TempDir()
	flags := []string{"-s3-bucket", env.srv.Bucket, "-s3-endpoint", "http://" + proxy.Addr(), "-keyring", env.keyring, "-s3-concurrent-part-uploads", "1"}
	s := startServer(t, dir, flags...)
	s.ObjDir = filepath.Join(env.srv.Dir, env.srv.Bucket)
	// decrypt goes straight to versitygw.
	s.Storage = []string{"-upload-dir", dir, "-s3-bucket", env.srv.Bucket, "-s3-endpoint", env.srv.Endpoint, "-keyring", env.keyring}
	pid := s.cmd.Process.Pid
	c := newClient()

	ups := make([]*chaosUpload, uploads)
	for i := range ups {
		ups[i] = createUpload(t, ctx, c, s, randomBytes(uint64(9900+i), size))
	}
	stop := make(chan struct{})
	var samples []statusSample
	var sampler sync.WaitGroup
	sampler.Go(func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			if st, err := readRAMStatus(s); err == nil {
				samples = append(samples, statusSample{at: time.Now(), st: st, cpu: procCPU(t, pid)})
			} else {
				t.Errorf("ram-status: %v", err)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	})
	start := time.Now()
	errs := make([]error, uploads)
	var wg sync.WaitGroup
	for i, up := range ups {
		wg.Go(func() { errs[i] = up.patch(ctx, c, s, size) })
	}
	wg.Wait()
	took := time.Since(start)
	close(stop)
	sampler.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("upload %d while the store is slow: %v", i, err)
		}
	}

	filled, peakWait := -1, 0
	for i, sm := range samples {
		t.Logf("+%4.1fs ram %5.1f MiB, limiter %d in use, %d waiting, cpu %v", sm.at.Sub(start).Seconds(), sm.st.Used, sm.st.InUse, sm.st.Waiting, sm.cpu)
		if sm.st.InUse > 1 {
			t.Errorf("%d limiter slots in use, the limit is 1", sm.st.InUse)
		}
		peakWait = max(peakWait, sm.st.Waiting)
		if filled < 0 && sm.st.Waiting >= uploads {
			filled = i
		}
	}
	if filled < 0 {
		t.Fatalf("the limiter queue never held %d parts (peak %d): the store was not slow enough", uploads, peakWait)
	}
	level, peak := samples[filled].st.Used, 0.0
	var busy, wall time.Duration
	for i := filled; i < len(samples); i++ {
		peak = max(peak, samples[i].st.Used)
		if i > filled && samples[i-1].st.Waiting > 0 && samples[i].st.Waiting > 0 {
			busy += samples[i].cpu - samples[i-1].cpu
			wall += samples[i].at.Sub(samples[i-1].at)
		}
	}
	cores := 0.0
	if wall > 0 {
		cores = busy.Seconds() / wall.Seconds()
	}
	t.Logf("%d uploads of %d bytes in %v through %d slow requests; queue up to %d parts; RAM %.1f MiB when it filled, peak %.1f after; %.2f cores over %v of waiting",
		uploads, size, took.Round(time.Millisecond), proxy.requests.Load(), peakWait, level, peak, cores, wall)
	if peak-level > maxRise {
		t.Errorf("RAM rose from %.1f to %.1f MiB while parts queued: more than %.0f MiB", level, peak, maxRise)
	}
	if wall < 2*time.Second {
		t.Errorf("parts waited for %v only: too short to judge the CPU", wall)
	} else if cores > maxCores {
		t.Errorf("the server used %.2f cores while parts waited for the limiter, want under %.2f", cores, maxCores)
	}
	for _, up := range ups {
		up.verify(t, ctx, c, s)
	}
}
