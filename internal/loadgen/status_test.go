package loadgen

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestWatchStatus(t *testing.T) {
	var calls atomic.Int64
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		switch {
		case r.Header.Get("Authorization") != "Bearer tok":
			http.Error(w, "no", http.StatusUnauthorized)
		case n == 3:
			http.Error(w, "broken", http.StatusInternalServerError)
		case n == 4:
			fmt.Fprint(w, `{"other": 1}`)
		default:
			fmt.Fprintf(w, `{"ram_used_mb": %d.5, "go_heap_mb": 3.1, "spool_disk_mb": 10, "limiter_in_use": 2, "limiter_waiting": 1, "active_uploads": 5, "uptime_s": 1}`, 20+n)
		}
	}))
	defer hs.Close()
	w := WatchStatus(hs.URL+"/upload/ram-status", os.Getpid(), 10*time.Millisecond, http.Header{"Authorization": {"Bearer tok"}})
	deadline := time.Now().Add(10 * time.Second)
	for calls.Load() < 8 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if last, ok := w.Last(); !ok || last.RAMUsedMB < 21 {
		t.Errorf("Last: %+v, %v", last, ok)
	}
	s := w.Stop()
	if again := w.Stop(); len(again.Samples) != len(s.Samples) {
		t.Error("second Stop returned another series")
	}
	if s.Failed != 2 || !strings.Contains(s.FirstError, "status 500") {
		t.Errorf("failed %d (%s), want 2 starting with the 500", s.Failed, s.FirstError)
	}
	if len(s.Samples) < 6 {
		t.Fatalf("%d samples", len(s.Samples))
	}
	first := s.Samples[0]
	if first.RAMUsedMB != 21.5 || first.GoHeapMB != 3.1 || first.SpoolDiskMB != 10 || first.LimiterInUse != 2 ||
		first.LimiterWaiting != 1 || first.ActiveUploads != 5 || first.VmRSS <= 0 {
		t.Errorf("first sample %+v", first)
	}
	for i := 1; i < len(s.Samples); i++ {
		if s.Samples[i].At < s.Samples[i-1].At {
			t.Errorf("sample %d at %v before %v", i, s.Samples[i].At, s.Samples[i-1].At)
		}
	}

	// Without the header every reading fails; nothing waits past Stop.
	w = WatchStatus(hs.URL+"/upload/ram-status", 0, 10*time.Millisecond, nil)
	time.Sleep(50 * time.Millisecond)
	if _, ok := w.Last(); ok {
		t.Error("Last without a reading: ok")
	}
	if s := w.Stop(); len(s.Samples) != 0 || s.Failed == 0 || !strings.Contains(s.FirstError, "401") {
		t.Errorf("without the token: %d samples, %d failed (%s)", len(s.Samples), s.Failed, s.FirstError)
	}
}
