package web

import (
	"encoding/json"
	"math"
	"net/http"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// RAMStatus is the body of GET /upload/ram-status. The first three fields
// are the old system's; sizes are MiB with one decimal.
type RAMStatus struct {
	RAMUsedMB float64 `json:"ram_used_mb"`
	// RAMLimitMB is the detected limit (RAMLimitSource says which).
	RAMLimitMB     float64 `json:"ram_limit_mb"`
	RAMFreeMB      float64 `json:"ram_free_mb"`
	RAMLimitSource string  `json:"ram_limit_source"`
	// GoHeapMB is the Go heap's live and unswept objects.
	GoHeapMB float64 `json:"go_heap_mb"`
	// GoMemLimitMB is the Go runtime's soft limit; null when none.
	GoMemLimitMB *float64 `json:"go_memlimit_mb"`
	SpoolDiskMB  float64  `json:"spool_disk_mb"`
	// TailCacheDiskMB is the spool disk that tails kept between the
	// requests of their uploads hold (beside SpoolDiskMB).
	TailCacheDiskMB float64 `json:"tail_cache_disk_mb"`
	LimiterSlots    int     `json:"limiter_slots"`
	LimiterInUse    int     `json:"limiter_in_use"`
	LimiterWaiting  int     `json:"limiter_waiting"`
	ActiveUploads   int64   `json:"active_uploads"`
	UptimeS         float64 `json:"uptime_s"`
}

// mb is bytes in MiB with one decimal.
func mb(bytes int64) float64 { return math.Round(float64(bytes)/(1<<20)*10) / 10 }

// RAMStatus reads the current status.
func (r *Routes) RAMStatus() (RAMStatus, error) {
	rss, err := r.cfg.System.RSS()
	if err != nil {
		return RAMStatus{}, err
	}
	st := r.cfg.Store.Stats()
	lim := r.cfg.Store.Limiter()
	var active int64
	for i := range st.Active {
		active += st.Active[i].Load()
	}
	s := RAMStatus{
		RAMUsedMB:       mb(rss),
		RAMLimitMB:      mb(r.cfg.Limit.Bytes),
		RAMFreeMB:       mb(r.cfg.Limit.Bytes - rss),
		RAMLimitSource:  r.cfg.Limit.Source,
		GoHeapMB:        mb(goHeap()),
		SpoolDiskMB:     mb(st.SpoolBytes.Load()),
		TailCacheDiskMB: mb(st.TailCacheBytes.Load()),
		LimiterSlots:    lim.Slots(),
		LimiterInUse:    lim.InUse(),
		LimiterWaiting:  lim.Waiting(),
		ActiveUploads:   active,
		UptimeS:         math.Round(time.Since(r.cfg.Started).Seconds()*10) / 10,
	}
	if l := debug.SetMemoryLimit(-1); l != math.MaxInt64 {
		v := mb(l)
		s.GoMemLimitMB = &v
	}
	return s, nil
}

// goHeap is the bytes of live and unswept heap objects, read without
// stopping the world.
func goHeap() int64 {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	if sample[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return int64(sample[0].Value.Uint64())
}

func (r *Routes) serveRAMStatus(w http.ResponseWriter, req *http.Request) {
	s, err := r.RAMStatus()
	if err != nil {
		r.cfg.Logger.ErrorContext(req.Context(), "ram status failed", "error", err)
		http.Error(w, "ERR_INTERNAL_SERVER_ERROR: the memory readings are unavailable", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(s)
}
