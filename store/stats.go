package store

import (
	"errors"
	"math"
	"sync/atomic"
	"time"
)

// Stats are the store's counters and histograms, for metrics and the RAM
// status route. They are plain atomics: the store does not know how they
// are exposed (package web turns them into Prometheus metrics). Every
// field is safe for concurrent use; read them through Store.Stats.
type Stats struct {
	// EncryptedBytes and DecryptedBytes count plaintext bytes through the
	// cipher: uploads received, and downloads and decryptions served.
	EncryptedBytes, DecryptedBytes atomic.Int64
	// PartBytes counts the bytes of the parts the backend confirmed.
	PartBytes atomic.Int64
	// PartSeconds times each part's upload to the backend (slot held).
	PartSeconds *Histogram
	// SpoolBytes is the ciphertext in the spool files of requests now.
	SpoolBytes atomic.Int64
	// TailCacheBytes and TailCacheFiles are the ciphertext and the files
	// the tail cache keeps in the spool directory between requests now.
	TailCacheBytes, TailCacheFiles atomic.Int64
	// TailCacheHits counts the requests that found their upload's tail
	// in the tail cache, TailCacheMisses those that read it back from
	// the object store, and TailFetchedBytes the bytes they read.
	TailCacheHits, TailCacheMisses, TailFetchedBytes atomic.Int64
	// TagFailures counts whole reads whose tag did not verify.
	TagFailures atomic.Int64
	// SweepRemoved, SweepCompleted and SweepSkipped count the uploads
	// Cleanup removed, completed, and skipped for an unreadable .info.
	SweepRemoved, SweepCompleted, SweepSkipped atomic.Int64
	// Active counts the uploads with a PATCH in progress, and Finished
	// the uploads completed, by route (see Routes).
	Active, Finished [len(Routes)]atomic.Int64
	// Backend counts the backend calls by operation (see BackendOps) and
	// outcome (see Outcomes), and times them by operation. A Get is
	// timed until its body is open, not read.
	Backend        [len(BackendOps)][len(Outcomes)]atomic.Int64
	BackendSeconds [len(BackendOps)]*Histogram
}

// Routes are the route labels of Stats.Active and Stats.Finished: the
// Storage["Route"] values hooks records, and "other" for anything else.
var Routes = [...]string{"home", "guest", "public", "other"}

// routeIndex is the index in Routes of an upload's route.
func routeIndex(route string) int {
	for i, r := range Routes[:len(Routes)-1] {
		if r == route {
			return i
		}
	}
	return len(Routes) - 1
}

// BackendOps are the operation labels of Stats.Backend, one per Backend
// method (and MultipartLister's).
var BackendOps = [...]string{
	"put", "get", "head", "delete", "list",
	"create_multipart", "upload_part", "list_parts", "complete_multipart", "abort_multipart",
	"list_multipart_uploads",
}

// The indexes of BackendOps.
const (
	opPut = iota
	opGet
	opHead
	opDelete
	opList
	opCreateMultipart
	opUploadPart
	opListParts
	opCompleteMultipart
	opAbortMultipart
	opListMultipartUploads
)

// Outcomes are the outcome labels of Stats.Backend.
var Outcomes = [...]string{"ok", "not_found", "error"}

// outcomeIndex classifies a backend call's error.
func outcomeIndex(err error) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, ErrObjectNotFound):
		return 1
	}
	return 2
}

// Bucket bounds (seconds) of the store's histograms.
var (
	partBuckets    = []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120}
	backendBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}
	waitBuckets    = []float64{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300}
)

func newStats() *Stats {
	s := &Stats{PartSeconds: NewHistogram(partBuckets)}
	for i := range s.BackendSeconds {
		s.BackendSeconds[i] = NewHistogram(backendBuckets)
	}
	return s
}

// Histogram counts observations in fixed buckets, as Prometheus
// histograms do: Bounds are the upper bounds; one more bucket, +Inf,
// takes the rest.
type Histogram struct {
	Bounds []float64
	counts []atomic.Uint64
	// sum is the float64 bits of the sum of the observations.
	sum atomic.Uint64
}

// NewHistogram returns an empty histogram with the given upper bounds, in
// increasing order.
func NewHistogram(bounds []float64) *Histogram {
	return &Histogram{Bounds: bounds, counts: make([]atomic.Uint64, len(bounds)+1)}
}

// Observe records one observation of v.
func (h *Histogram) Observe(v float64) {
	i := 0
	for i < len(h.Bounds) && v > h.Bounds[i] {
		i++
	}
	h.counts[i].Add(1)
	for {
		old := h.sum.Load()
		if h.sum.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+v)) {
			return
		}
	}
}

// ObserveSince records the seconds since start.
func (h *Histogram) ObserveSince(start time.Time) { h.Observe(time.Since(start).Seconds()) }

// Snapshot returns the observations so far: the cumulative count of each
// bound (as Prometheus wants them), the total count and the sum.
func (h *Histogram) Snapshot() (cumulative []uint64, count uint64, sum float64) {
	cumulative = make([]uint64, len(h.Bounds))
	for i := range h.Bounds {
		count += h.counts[i].Load()
		cumulative[i] = count
	}
	count += h.counts[len(h.Bounds)].Load()
	return cumulative, count, math.Float64frombits(h.sum.Load())
}
