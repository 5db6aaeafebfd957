package web

import (
	"net"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	tushooks "github.com/tus/tusd/v2/pkg/hooks"
	"github.com/tus/tusd/v2/pkg/prometheuscollector"

	"github.com/tusvault/tusvault/store"
)

// Metrics is the Prometheus registry of /metrics: tusd's collector and
// hook counters under their tusd_* names (so tusd dashboards keep
// working), the Go and process collectors, and tusvault_* read from the
// store, its limiter, the policy and /proc at each scrape.
type Metrics struct {
	reg *prometheus.Registry
	// connections is tusd's tusd_connections_open, fed by ConnState.
	connections prometheus.Gauge
}

func newMetrics(cfg Config) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		connections: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tusd_connections_open", Help: "Current number of open connections.",
		}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.connections,
		tushooks.MetricsHookErrorsTotal,
		tushooks.MetricsHookInvocationsTotal,
		&collector{cfg: cfg},
	)
	if cfg.TusMetrics != nil {
		m.reg.MustRegister(prometheuscollector.New(*cfg.TusMetrics))
	}
	return m
}

func (m *Metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// ConnState counts open connections; set it as http.Server.ConnState.
func (m *Metrics) ConnState(_ net.Conn, s http.ConnState) {
	switch s {
	case http.StateNew:
		m.connections.Inc()
	case http.StateClosed, http.StateHijacked:
		m.connections.Dec()
	}
}

// The descriptors of tusvault_* metrics.
var (
	descLimiterSlots   = desc("limiter_slots", "Slots of the part upload limiter.")
	descLimiterInUse   = desc("limiter_in_use", "Limiter slots held by part uploads now.")
	descLimiterWaiting = desc("limiter_waiting", "Parts waiting for a limiter slot now.")
	descLimiterWait    = desc("limiter_wait_seconds", "Time a part waited for a limiter slot.")
	descPartSeconds    = desc("part_upload_seconds", "Time one part took to upload to the object store, slot held.")
	descPartBytes      = desc("part_bytes_total", "Bytes in parts the object store confirmed.")
	descEncrypted      = desc("encrypted_bytes_total", "Plaintext bytes encrypted (uploads received).")
	descDecrypted      = desc("decrypted_bytes_total", "Plaintext bytes decrypted (downloads served).")
	descBackendCalls   = desc("backend_requests_total", "Object store requests by operation and outcome (ok, not_found, error).", "op", "outcome")
	descBackendSeconds = desc("backend_request_seconds", "Object store request time by operation (a get until its body is open).", "op")
	descSpoolBytes     = desc("spool_bytes", "Ciphertext bytes in local spool files now.")
	descTailCacheBytes = desc("tail_cache_bytes", "Ciphertext bytes of upload tails kept in the spool directory between requests now.")
	descTailCacheFiles = desc("tail_cache_files", "Upload tails kept in the spool directory between requests now.")
	descTailCacheHits  = desc("tail_cache_hits_total", "PATCHes that found their upload's tail in the tail cache.")
	descTailCacheMiss  = desc("tail_cache_misses_total", "PATCHes that read their upload's tail back from the object store.")
	descTailFetched    = desc("tail_fetched_bytes_total", "Tail bytes read back from the object store.")
	descActive         = desc("uploads_active", "Uploads with a PATCH in progress, by route.", "route")
	descFinished       = desc("uploads_finished_total", "Uploads completed, by route.", "route")
	descRefusals       = desc("auth_refusals_total", "Requests refused by the token or access checks, by reason.", "reason")
	descTagFailures    = desc("tag_failures_total", "Whole downloads whose tag did not verify.")
	descSweepRemoved   = desc("sweep_removed_total", "Unfinished uploads the expiry sweep removed.")
	descSweepCompleted = desc("sweep_completed_total", "Uploads the expiry sweep completed.")
	descSweepSkipped   = desc("sweep_skipped_total", "Uploads the expiry sweep skipped: .info unreadable.")
	descRAMUsed        = desc("ram_used_bytes", "Resident set size of the process.")
	descRAMLimit       = desc("ram_limit_bytes", "Memory limit the process runs under (-ram-limit-mb, cgroup, or physical memory).", "source")
)

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc("tusvault_"+name, help, labels, nil)
}

// collector reads the tusvault_* metrics at each scrape.
type collector struct{ cfg Config }

func (c *collector) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(c, ch) }

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	st := c.cfg.Store.Stats()
	lim := c.cfg.Store.Limiter()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge(descLimiterSlots, float64(lim.Slots()))
	gauge(descLimiterInUse, float64(lim.InUse()))
	gauge(descLimiterWaiting, float64(lim.Waiting()))
	histogram(ch, descLimiterWait, lim.WaitSeconds())
	histogram(ch, descPartSeconds, st.PartSeconds)
	counter(descPartBytes, st.PartBytes.Load())
	counter(descEncrypted, st.EncryptedBytes.Load())
	counter(descDecrypted, st.DecryptedBytes.Load())
	for op, name := range store.BackendOps {
		for o, outcome := range store.Outcomes {
			counter(descBackendCalls, st.Backend[op][o].Load(), name, outcome)
		}
		histogram(ch, descBackendSeconds, st.BackendSeconds[op], name)
	}
	gauge(descSpoolBytes, float64(st.SpoolBytes.Load()))
	gauge(descTailCacheBytes, float64(st.TailCacheBytes.Load()))
	gauge(descTailCacheFiles, float64(st.TailCacheFiles.Load()))
	counter(descTailCacheHits, st.TailCacheHits.Load())
	counter(descTailCacheMiss, st.TailCacheMisses.Load())
	counter(descTailFetched, st.TailFetchedBytes.Load())
	for i, route := range store.Routes {
		gauge(descActive, float64(st.Active[i].Load()), route)
		counter(descFinished, st.Finished[i].Load(), route)
	}
	if p := c.cfg.Policy; p != nil {
		for reason, n := range p.Refusals() {
			counter(descRefusals, n, reason)
		}
	}
	counter(descTagFailures, st.TagFailures.Load())
	counter(descSweepRemoved, st.SweepRemoved.Load())
	counter(descSweepCompleted, st.SweepCompleted.Load())
	counter(descSweepSkipped, st.SweepSkipped.Load())
	if rss, err := c.cfg.System.RSS(); err == nil {
		gauge(descRAMUsed, float64(rss))
	}
	gauge(descRAMLimit, float64(c.cfg.Limit.Bytes), c.cfg.Limit.Source)
}

// histogram sends h as a Prometheus histogram.
func histogram(ch chan<- prometheus.Metric, d *prometheus.Desc, h *store.Histogram, labels ...string) {
	cum, count, sum := h.Snapshot()
	buckets := make(map[float64]uint64, len(cum))
	for i, b := range h.Bounds {
		buckets[b] = cum[i]
	}
	ch <- prometheus.MustNewConstHistogram(d, count, sum, buckets, labels...)
}
