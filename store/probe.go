package store

import (
	"context"
	"io"
	"net/http"
	"sync/atomic"
)

// bodyProbe counts the bytes read from a request body beneath tusd's own
// readers. tusd cuts a body that is longer than the upload allows and
// answers 413, but only after the store has seen the allowed bytes; the
// probe lets the store notice the excess and keep nothing of that request.
type bodyProbe struct {
	io.ReadCloser
	n atomic.Int64
}

func (p *bodyProbe) Read(b []byte) (int, error) {
	n, err := p.ReadCloser.Read(b)
	p.n.Add(int64(n))
	return n, err
}

func (p *bodyProbe) read() int64 { return p.n.Load() }

type probeKey struct{}

// BodyProbe wraps the tus handler so that the store can tell a body that
// overran the upload's length from one that ended on it. Wrap the handler
// with it wherever the store serves.
func BodyProbe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (r.Method == http.MethodPatch || r.Method == http.MethodPost) && r.Body != nil && r.Body != http.NoBody {
			p := &bodyProbe{ReadCloser: r.Body}
			r = r.WithContext(context.WithValue(r.Context(), probeKey{}, p))
			r.Body = p
		}
		next.ServeHTTP(w, r)
	})
}

// probeFrom returns the request's probe, if BodyProbe installed one.
func probeFrom(ctx context.Context) *bodyProbe {
	p, _ := ctx.Value(probeKey{}).(*bodyProbe)
	return p
}
