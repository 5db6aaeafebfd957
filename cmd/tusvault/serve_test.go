package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tus/tusd/v2/pkg/handler"
)

var uploadLine = regexp.MustCompile(`You can now upload files to: (\S+)`)

// server is tusvault running in process.
type server struct {
	url    string // from the "You can now upload files to:" line
	dir    string // upload dir
	stdout *syncBuffer
	stderr *syncBuffer
	cancel context.CancelFunc
	done   chan error
}

// startServer runs `tusvault -host 127.0.0.1 -port 0 -upload-dir <tmp>
// args...` and waits for its upload line. The server is stopped at cleanup
// (and must stop cleanly) unless the test stopped it.
func startServer(t *testing.T, args ...string) *server {
	t.Helper()
	return startServerUntil(t, uploadLine, args...)
}

// startServerUntil is startServer waiting for ready instead of the upload
// line; s.url is the first submatch, if any.
func startServerUntil(t *testing.T, ready *regexp.Regexp, args ...string) *server {
	t.Helper()
	s := &server{dir: t.TempDir(), stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	argv := append([]string{"tusvault", "-host", "127.0.0.1", "-port", "0", "-upload-dir", s.dir}, args...)
	go func() { s.done <- run(ctx, argv, noEnv, s.stdout, s.stderr) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err, ok := <-s.done:
			if ok && err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("server did not stop")
		}
	})
	if m := s.waitFor(t, ready); len(m) > 1 {
		s.url = m[1]
	}
	return s
}

// waitFor waits until re matches stdout and returns the match.
func (s *server) waitFor(t *testing.T, re *regexp.Regexp) []string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(s.stdout.String()); m != nil {
			return m
		}
		select {
		case err := <-s.done:
			close(s.done)
			t.Fatalf("run returned early: %v\nstdout:\n%s\nstderr:\n%s", err, s.stdout, s.stderr)
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("no %q within 15s; stdout:\n%s", re, s.stdout)
	return nil
}

// stop cancels run's context and returns run's result.
func (s *server) stop(t *testing.T) error {
	t.Helper()
	s.cancel()
	select {
	case err := <-s.done:
		close(s.done)
		return err
	case <-time.After(15 * time.Second):
		t.Fatal("server did not stop within 15s")
		return nil
	}
}

func do(t *testing.T, c *http.Client, method, u string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Tus-Resumable", "1.0.0")
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func checkTusOptions(t *testing.T, resp *http.Response) {
	t.Helper()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNoContent {
		t.Fatalf("OPTIONS: status %s", resp.Status)
	}
	if v := resp.Header.Get("Tus-Version"); v != "1.0.0" {
		t.Errorf("Tus-Version = %q, want 1.0.0", v)
	}
	ext := resp.Header.Get("Tus-Extension")
	if ext == "" {
		t.Fatal("no Tus-Extension")
	}
	if strings.Contains(ext, "concatenation") {
		t.Errorf("Tus-Extension %q offers concatenation", ext)
	}
	for _, want := range []string{"creation", "termination", "creation-defer-length"} {
		if !strings.Contains(","+ext+",", ","+want+",") {
			t.Errorf("Tus-Extension %q lacks %s", ext, want)
		}
	}
}

func TestServeOptions(t *testing.T) {
	t.Parallel()
	s := startServer(t)

	// The upload line carries the bound port and ends the startup output.
	u, err := url.Parse(s.url)
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme != "http" || u.Hostname() != "127.0.0.1" || u.Port() == "0" || u.Port() == "" || u.Path != "/files/" {
		t.Errorf("upload URL %q", s.url)
	}
	out := strings.TrimRight(s.stdout.String(), "\n")
	if last := out[strings.LastIndex(out, "\n")+1:]; !strings.Contains(last, "You can now upload files to: "+s.url) {
		t.Errorf("startup output does not end with the upload line; last line %q", last)
	}
	for _, want := range []string{"Supported tus extensions: ", "Using 127.0.0.1:0 as address to listen.", "Using /files/ as the base path."} {
		if !strings.Contains(out, want) {
			t.Errorf("startup output lacks %q", want)
		}
	}

	checkTusOptions(t, do(t, nil, http.MethodOptions, s.url))
	// Without the trailing slash too.
	checkTusOptions(t, do(t, nil, http.MethodOptions, strings.TrimSuffix(s.url, "/")))

	// The embedded default keyring was created, private, with a warning.
	fi, err := os.Stat(filepath.Join(s.dir, "keyring.json"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("keyring mode %#o, want 0600", fi.Mode().Perm())
	}
	if !strings.Contains(out, "WARNING: created a new keyring at "+filepath.Join(s.dir, "keyring.json")) {
		t.Errorf("no keyring warning in:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(s.dir, ".tusvault", "spool")); err != nil {
		t.Errorf("spool dir: %v", err)
	}
}

func TestServeGreetingAndBasePath(t *testing.T) {
	t.Parallel()
	s := startServer(t, "-base-path", "/uploads")
	if !strings.HasSuffix(s.url, "/uploads") {
		t.Fatalf("upload URL %q", s.url)
	}
	root := strings.TrimSuffix(s.url, "/uploads") + "/"
	checkTusOptions(t, do(t, nil, http.MethodOptions, s.url))
	checkTusOptions(t, do(t, nil, http.MethodOptions, s.url+"/"))

	// The upload page at "/", its API telling the page the base path.
	resp, err := http.Get(root)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `src="assets/app-`) || !strings.HasPrefix(resp.Header.Get("Content-Security-Policy"), "default-src 'self'") {
		t.Errorf("page: %s %v %q", resp.Status, resp.Header, body)
	}
	var session struct{ Endpoint string }
	getJSON(t, root+"api/session", devToken(t, s), &session)
	if session.Endpoint != "/uploads/" {
		t.Errorf("the session's endpoint is %q", session.Endpoint)
	}
	if resp := do(t, nil, http.MethodGet, root+"elsewhere"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /elsewhere: %s, want 404", resp.Status)
	}
}

// -show-greeting=false: no page at "/" (its API stays).
func TestServeNoGreeting(t *testing.T) {
	t.Parallel()
	s := startServer(t, "-show-greeting=false")
	root := strings.TrimSuffix(s.url, "/files/") + "/"
	scripts, err := filepath.Glob("../../web/dist/assets/app-*.js") // the embedded page's script
	if err != nil || len(scripts) != 1 {
		t.Fatalf("web/dist/assets/app-*.js: %q (%v)", scripts, err)
	}
	for _, p := range []string{"", "assets/" + filepath.Base(scripts[0])} {
		if resp := do(t, nil, http.MethodGet, root+p); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET /%s: %s, want 404", p, resp.Status)
		}
	}
	var session struct{ Kind string }
	getJSON(t, root+"api/session", devToken(t, s), &session)
	if session.Kind != "home" {
		t.Errorf("session %+v", session)
	}
}

// devToken is the token of the home link the server printed.
func devToken(t *testing.T, s *server) string {
	t.Helper()
	m := homeLink.FindStringSubmatch(s.stdout.String())
	if m == nil {
		t.Fatalf("no home link in:\n%s", s.stdout)
	}
	return m[2]
}

// getJSON GETs u with the bearer token tok, requires 200 and decodes the
// JSON body into v.
func getJSON(t *testing.T, u, tok string, v any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %q", u, resp.Status, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v in %q", u, err, body)
	}
}

func TestServeRootBasePath(t *testing.T) {
	t.Parallel()
	s := startServer(t, "-base-path", "/")
	if !strings.HasSuffix(s.url, "/") || strings.HasSuffix(s.url, "//") {
		t.Fatalf("upload URL %q", s.url)
	}
	checkTusOptions(t, do(t, nil, http.MethodOptions, s.url))
	// The tus handler owns every path: no page, but the API's exact paths.
	if resp := do(t, nil, http.MethodGet, s.url); resp.Header.Get("Content-Security-Policy") != "" {
		t.Errorf("GET / served the page: %s %v", resp.Status, resp.Header)
	}
	var session struct{ Endpoint string }
	getJSON(t, s.url+"api/session", devToken(t, s), &session)
	if session.Endpoint != "/" {
		t.Errorf("session endpoint %q", session.Endpoint)
	}
}

func TestServeGracefulShutdown(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	addr := strings.TrimPrefix(strings.TrimSuffix(s.url, "/files/"), "http://")
	if err := s.stop(t); err != nil {
		t.Fatalf("run: %v", err)
	}
	out := s.stdout.String()
	i := strings.Index(out, "Received interrupt signal. Shutting down tusvault...")
	j := strings.Index(out, "Shutdown completed. Goodbye!")
	if i < 0 || j < i {
		t.Errorf("shutdown messages missing or out of order:\n%s", out)
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Errorf("%s still accepts connections after shutdown", addr)
	}
}

func TestServeShutdownTimeout(t *testing.T) {
	t.Parallel()
	s := startServer(t, "-shutdown-timeout", "200ms")
	addr := strings.TrimPrefix(strings.TrimSuffix(s.url, "/files/"), "http://")
	// A request whose headers never end keeps its connection active, so
	// the graceful shutdown cannot finish.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "OPTIONS /files/ HTTP/1.1\r\nHost: x\r\n"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	if err := s.stop(t); err != nil {
		t.Fatalf("run: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("shutdown took %s with a 200ms timeout", d)
	}
	if !strings.Contains(s.stderr.String(), "Shutdown timeout exceeded. Exiting immediately!") {
		t.Errorf("stderr: %q", s.stderr)
	}
	if strings.Contains(s.stdout.String(), "Goodbye") {
		t.Error("said Goodbye after a timeout")
	}
}

// The context of requests is cancelled with handler.ErrServerShutdown as
// soon as the shutdown starts: that is what makes tusd save a PATCH in
// flight and answer 503 ERR_SERVER_SHUTDOWN.
func TestServerContextCancelledWithShutdownCause(t *testing.T) {
	s := newHTTPServer(http.NotFoundHandler(), defaultConfig(), nil)
	ctx := s.BaseContext(nil)
	if ctx.Err() != nil {
		t.Fatal("base context done before shutdown")
	}
	if s.ReadHeaderTimeout != time.Minute || s.IdleTimeout != time.Minute || s.ReadTimeout != 0 || s.WriteTimeout != 0 {
		t.Errorf("timeouts: header %s idle %s read %s write %s", s.ReadHeaderTimeout, s.IdleTimeout, s.ReadTimeout, s.WriteTimeout)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("base context not cancelled by Shutdown")
	}
	if cause := context.Cause(ctx); !errors.Is(cause, handler.ErrServerShutdown) {
		t.Errorf("cause = %v, want handler.ErrServerShutdown", cause)
	}
}

func TestServeUnixSocket(t *testing.T) {
	t.Parallel()
	// A short directory: socket paths are limited to ~100 bytes.
	sockDir, err := os.MkdirTemp("", "tv")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	sock := filepath.Join(sockDir, "s.sock")
	// A stale socket file from an earlier run is replaced.
	stale, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close()

	s := startServerUntil(t, regexp.MustCompile(`You can now upload files through the UNIX socket (\S+) to: /files/`), "-unix-sock", sock)
	if s.url != sock {
		t.Errorf("socket line names %q", s.url)
	}
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
	}}
	checkTusOptions(t, do(t, client, http.MethodOptions, "http://unix/files/"))
	if err := s.stop(t); err != nil {
		t.Fatal(err)
	}
	if uploadLine.MatchString(s.stdout.String()) {
		t.Error("printed an upload URL for a UNIX socket")
	}
	if _, err := os.Lstat(sock); err == nil {
		t.Error("socket file left behind")
	}
}

func TestListenUnixRefusesRegularFile(t *testing.T) {
	dir, err := os.MkdirTemp("", "tv")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	f := filepath.Join(dir, "not-a-socket")
	if err := os.WriteFile(f, []byte("data"), 0o600); err != nil {
		t.Fatal(err)
	}
	if ln, err := listen(context.Background(), f, f); err == nil {
		ln.Close()
		t.Fatal("listened over a regular file")
	}
	if b, _ := os.ReadFile(f); string(b) != "data" {
		t.Error("regular file changed")
	}
}

func TestServeJSONLogs(t *testing.T) {
	t.Parallel()
	s := startServer(t, "-log-format", "json")
	do(t, nil, http.MethodOptions, s.url)
	if err := s.stop(t); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(s.stdout.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("not JSON: %q", line)
		}
	}
}

func TestServeStartupLogsOff(t *testing.T) {
	t.Parallel()
	stdout := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // stop as soon as it serves
	err := run(ctx, []string{"tusvault", "-host", "127.0.0.1", "-port", "0", "-upload-dir", t.TempDir(), "-show-startup-logs=false"}, noEnv, stdout, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	out := stdout.String()
	if strings.Contains(out, "Using ") || uploadLine.MatchString(out) {
		t.Errorf("startup logs printed with -show-startup-logs=false:\n%s", out)
	}
	if !strings.Contains(out, "WARNING: created a new keyring") {
		t.Errorf("keyring warning must show regardless:\n%s", out)
	}
}

func TestServeFailsOnBusyPort(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	err = run(context.Background(), []string{"tusvault", "-host", "127.0.0.1", "-port", port, "-upload-dir", t.TempDir()}, noEnv, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "listener") {
		t.Fatalf("got %v, want a listener error", err)
	}
}

// writeSelfSigned writes a certificate for 127.0.0.1 and its key.
func writeSelfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestServeTLS(t *testing.T) {
	t.Parallel()
	certFile, keyFile, pool := writeSelfSigned(t)
	for _, mode := range []string{"tls12", "tls13", "tls12-strong"} {
		t.Run(mode, func(t *testing.T) {
			s := startServer(t, "-tls-certificate", certFile, "-tls-key", keyFile, "-tls-mode", mode)
			if !strings.HasPrefix(s.url, "https://127.0.0.1:") {
				t.Fatalf("upload URL %q", s.url)
			}
			tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}
			defer tr.CloseIdleConnections()
			resp := do(t, &http.Client{Transport: tr}, http.MethodOptions, s.url)
			checkTusOptions(t, resp)
			if resp.ProtoMajor != 1 {
				t.Errorf("protocol %s, want HTTP/1.x as tusd", resp.Proto)
			}
			wantVersion := map[string]uint16{"tls12": tls.VersionTLS13, "tls13": tls.VersionTLS13, "tls12-strong": tls.VersionTLS12}[mode]
			if resp.TLS == nil || resp.TLS.Version != wantVersion {
				t.Errorf("negotiated %v, want %x", resp.TLS, wantVersion)
			}

			// A TLS 1.2-only client is refused by tls13; a TLS 1.3-only
			// client by tls12-strong.
			host := strings.TrimPrefix(strings.TrimSuffix(s.url, "/files/"), "https://")
			c12 := &tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS12}
			c13 := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS13}
			_, err12 := tlsHandshake(host, c12)
			_, err13 := tlsHandshake(host, c13)
			switch mode {
			case "tls12":
				if err12 != nil || err13 != nil {
					t.Errorf("tls12 refused a client: %v / %v", err12, err13)
				}
			case "tls13":
				if err12 == nil {
					t.Error("tls13 accepted a TLS 1.2 client")
				}
			case "tls12-strong":
				if err13 == nil {
					t.Error("tls12-strong accepted a TLS 1.3 client")
				}
			}
		})
	}
}

func tlsHandshake(addr string, cfg *tls.Config) (tls.ConnectionState, error) {
	d := &net.Dialer{Timeout: 5 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, cfg)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer c.Close()
	return c.ConnectionState(), nil
}

func TestServeTLSBadFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	err := run(context.Background(), []string{"tusvault", "-host", "127.0.0.1", "-port", "0", "-upload-dir", dir,
		"-tls-certificate", filepath.Join(dir, "none.pem"), "-tls-key", filepath.Join(dir, "none.key")}, noEnv, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "TLS") {
		t.Fatalf("got %v, want a TLS error", err)
	}
}

func TestTLSConfigModes(t *testing.T) {
	for _, tt := range []struct {
		mode     string
		min, max uint16
		suites   int
	}{
		{"tls13", tls.VersionTLS13, 0, 0},
		{"tls12", tls.VersionTLS12, 0, 6},
		{"tls12-strong", tls.VersionTLS12, tls.VersionTLS12, 2},
	} {
		c, err := tlsConfig(tt.mode)
		if err != nil {
			t.Fatalf("%s: %v", tt.mode, err)
		}
		if c.MinVersion != tt.min || c.MaxVersion != tt.max || len(c.CipherSuites) != tt.suites {
			t.Errorf("%s: min %x max %x %d suites", tt.mode, c.MinVersion, c.MaxVersion, len(c.CipherSuites))
		}
	}
	if _, err := tlsConfig("ssl3"); err == nil {
		t.Error("accepted ssl3")
	}
}

// A malformed Upload-Metadata header is refused with 400 (the policy's
// pre-create) instead of being dropped silently, as tusd would.
func TestServeRefusesMalformedMetadata(t *testing.T) {
	t.Parallel()
	s := startServer(t, "-auth=none")
	for md, want := range map[string]int{
		"filename !!!notbase64":  http.StatusBadRequest,
		"a b c":                  http.StatusBadRequest,
		"filename aGVsbG8udHh0":  http.StatusCreated,
		"filename aGVsbG8udHh0,": http.StatusBadRequest,
	} {
		req, _ := http.NewRequest(http.MethodPost, s.url, nil)
		req.Header.Set("Tus-Resumable", "1.0.0")
		req.Header.Set("Upload-Length", "10")
		req.Header.Set("Upload-Metadata", md)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("Upload-Metadata %q: %s, want %d", md, resp.Status, want)
		}
	}
}
