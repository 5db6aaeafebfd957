package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/tusvault/tusvault/web"
)

// defaultHealthTimeout is -timeout of `tusvault healthcheck`: well under
// Docker's HEALTHCHECK timeout, so that the check reports, not Docker.
const defaultHealthTimeout = 3 * time.Second

const healthcheckUsage = `Usage: tusvault healthcheck [-host HOST] [-port PORT] [-unix-sock PATH] [-tls-certificate FILE] [-timeout 3s]
       tusvault healthcheck -url URL [-timeout 3s]

GETs /healthz of the tusvault serving on this machine and exits 0 when it
answers 200, printing one line; else it prints why on one line and exits 1,
also for a bad flag (Docker reserves exit status 2). It is the container
image's HEALTHCHECK, which has no curl.

-host, -port, -unix-sock and -tls-certificate take serve's values and
defaults and, like serve's, come from TUSVAULT_HOST, TUSVAULT_PORT,
TUSVAULT_UNIX_SOCK and TUSVAULT_TLS_CERTIFICATE when not given, so that the
check finds the server the environment configured. A wildcard -host
(0.0.0.0, ::) is reached on loopback. With -tls-certificate the check uses
https and accepts exactly that certificate, whatever names it carries.
-url names the URL instead (https is verified against the system's roots).
`

// healthFlags are the flags of `tusvault healthcheck`.
type healthFlags struct {
	url, host, port, unixSock, certFile, path string
	timeout                                   time.Duration
}

func (h *healthFlags) register(fs *flag.FlagSet) {
	d := defaultConfig()
	fs.StringVar(&h.url, "url", "", "URL to GET instead of the one -host, -port, -path and -tls-certificate make, such as http://127.0.0.1:8080/healthz")
	fs.StringVar(&h.host, "host", d.Host, "serve's -host (a wildcard address is reached on loopback)")
	fs.StringVar(&h.port, "port", d.Port, "serve's -port")
	fs.StringVar(&h.unixSock, "unix-sock", d.UnixSock, "serve's -unix-sock: connect to this UNIX socket instead")
	fs.StringVar(&h.certFile, "tls-certificate", d.TLSCertFile, "serve's -tls-certificate: use https, accepting exactly this certificate")
	fs.StringVar(&h.path, "path", web.HealthzPath, "Path to GET ("+web.ReadyzPath+": readiness, which also needs the object store)")
	fs.DurationVar(&h.timeout, "timeout", defaultHealthTimeout, "Give up after this long")
}

// runHealthcheck implements `tusvault healthcheck`. Every failure, a bad
// flag included, is an error of exit status 1: Docker reads 2 as reserved.
func runHealthcheck(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	var h healthFlags
	fs := newSubFlagSet("healthcheck")
	h.register(fs)
	fromEnv, err := parseNoArgs(fs, args, stdout, healthcheckUsage, getenv)
	if err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			return ue.err
		}
		return err
	}
	u, client, err := h.request()
	if err != nil {
		return fromEnv.explain(fmt.Errorf("healthcheck: %w", err))
	}
	defer client.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: unhealthy: %w", err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: unhealthy: GET %s: %s", u, resp.Status)
	}
	_, err = fmt.Fprintf(stdout, "healthy: GET %s: %s in %s\n", u, resp.Status, time.Since(start).Round(time.Millisecond))
	return err
}

// request returns the URL to GET and the client to GET it with.
func (h *healthFlags) request() (string, *http.Client, error) {
	tr := &http.Transport{DisableKeepAlives: true, Proxy: nil}
	client := &http.Client{
		Transport: tr,
		// /healthz answers itself; a redirect is not health.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	if h.url != "" {
		u, err := url.Parse(h.url)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return "", nil, fmt.Errorf("invalid -url %q: must be an http(s) URL", h.url)
		}
		return h.url, client, nil
	}
	if err := validBasePath(h.path); err != nil {
		return "", nil, fmt.Errorf("invalid -path %q: %w", h.path, err)
	}
	scheme := "http"
	if h.certFile != "" {
		cfg, err := pinnedTLS(h.certFile)
		if err != nil {
			return "", nil, err
		}
		scheme, tr.TLSClientConfig = "https", cfg
	}
	if h.unixSock != "" {
		sock := h.unixSock
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		}
		return scheme + "://unix" + h.path, client, nil
	}
	if err := validPort(h.port); err != nil || h.port == "0" {
		return "", nil, fmt.Errorf("invalid -port %q: must be a number from 1 to 65535", h.port)
	}
	return scheme + "://" + net.JoinHostPort(dialHost(h.host), h.port) + h.path, client, nil
}

// dialHost is the address to reach a server bound to host: a wildcard is
// reached on loopback.
func dialHost(host string) string {
	switch host {
	case "", "0.0.0.0":
		return "127.0.0.1"
	case "::", "[::]":
		return "::1"
	}
	return host
}

// pinnedTLS is a client configuration that accepts exactly the (first)
// certificate of certFile, whatever host name it is reached under: the
// check dials loopback, which the certificate of a public name does not
// cover.
func pinnedTLS(certFile string) (*tls.Config, error) {
	data, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("-tls-certificate: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("-tls-certificate %s: no PEM certificate", certFile)
	}
	if _, err := x509.ParseCertificate(block.Bytes); err != nil {
		return nil, fmt.Errorf("-tls-certificate %s: %w", certFile, err)
	}
	want := block.Bytes
	return &tls.Config{
		// Verified below against the pinned certificate instead of names
		// and roots.
		InsecureSkipVerify: true,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 || !bytes.Equal(raw[0], want) {
				return errors.New("the server's certificate is not the one in -tls-certificate")
			}
			return nil
		},
	}, nil
}
