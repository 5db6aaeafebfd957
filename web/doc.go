// Package web holds tusvault's HTTP routes beside the tus handler: the
// upload page, the RAM status of the system it replaces, Prometheus
// metrics, health and readiness, and pprof. The page's JSON API is
// package web/api.
//
//	GET /                    the upload page (Page, page.go): index.html of
//	                         the embedded web/dist, never cached
//	GET /<file>              its other files: assets/* (content-hashed, as
//	                         Vite builds them) cached for a year, the rest
//	                         revalidated by ETag
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
//
// The page's answers carry a Content-Security-Policy that allows only
// its own files (default-src 'self', no inline script or style, images
// also from blob: and data:, connections to itself and PageConfig's
// ConnectSrc), X-Content-Type-Options: nosniff, Referrer-Policy:
// no-referrer (its bearer token lives in the URL fragment) and
// X-Frame-Options: DENY.
//
// The page itself is an npm project beside this package: web/src (plain
// JavaScript modules and CSS: an Uppy Dashboard uploading with
// @uppy/tus, Golden Retriever restoring picked files, the account's
// uploads from package api), bundled by esbuild (web/build.mjs, make
// web) into web/dist: index.html, assets/app-<hash>.js and
// assets/app-<hash>.css, Uppy's styles included, nothing loaded from
// elsewhere. web/dist is committed; TestDistIsBuilt rebuilds it with the
// locked packages and compares it byte for byte. Uppy sets styles
// through the CSSOM only (el.style), which style-src 'self' allows, so
// the policy needs no 'unsafe-inline'; internal/browser checks in
// Chromium that the page raises no CSP violation.
package web
