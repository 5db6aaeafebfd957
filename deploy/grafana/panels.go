package grafana

import (
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
	"github.com/grafana/grafana-foundation-sdk/go/units"
)

// Panel sizes on Grafana's 24-column grid.
const (
	halfWidth   = 12
	quarterWide = 6
	graphHeight = 8
	statHeight  = 4
)

// datasource is the Prometheus data source the dashboard's datasource
// variable selects; every panel and variable query goes through it.
func datasource() common.DataSourceRef {
	return common.DataSourceRef{Type: cog.ToPtr("prometheus"), Uid: cog.ToPtr("${datasource}")}
}

// series is one query of a panel and its legend.
type series struct {
	expr   string
	legend string
}

// targets returns the panel's queries with ref ids A, B, C, ...: range
// queries, or instant ones (one value at the end of the time range).
func targets(instant bool, ss ...series) []cog.Builder[variants.Dataquery] {
	out := make([]cog.Builder[variants.Dataquery], len(ss))
	for i, s := range ss {
		q := prometheus.NewDataqueryBuilder().
			Datasource(datasource()).
			RefId(string(rune('A' + i))).
			Expr(s.expr).
			LegendFormat(s.legend)
		if instant {
			q.Instant()
		} else {
			q.Range()
		}
		out[i] = q
	}
	return out
}

// graph is a time series panel, half the grid wide, with its legend below
// and a tooltip listing every series.
func graph(title, description, unit string, ss ...series) *timeseries.PanelBuilder {
	return timeseries.NewPanelBuilder().
		Title(title).
		Description(description).
		Datasource(datasource()).
		Unit(unit).
		Min(0).
		Span(halfWidth).
		Height(graphHeight).
		LineWidth(1).
		FillOpacity(10).
		ShowPoints(common.VisibilityModeNever).
		Legend(common.NewVizLegendOptionsBuilder().
			DisplayMode(common.LegendDisplayModeList).
			Placement(common.LegendPlacementBottom).
			ShowLegend(true)).
		Tooltip(common.NewVizTooltipOptionsBuilder().
			Mode(common.TooltipDisplayModeMulti).
			Sort(common.SortOrderDescending)).
		Targets(targets(false, ss...))
}

// single is a stat panel of one range query, with a sparkline.
func single(title, description, unit string, red *float64, s series) *stat.PanelBuilder {
	return statPanel(title, description, unit, red).Targets(targets(false, s))
}

// total is a stat panel of one instant query over the dashboard's time
// range ($__range), without a sparkline.
func total(title, description string, red *float64, s series) *stat.PanelBuilder {
	return statPanel(title, description, units.Short, red).
		GraphMode(common.BigValueGraphModeNone).
		Targets(targets(true, s))
}

// statPanel is a stat panel, a quarter of the grid wide, showing the last
// value; at or above red (if non-nil) it turns red.
func statPanel(title, description, unit string, red *float64) *stat.PanelBuilder {
	steps := []dashboard.Threshold{{Color: "green"}}
	if red != nil {
		steps = append(steps, dashboard.Threshold{Value: red, Color: "red"})
	}
	return stat.NewPanelBuilder().
		Title(title).
		Description(description).
		Datasource(datasource()).
		Unit(unit).
		Span(quarterWide).
		Height(statHeight).
		Orientation(common.VizOrientationAuto).
		ColorMode(common.BigValueColorModeValue).
		GraphMode(common.BigValueGraphModeArea).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"})).
		Thresholds(dashboard.NewThresholdsConfigBuilder().
			Mode(dashboard.ThresholdsModeAbsolute).
			Steps(steps))
}

// ---- Overview ----

func targetsUpStat() cog.Builder[dashboard.Panel] {
	return single("Targets up", "tusvault instances Prometheus scraped successfully last time.", units.Short, nil,
		series{sumBy(sel("up")), "up"})
}

func activeUploadsStat() cog.Builder[dashboard.Panel] {
	return single("Uploads in progress", "Uploads with a PATCH in progress, all routes.", units.Short, nil,
		series{sumBy(sel("tusvault_uploads_active")), "active"})
}

func tagFailuresStat() cog.Builder[dashboard.Panel] {
	return total("Tag failures in range", "Downloads refused because the authentication tag did not verify, over the dashboard's time range: tampering or corruption at rest. Should be 0.", cog.ToPtr(1.0),
		series{sumBy("increase(" + sel("tusvault_tag_failures_total") + "[$__range])"), "tag failures"})
}

func authRefusalsStat() cog.Builder[dashboard.Panel] {
	return total("Auth refusals in range", "Requests refused for their token or access, over the dashboard's time range.", nil,
		series{sumBy("increase(" + sel("tusvault_auth_refusals_total") + "[$__range])"), "refusals"})
}

// ---- Uploads ----

func throughputGraph() cog.Builder[dashboard.Panel] {
	return graph("Upload throughput", "Bytes received in PATCH bodies (tusd), and bytes of parts stored in the object store (ciphertext, so slightly more).", units.BytesPerSecondIEC,
		series{sumBy(rate("tusd_bytes_received")), "received"},
		series{sumBy(rate("tusvault_part_bytes_total")), "stored in parts"})
}

func cryptoGraph() cog.Builder[dashboard.Panel] {
	return graph("Encryption and decryption", "Bytes encrypted on upload and decrypted on download.", units.BytesPerSecondIEC,
		series{sumBy(rate("tusvault_encrypted_bytes_total")), "encrypted"},
		series{sumBy(rate("tusvault_decrypted_bytes_total")), "decrypted"})
}

func activeUploadsGraph() cog.Builder[dashboard.Panel] {
	return graph("Active uploads by route", "Uploads with a PATCH in progress, per route (home, guest, public).", units.Short,
		series{sumBy(sel("tusvault_uploads_active"), "route"), "{{route}}"})
}

func uploadEventsGraph() cog.Builder[dashboard.Panel] {
	return graph("Uploads created, finished, terminated", "Uploads created and terminated (tusd) and finished per route (tusvault).", units.OpsPerSecond,
		series{sumBy(rate("tusd_uploads_created")), "created"},
		series{sumBy(rate("tusvault_uploads_finished_total"), "route"), "finished {{route}}"},
		series{sumBy(rate("tusd_uploads_terminated")), "terminated"})
}

// ---- Memory and limiter ----

func ramGraph() cog.Builder[dashboard.Panel] {
	return graph("RAM used vs limit", "Resident set size of each process, and the memory limit it detected (cgroup or physical).", units.BytesIEC,
		series{sel("tusvault_ram_used_bytes"), "used {{instance}}"},
		series{sel("tusvault_ram_limit_bytes"), "limit {{instance}}"})
}

func spoolGraph() cog.Builder[dashboard.Panel] {
	return graph("Spool", "Ciphertext bytes in spool files now: parts waiting for, or being stored in, the object store (disk, not RAM).", units.BytesIEC,
		series{sumBy(sel("tusvault_spool_bytes"), "instance"), "{{instance}}"})
}

func limiterSaturationGraph() cog.Builder[dashboard.Panel] {
	return graph("Limiter saturation", "Limiter slots in use over slots, per instance: at 100% further parts wait for a slot.", units.PercentUnit,
		series{sumBy(sel("tusvault_limiter_in_use"), "instance") + " / " + sumBy(sel("tusvault_limiter_slots"), "instance"), "{{instance}}"}).
		Max(1)
}

func limiterWaitingGraph() cog.Builder[dashboard.Panel] {
	return graph("Parts waiting for a limiter slot", "Parts waiting for a limiter slot now, and the slots in use.", units.Short,
		series{sumBy(sel("tusvault_limiter_waiting"), "instance"), "waiting {{instance}}"},
		series{sumBy(sel("tusvault_limiter_in_use"), "instance"), "in use {{instance}}"})
}

func limiterWaitGraph() cog.Builder[dashboard.Panel] {
	return graph("Limiter wait p95", "95th percentile of the time a part waited for a limiter slot.", units.Seconds,
		series{quantile(0.95, "tusvault_limiter_wait_seconds"), "p95"})
}

func partLatencyGraph() cog.Builder[dashboard.Panel] {
	return graph("Part upload latency", "Time to store one part in the object store, slot held.", units.Seconds,
		series{quantile(0.5, "tusvault_part_upload_seconds"), "p50"},
		series{quantile(0.95, "tusvault_part_upload_seconds"), "p95"},
		series{quantile(0.99, "tusvault_part_upload_seconds"), "p99"})
}

// ---- Object store ----

func backendRequestsGraph() cog.Builder[dashboard.Panel] {
	return graph("Backend requests by operation", "Requests to the object store (S3 or disk), per operation.", units.RequestsPerSecond,
		series{sumBy(rate("tusvault_backend_requests_total"), "op"), "{{op}}"})
}

func backendErrorsGraph() cog.Builder[dashboard.Panel] {
	return graph("Backend errors by operation", "Object store requests that failed (error) or found nothing (not_found, often expected: a HEAD before a create).", units.RequestsPerSecond,
		series{sumBy(rate("tusvault_backend_requests_total", `outcome!="ok"`), "op", "outcome"), "{{op}} {{outcome}}"})
}

func backendLatencyGraph() cog.Builder[dashboard.Panel] {
	return graph("Backend latency p95 by operation", "95th percentile of object store request time, per operation.", units.Seconds,
		series{quantile(0.95, "tusvault_backend_request_seconds", "op"), "{{op}}"})
}

// ---- Access and integrity ----

func authRefusalsGraph() cog.Builder[dashboard.Panel] {
	return graph("Auth refusals by reason", "Requests refused for their token (no_token, expired, bad_signature, ...) or access (not_found, forbidden).", units.RequestsPerSecond,
		series{sumBy(rate("tusvault_auth_refusals_total"), "reason"), "{{reason}}"})
}

func tagFailuresGraph() cog.Builder[dashboard.Panel] {
	return graph("Tag verification failures", "Downloads whose authentication tag did not verify (nothing unverified is served). Should be 0.", units.OpsPerSecond,
		series{sumBy(rate("tusvault_tag_failures_total"), "instance"), "{{instance}}"})
}

func sweepGraph() cog.Builder[dashboard.Panel] {
	return graph("Sweep", "What the sweep did: removed expired uploads, completed uploads whose bytes were all stored, skipped unreadable ones.", units.OpsPerSecond,
		series{sumBy(rate("tusvault_sweep_removed_total")), "removed"},
		series{sumBy(rate("tusvault_sweep_completed_total")), "completed"},
		series{sumBy(rate("tusvault_sweep_skipped_total")), "skipped"})
}

// ---- Go runtime ----

func heapGraph() cog.Builder[dashboard.Panel] {
	return graph("Go heap", "Heap in use (spans with objects) and allocated (live objects), per instance.", units.BytesIEC,
		series{sel("go_memstats_heap_inuse_bytes"), "in use {{instance}}"},
		series{sel("go_memstats_heap_alloc_bytes"), "alloc {{instance}}"})
}

func gcGraph() cog.Builder[dashboard.Panel] {
	return graph("GC cycles", "Garbage collections per second, per instance.", units.OpsPerSecond,
		series{sumBy(rate("go_gc_duration_seconds_count"), "instance"), "{{instance}}"})
}

func gcPauseGraph() cog.Builder[dashboard.Panel] {
	return graph("GC pause", "Mean stop-the-world pause, and the longest of the last cycles, per instance.", units.Seconds,
		series{sumBy(rate("go_gc_duration_seconds_sum"), "instance") + " / " + sumBy(rate("go_gc_duration_seconds_count"), "instance"), "mean {{instance}}"},
		series{"max by (instance) (" + sel("go_gc_duration_seconds", `quantile="1"`) + ")", "max {{instance}}"})
}

func cpuGraph() cog.Builder[dashboard.Panel] {
	return graph("CPU", "CPU time used per second (cores), per instance.", units.Short,
		series{sumBy(rate("process_cpu_seconds_total"), "instance"), "{{instance}}"})
}

func goroutinesGraph() cog.Builder[dashboard.Panel] {
	return graph("Goroutines", "Goroutines per instance: grows with open connections and parts in flight.", units.Short,
		series{sumBy(sel("go_goroutines"), "instance"), "{{instance}}"})
}

// ---- tusd ----

func tusdRequestsGraph() cog.Builder[dashboard.Panel] {
	return graph("tusd requests by method", "Requests tusd's handler received, per method.", units.RequestsPerSecond,
		series{sumBy(rate("tusd_requests_total"), "method"), "{{method}}"})
}

func tusdErrorsGraph() cog.Builder[dashboard.Panel] {
	return graph("tusd errors by status and code", "Error responses of tusd's handler, per HTTP status and tus error code.", units.RequestsPerSecond,
		series{sumBy(rate("tusd_errors_total"), "status", "code"), "{{status}} {{code}}"})
}

func connectionsGraph() cog.Builder[dashboard.Panel] {
	return graph("Open connections", "HTTP connections open to tusd's handler, per instance.", units.Short,
		series{sumBy(sel("tusd_connections_open"), "instance"), "{{instance}}"})
}

func hooksGraph() cog.Builder[dashboard.Panel] {
	return graph("Hook invocations and errors", "tusd hooks run (auth and routing, external hooks) and those that failed, per hook type.", units.OpsPerSecond,
		series{sumBy(rate("tusd_hook_invocations_total"), "hooktype"), "{{hooktype}}"},
		series{sumBy(rate("tusd_hook_errors_total"), "hooktype"), "errors {{hooktype}}"})
}
