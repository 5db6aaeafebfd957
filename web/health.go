package web

import (
	"context"
	"io"
	"net/http"
)

// serveHealthz answers while the process serves.
func serveHealthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	io.WriteString(w, "ok\n")
}

// serveReadyz answers 200 when the store can serve (Store.Ready within
// ReadyTimeout: the keyring, the object store and the locker's service,
// such as Redis), 503 with a generic reason otherwise; the cause is logged,
// never sent (it may name the bucket or the endpoint).
func (r *Routes) serveReadyz(w http.ResponseWriter, req *http.Request) {
	ctx, cancel := context.WithTimeout(req.Context(), r.cfg.ReadyTimeout)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := r.cfg.Store.Ready(ctx); err != nil {
		r.cfg.Logger.WarnContext(req.Context(), "not ready", "error", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "not ready: the object store, the keyring or the upload lock service is unavailable\n")
		return
	}
	io.WriteString(w, "ready\n")
}
