package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// goroutines reads go_goroutines from the server's /metrics.
func goroutines(s *server) (int, error) {
	resp, err := probeClient.Get("http://" + s.Addr + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_goroutines "); ok {
			f, err := strconv.ParseFloat(v, 64)
			return int(f), err
		}
	}
	return 0, fmt.Errorf("no go_goroutines in /metrics (%v)", sc.Err())
}

// idleReadings are the server's fds, goroutines and status at a moment.
type idleReadings struct {
	fds, goroutines int
	st              ramStatus
}

// settle polls s every 250 ms until its goroutine and fd counts held for
// a second and done (if set) holds, or 15 s passed, and returns the last
// readings.
func settle(t *testing.T, s *server, done func(idleReadings) bool) idleReadings {
	t.Helper()
	last, same := readIdle(t, s), 0
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); {
		time.Sleep(250 * time.Millisecond)
		r := readIdle(t, s)
		if r.fds == last.fds && r.goroutines == last.goroutines {
			same++
		} else {
			same = 0
		}
		last = r
		if same >= 4 && (done == nil || done(r)) {
			break
		}
	}
	return last
}

func readIdle(t *testing.T, s *server) idleReadings {
	t.Helper()
	g, err := goroutines(s)
	if err != nil {
		t.Fatal(err)
	}
	st, err := readRAMStatus(s)
	if err != nil {
		t.Fatal(err)
	}
	return idleReadings{fds: procFDs(t, s.cmd.Process.Pid), goroutines: g, st: st}
}

// 200 uploads opened and never fed a byte: 100 PATCHes send their headers
// with a Content-Length and no body, 100 connections send part of a
// PATCH's headers and stop. -network-timeout (2 s) must close every one of
// them; meanwhile no limiter slot is held, each connection costs one fd
// (no spool file before the first byte) and RAM stays flat; afterwards
// the fds and goroutines are back to where they were, RAM near idle, and
// every upload still at offset 0 with nothing stored, ready to resume.
// RAM: at most 12 MiB over idle while the 200 wait; once they are gone the
// Go heap is within 2 MiB of idle at once and RSS within 8 MiB within 20 s
// (the runtime returns pages to the system in the background).
//
// tusd keeps one goroutine per request for -request-completion-timeout
// after it ended (its delayed context): the test sets it to 1 s and takes
// both readings once the count has settled.
func TestChaosIdleUploads(t *testing.T) {
	const (
		n              = 200
		networkTimeout = 2 * time.Second
		closeBound     = networkTimeout + 8*time.Second // a loaded machine
		maxRAMRise     = 12.0                           // MiB over idle while the 200 wait (60 KiB each)
		maxRAMAfter    = 8.0                            // MiB of RSS over idle once they are gone
		maxHeapAfter   = 2.0                            // MiB of Go heap over idle once they are gone
		slack          = 3                              // fds and goroutines over the baseline
	)
	ctx := testCtx(t, 120*time.Second)
	dir := t.TempDir()
	s := startServer(t, dir, "-network-timeout", networkTimeout.String(), "-request-completion-timeout", "1s", "-expose-pprof")
	c := newClient()
	ups := make([]*chaosUpload, n)
	for i := range ups {
		ups[i] = createUpload(t, ctx, c, s, randomBytes(uint64(9700+i), 64<<10))
	}
	// Warm up the request path once, then let the client's connections go.
	if err := ups[0].resume(ctx, c, s, nil, false, 0); err != nil {
		t.Fatal(err)
	}
	c.HTTP.CloseIdleConnections()
	base := settle(t, s, nil)
	t.Logf("idle: %d fds, %d goroutines, %.1f MiB", base.fds, base.goroutines, base.st.Used)

	type result struct {
		took   time.Duration
		status string
		err    error
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	opened := time.Now()
	for i := 1; i < n; i++ {
		conn, err := net.Dial("tcp", s.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		req := fmt.Sprintf("PATCH %s HTTP/1.1\r\nHost: %s\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\n", ups[i].path, s.Addr)
		if i%2 == 0 {
			req += "Content-Type: application/offset+octet-stream\r\nContent-Length: 65536\r\n\r\n"
		}
		if _, err := io.WriteString(conn, req); err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			start := time.Now()
			conn.SetReadDeadline(start.Add(closeBound + 5*time.Second))
			r := bufio.NewReader(conn)
			line, _ := r.ReadString('\n')
			_, err := io.Copy(io.Discard, r) // until the server closes
			results[i] = result{took: time.Since(start), status: strings.TrimSpace(line), err: err}
		})
	}
	ups[0] = nil // finished above
	// While they wait: no limiter slot, RAM flat.
	var during idleReadings
	for time.Since(opened) < networkTimeout*3/4 {
		r := readIdle(t, s)
		if r.st.InUse != 0 {
			t.Errorf("%d limiter slots held by uploads that sent no byte", r.st.InUse)
		}
		if r.st.Used > during.st.Used {
			during = r
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("waiting: %d fds, %d goroutines, %.1f MiB, %d active uploads", during.fds, during.goroutines, during.st.Used, during.st.Active)
	switch {
	case during.fds < base.fds+n-1-slack:
		t.Errorf("only %d fds while %d connections are open (idle %d): the test did not hold them", during.fds, n-1, base.fds)
	case during.fds > base.fds+n-1+slack:
		// A request that has not received a byte needs no spool file.
		t.Errorf("%d fds while %d connections wait for their first byte (idle %d): more than one each", during.fds, n-1, base.fds)
	}
	if during.st.Used-base.st.Used > maxRAMRise {
		t.Errorf("RAM rose from %.1f to %.1f MiB for %d idle connections", base.st.Used, during.st.Used, n-1)
	}
	wg.Wait()
	statuses := map[string]int{}
	var slowest time.Duration
	for i := 1; i < n; i++ {
		r := results[i]
		slowest = max(slowest, r.took)
		if r.took > closeBound {
			t.Errorf("connection %d closed after %v, want within %v (-network-timeout %v)", i, r.took, closeBound, networkTimeout)
		}
		if r.err != nil && !strings.Contains(r.err.Error(), "reset") {
			t.Errorf("connection %d: %v", i, r.err)
		}
		if r.status == "" {
			r.status = "(closed without an answer)"
		}
		statuses[r.status]++
	}
	t.Logf("every connection closed by the server within %v: %v", slowest.Round(time.Millisecond), statuses)

	after := settle(t, s, func(r idleReadings) bool {
		return r.fds <= base.fds+slack && r.goroutines <= base.goroutines+slack && r.st.InUse == 0 && r.st.Active == 0
	})
	if after.fds > base.fds+slack || after.goroutines > base.goroutines+slack || after.st.InUse != 0 || after.st.Active != 0 {
		t.Errorf("after the connections closed: %d fds, %d goroutines, %d limiter slots, %d active uploads; idle was %d fds, %d goroutines",
			after.fds, after.goroutines, after.st.InUse, after.st.Active, base.fds, base.goroutines)
	}
	// The heap lets go of the connections at once, but an idle server
	// allocates nothing, so no collection sweeps their garbage: ask for
	// collections (the heap profile's gc=1, hence -expose-pprof), then
	// read the live heap. One is not enough: the requests' pooled buffers
	// (sync.Pool) are dropped over two collections, and 99 chunk buffers
	// of 64 KiB once stayed live through the one this asked for. The
	// runtime hands pages back to the system in the background.
	collectGarbage(t, s)
	ram := after.st
	for deadline := time.Now().Add(20 * time.Second); (ram.Used-base.st.Used > maxRAMAfter || ram.Heap-base.st.Heap > maxHeapAfter) && time.Now().Before(deadline); {
		time.Sleep(250 * time.Millisecond)
		collectGarbage(t, s)
		var err error
		if ram, err = readRAMStatus(s); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("after: %d fds, %d goroutines; RAM %.1f MiB (heap %.1f), idle was %.1f (heap %.1f)",
		after.fds, after.goroutines, ram.Used, ram.Heap, base.st.Used, base.st.Heap)
	if ram.Used-base.st.Used > maxRAMAfter || ram.Heap-base.st.Heap > maxHeapAfter {
		t.Errorf("RAM %.1f MiB (heap %.1f) 20 s after the idle connections closed, idle was %.1f (heap %.1f)", ram.Used, ram.Heap, base.st.Used, base.st.Heap)
	}
	for i, up := range ups {
		if up == nil {
			continue
		}
		info := readInfo(t, dir, up.id)
		if info.Offset != 0 || len(info.Enc.Segments) != 0 {
			t.Errorf("upload %d: .info has offset %d and %d segments after a PATCH that sent nothing", i, info.Offset, len(info.Enc.Segments))
		}
		if i%50 == 1 { // a few of them resume to the end
			if err := up.resume(ctx, c, s, nil, false, 0); err != nil {
				t.Fatalf("resuming upload %d: %v", i, err)
			}
			up.verify(t, ctx, c, s)
		}
	}
}

// collectGarbage makes the server run a garbage collection, through
// net/http/pprof's heap profile with gc=1 (open without a status token).
func collectGarbage(t *testing.T, s *server) {
	t.Helper()
	resp, err := probeClient.Get("http://" + s.Addr + "/debug/pprof/heap?gc=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("heap profile: %s, %v", resp.Status, err)
	}
}
