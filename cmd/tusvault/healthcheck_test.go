package main

import (
	"errors"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// portOf is the port of a server's upload URL.
func portOf(t *testing.T, s *server) string {
	t.Helper()
	u, err := url.Parse(s.url)
	if err != nil {
		t.Fatal(err)
	}
	return u.Port()
}

// healthy runs healthcheck and wants exit status 0 and its one line.
func healthy(t *testing.T, env map[string]string, args ...string) {
	t.Helper()
	out, _, err := runEnv(t, env, append([]string{"healthcheck"}, args...)...)
	if err != nil {
		t.Fatalf("healthcheck %q (env %v): %v", args, env, err)
	}
	if !regexp.MustCompile(`^healthy: GET \S+: 200 OK in \S+\n$`).MatchString(out) {
		t.Errorf("healthcheck %q: output %q", args, out)
	}
}

// unhealthy runs healthcheck and wants an error of exit status 1 (not a
// usage error, which is 2) on one line containing want.
func unhealthy(t *testing.T, env map[string]string, want string, args ...string) {
	t.Helper()
	out, _, err := runEnv(t, env, append([]string{"healthcheck"}, args...)...)
	if err == nil {
		t.Fatalf("healthcheck %q (env %v) passed: %q", args, env, out)
	}
	var ue usageError
	if errors.As(err, &ue) {
		t.Errorf("healthcheck %q: a usage error (exit status 2, reserved by Docker): %v", args, err)
	}
	if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, want) {
		t.Errorf("healthcheck %q: %q, want one line with %q", args, msg, want)
	}
}

func TestHealthcheck(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	port := portOf(t, s)

	healthy(t, nil, "-port", port)
	healthy(t, nil, "-port", port, "-host", "127.0.0.1", "-path", "/readyz")
	healthy(t, nil, "-url", "http://127.0.0.1:"+port+"/healthz")
	// The server's own variables find it, a wildcard host on loopback.
	healthy(t, map[string]string{"TUSVAULT_PORT": port, "TUSVAULT_HOST": "0.0.0.0"})
	healthy(t, map[string]string{"TUSVAULT_PORT": "1"}, "-port", port) // the flag wins
	healthy(t, map[string]string{"TUSVAULT_PORT": port, "TUSVAULT_HOST": "::"}, "-host", "127.0.0.1")

	unhealthy(t, nil, "404 Not Found", "-port", port, "-path", "/nope")
	unhealthy(t, nil, "invalid -url", "-url", "ftp://x")
	unhealthy(t, nil, "invalid -port", "-port", "0")
	unhealthy(t, map[string]string{"TUSVAULT_PORT": "x"}, "TUSVAULT_PORT") // names the variable
	unhealthy(t, nil, "flag provided but not defined", "-nope")
	unhealthy(t, nil, "unexpected argument", "extra")
}

func TestHealthcheckDown(t *testing.T) {
	t.Parallel()
	// A port nobody listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, closed, _ := net.SplitHostPort(l.Addr().String())
	l.Close()
	unhealthy(t, nil, "unhealthy", "-port", closed)

	// A server that accepts and never answers: the timeout.
	hang, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hang.Close()
	go func() {
		for {
			c, err := hang.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(hang.Addr().String())
	start := time.Now()
	unhealthy(t, nil, "unhealthy", "-port", port, "-timeout", "200ms")
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("took %v with -timeout 200ms", el)
	}
}

func TestHealthcheckTLS(t *testing.T) {
	t.Parallel()
	certFile, keyFile, _ := writeSelfSigned(t)
	s := startServer(t, "-tls-certificate", certFile, "-tls-key", keyFile)
	port := portOf(t, s)

	healthy(t, nil, "-port", port, "-tls-certificate", certFile)
	healthy(t, map[string]string{"TUSVAULT_PORT": port, "TUSVAULT_TLS_CERTIFICATE": certFile})
	// Another certificate is refused, and plain HTTP gets no 200.
	otherCert, _, _ := writeSelfSigned(t)
	unhealthy(t, nil, "not the one in -tls-certificate", "-port", port, "-tls-certificate", otherCert)
	unhealthy(t, nil, "unhealthy", "-port", port)
	unhealthy(t, nil, "no PEM certificate", "-port", port, "-tls-certificate", keyFile)
}

func TestHealthcheckUnixSocket(t *testing.T) {
	t.Parallel()
	sockDir, err := os.MkdirTemp("", "tv")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	sock := filepath.Join(sockDir, "s.sock")
	startServerUntil(t, regexp.MustCompile(`You can now upload files through the UNIX socket`), "-unix-sock", sock)

	healthy(t, nil, "-unix-sock", sock)
	healthy(t, map[string]string{"TUSVAULT_UNIX_SOCK": sock})
}
