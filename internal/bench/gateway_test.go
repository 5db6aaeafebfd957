package bench

import (
	"fmt"
	"os"
	"testing"

	"github.com/tusvault/tusvault/internal/s3server"
)

// gateway is one versitygw of a run: plain HTTP, or HTTPS with a test
// certificate made at run time that both servers (and the direct
// uploads) trust through AWS_CA_BUNDLE. It keeps connections open between
// requests (s3server.Options.KeepAlive), as S3 and the S3-compatible
// services do; TUSVAULT_BENCH_KEEPALIVE=0 runs it as versitygw does by
// default, a new connection (and TLS handshake) for every request.
type gateway struct {
	*s3server.Server
	pid int  // versitygw's process, 0 if not found
	tls bool // Endpoint is https://
}

func startGateway(tb testing.TB, tls bool) *gateway {
	srv := s3server.StartWith(tb, s3server.Options{TLS: tls, KeepAlive: os.Getenv(envKeepAlive) != "0"})
	return &gateway{Server: srv, pid: findPID(srv.Dir), tls: tls}
}

// transport names gw's protocol in tables: "HTTP" or "HTTPS".
func (gw *gateway) transport() string {
	if gw.tls {
		return "HTTPS"
	}
	return "HTTP"
}

// gateways returns the run's gateways, plain HTTP first.
func (h *harness) gateways() []*gateway {
	if h.tls == nil {
		return []*gateway{h.plain}
	}
	return []*gateway{h.plain, h.tls}
}

// caseName is the step name of the versus case of server with n uploads
// over gw's protocol: "tusd/uploads=4" over HTTP, "tusd/https-uploads=4"
// over HTTPS (so that -bench 'BenchmarkVersusTusd/.*/uploads' still
// selects every versus case and the direct ceiling).
func caseName(server string, n int, tls bool) string {
	if tls {
		return fmt.Sprintf("%s/https-uploads=%d", server, n)
	}
	return fmt.Sprintf("%s/uploads=%d", server, n)
}
