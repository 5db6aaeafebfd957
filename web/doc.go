// Package web holds tusvault's HTTP routes beside the tus handler: the
// RAM status of the system it replaces, Prometheus metrics, health and
// readiness, and pprof.
//
//	GET /upload/ram-status   JSON: ram_used_mb, ram_limit_mb, ram_free_mb (the
//	                         old system's fields), go_heap_mb, go_memlimit_mb,
//	                         spool_disk_mb, limiter_slots, limiter_in_use,
//	                         limiter_waiting, active_uploads, uptime_s
//	GET <metrics path>       Prometheus: tusd's own collector (tusd_*), the Go
//	                         and process collectors, and tusvault_* (metrics.go)
//	GET /healthz             200 while the process serves
//	GET /readyz              200 when the object store answers within the
//	                         timeout and the keyring is loaded, 503 otherwise
//	<pprof path>             net/http/pprof, when enabled
//
// The readings are live: the store's Stats and Limiter, the policy's
// refusal counts, /proc for memory (internal/sysmem). The store and the
// policy count; this package only exposes. With a status token, the RAM
// status, the metrics and pprof need "Authorization: Bearer <token>";
// health and readiness stay open for load balancers. No label or field
// carries an upload id, a user, a share or a file name.
package web
