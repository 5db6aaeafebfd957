package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The hostile-input tests against the binary: what needs a real server
// (net/http's parsing and limits, the router in front of the handlers,
// header timeouts). internal/hostile has the in-process table and the
// fuzz target.

// hostileTimeout is -network-timeout of the hostile server: how long a
// client may take to send its request headers (ReadHeaderTimeout).
const hostileTimeout = 2 * time.Second

// hostileEnv is a server with tokens on (the embedded default: the
// startup links' home token of dev and guest token of dev/demo, and
// alice's from `tusvault token`), and uploads: A (dev, 40 of 100 bytes),
// F (dev, 50 bytes, complete), G (dev/demo guest, 30 of 100 bytes).
type hostileEnv struct {
	s                 *server
	dev, guest, alice string
	ids               map[string]string
	urls              map[string]string
}

func startHostile(t *testing.T, ctx context.Context) *hostileEnv {
	t.Helper()
	dir := t.TempDir()
	// A short -tail-cache-ttl: a PATCH's cached tail (an open spool file)
	// is gone within the wait of the open-files checks.
	s := startServerAuth(t, dir, "-network-timeout", hostileTimeout.String(), "-request-completion-timeout", "1s", "-tail-cache-ttl", "1s")
	home, guest := homeLinkLine.FindStringSubmatch(s.out.String()), guestLinkLine.FindStringSubmatch(s.out.String())
	if home == nil || guest == nil {
		t.Fatal("no startup links")
	}
	tok, err := exec.CommandContext(ctx, binPath, "token", "home", "alice", "-upload-dir", dir).Output()
	if err != nil {
		t.Fatalf("tusvault token home alice: %v", err)
	}
	e := &hostileEnv{s: s, dev: home[2], guest: guest[2], alice: strings.TrimSpace(string(tok)),
		ids: map[string]string{}, urls: map[string]string{}}
	for _, f := range []struct {
		name       string
		tok        string
		size, sent int
	}{{"A", e.dev, 100, 40}, {"F", e.dev, 50, 50}, {"G", e.guest, 100, 30}} {
		c := withToken(f.tok)
		u, err := c.Create(ctx, s.Endpoint, int64(f.size), map[string]string{"filename": f.name + ".bin"})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Upload(ctx, u, randomBytes(uint64(9100+len(e.ids)), f.sent), nil); err != nil {
			t.Fatal(err)
		}
		c.HTTP.Transport.(*http.Transport).CloseIdleConnections()
		e.ids[f.name], e.urls[f.name] = uploadID(t, u), u
	}
	return e
}

// expand replaces {A}, {F}, {G} (upload ids), {A.rand} (the id's last
// segment), {dev}, {guest}, {alice} (tokens) and {host} in s.
func (e *hostileEnv) expand(s string) string {
	pairs := []string{"{dev}", e.dev, "{guest}", e.guest, "{alice}", e.alice, "{host}", e.s.Addr}
	for name, id := range e.ids {
		pairs = append(pairs, "{"+name+"}", id, "{"+name+".rand}", id[strings.LastIndex(id, "/")+1:])
	}
	return strings.NewReplacer(pairs...).Replace(s)
}

// wire is a request: the request line, Host, Tus-Resumable 1.0.0 and
// Connection: close, then the header lines given, and an empty body.
func wire(method, target string, header ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: {host}\r\nTus-Resumable: 1.0.0\r\nConnection: close\r\n", method, target)
	for _, h := range header {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}

// exchange sends raw on a new connection and reads one response: its
// status, or 0 when the server closed the connection without one. The
// request is written while the response is read, since the server may
// answer (431) before it has read everything.
func exchange(t *testing.T, addr, method string, raw []byte) (int, string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(15 * time.Second))
	go conn.Write(raw) // ends with an error once the connection is closed
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, string(b)
}

// dirFiles hashes every file under dir but lock files (the upload dir:
// objects, .info, tails, parts, sidecars, the keyring, the token secret).
func dirFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			if filepath.ToSlash(rel) == ".tusvault/locks" {
				return filepath.SkipDir
			}
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		h := sha256.Sum256(b)
		out[rel] = hex.EncodeToString(h[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// serverFDs counts the server's open file descriptors.
func (e *hostileEnv) serverFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", e.s.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

var goroutinesLine = regexp.MustCompile(`(?m)^go_goroutines (\d+)$`)

// goroutines reads the server's go_goroutines metric, on a connection
// of its own that is closed at once.
func (e *hostileEnv) goroutines(t *testing.T) int {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + e.s.Addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := goroutinesLine.FindSubmatch(b)
	if m == nil {
		t.Fatalf("no go_goroutines in /metrics")
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// usage is the server's goroutines and open files.
type usage struct{ goroutines, fds int }

func (e *hostileEnv) usage(t *testing.T) usage {
	return usage{e.goroutines(t), e.serverFDs(t)}
}

// settle waits, bounded, until the server's goroutines and open files
// are back to base (goroutines within slack: the metrics request's own),
// and fails the test otherwise.
func (e *hostileEnv) settle(t *testing.T, base usage, within time.Duration) {
	t.Helper()
	const slack = 2
	deadline := time.Now().Add(within)
	for {
		u := e.usage(t)
		if u.goroutines <= base.goroutines+slack && u.fds <= base.fds {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("after %v: %d goroutines (%d before), %d open files (%d before)", within, u.goroutines, base.goroutines, u.fds, base.fds)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkFixture fails the test unless the stored files are those of
// before and the uploads' offsets are as the fixture left them.
func (e *hostileEnv) checkFixture(t *testing.T, ctx context.Context, before map[string]string) {
	t.Helper()
	if d := sameFiles(before, dirFiles(t, e.s.Dir)); d != "" {
		t.Errorf("stored files changed: %s", d)
	}
	for name, want := range map[string]int64{"A": 40, "F": 50, "G": 30} {
		c := withToken(e.dev)
		if name == "G" {
			c = withToken(e.guest)
		}
		if off, _, err := c.Head(ctx, e.urls[name]); err != nil || off != want {
			t.Errorf("HEAD %s: offset %d, %v; want %d", name, off, err, want)
		}
		c.HTTP.Transport.(*http.Transport).CloseIdleConnections()
	}
}

// wireCase is one raw request and the status it must get (0: the server
// closes the connection without an answer).
type wireCase struct {
	name   string
	method string // for reading the answer: HEAD has no body
	raw    string
	want   int
}

func TestHostileWire(t *testing.T) {
	ctx := testCtx(t, 120*time.Second)
	e := startHostile(t, ctx)
	pad := func(n int) string { return "X-Pad: " + strings.Repeat("p", n) }
	many := make([]string, 20000)
	for i := range many {
		many[i] = fmt.Sprintf("X-H%d: v", i)
	}
	meta := "Upload-Metadata: filename " + strings.Repeat("QUFB", 900<<10/4)
	const dev, alice, guest = "Authorization: Bearer {dev}", "Authorization: Bearer {alice}", "Authorization: Bearer {guest}"
	fileA := "/files/{A}"
	cases := []wireCase{
		{"sanity: the owner's HEAD", "HEAD", wire("HEAD", fileA, dev), 200},
		// The router and net/http in front of the handlers.
		{"dot-dot into another account", "HEAD", wire("HEAD", "/files/home/alice/../dev/{A.rand}", alice), 307},
		{"escaped dot-dot", "HEAD", wire("HEAD", "/files/home/alice/%2e%2e/dev/{A.rand}", alice), 404},
		{"escaped slashes", "HEAD", wire("HEAD", "/files/home%2Fdev%2F{A.rand}", dev), 200},
		{"escaped slashes, another account", "HEAD", wire("HEAD", "/files/home%2Fdev%2F{A.rand}", alice), 404},
		{"double slash", "HEAD", wire("HEAD", "/files//{A}", dev), 307},
		{"dot-dot from the page", "GET", wire("GET", "/index.html/../files/{A}", dev), 307},
		{"absolute-form target", "HEAD", wire("HEAD", "http://elsewhere.test/files/{A}", dev), 200},
		{"asterisk-form OPTIONS", "OPTIONS", wire("OPTIONS", "*"), 200},
		{"CONNECT of an upload", "CONNECT", wire("CONNECT", fileA, dev), 405},
		{"CONNECT with dot-dot, not cleaned", "CONNECT", wire("CONNECT", "/files/home/alice/../dev/{A.rand}", alice), 404},
		{"TRACE of an upload", "TRACE", wire("TRACE", fileA, dev), 405},
		{"TRACE of the creation endpoint", "TRACE", wire("TRACE", "/files/", dev), 405},
		{"the base path without its slash, no token", "POST", wire("POST", "/files", "Upload-Length: 10", "Content-Length: 0"), 401},
		{"upper-case base path", "GET", wire("GET", "/FILES/{A}", dev), 404},
		{"the api under the base path", "GET", wire("GET", "/files/api/session", dev), 404},
		{"the metrics under the base path", "GET", wire("GET", "/files/metrics", dev), 404},
		{"an id with .info", "GET", wire("GET", fileA+".info", dev), 404},
		{"an id with .part", "GET", wire("GET", fileA+".part", dev), 404},
		{"the keyring", "GET", wire("GET", "/files/keyring.json", dev), 404},
		{"the token secret", "GET", wire("GET", "/files/auth.secret", dev), 404},
		{"NUL in the id", "HEAD", wire("HEAD", fileA+"%00", dev), 404},
		{"a very long id", "HEAD", wire("HEAD", "/files/home/dev/"+strings.Repeat("a", 60000), dev), 404},
		{"another account's upload", "HEAD", wire("HEAD", fileA, alice), 404},
		{"another account's DELETE by override", "POST", wire("POST", fileA, alice, "X-HTTP-Method-Override: DELETE", "Content-Length: 0"), 404},
		{"lower-case override", "POST", wire("POST", fileA, alice, "x-http-method-override: delete", "Content-Length: 0"), 405},
		{"a guest's GET", "GET", wire("GET", "/files/{G}", guest), 403},
		{"a public id with tokens on", "HEAD", wire("HEAD", "/files/public/{A.rand}", dev), 404},
		{"the api's bad limit", "GET", wire("GET", "/api/uploads?limit=+5", dev), 400},
		{"the api's bad cursor", "GET", wire("GET", "/api/uploads?cursor=%zz%00", dev), 200},
		{"the api with a trailing slash", "GET", wire("GET", "/api/session/", dev), 404},
		{"the api with two tokens", "GET", wire("GET", "/api/session", dev, alice), 400},
		{"the status route with a junk query", "GET", wire("GET", "/upload/ram-status?%zz=%00&&", dev), 200},
		{"health by HEAD", "HEAD", wire("HEAD", "/healthz"), 200},
		{"a forged link", "GET", wire("GET", "/files/{F}?download=4102444800.AAAA"), 403},
		// Framing net/http refuses before any handler.
		{"two Host headers", "HEAD", strings.Replace(wire("HEAD", fileA, dev), "Host: {host}\r\n", "Host: {host}\r\nHost: other\r\n", 1), 400},
		{"two different Content-Length", "POST", wire("POST", "/files/", dev, "Upload-Length: 10", "Content-Length: 0", "Content-Length: 5"), 400},
		// RFC 9112 6.1 lets a server go by Transfer-Encoding alone, as
		// net/http does (here an empty body: nothing stored).
		{"Content-Length and chunked", "PATCH", wire("PATCH", fileA, dev, "Upload-Offset: 40", "Content-Type: application/offset+octet-stream",
			"Content-Length: 5", "Transfer-Encoding: chunked") + "0\r\n\r\n", 204},
		{"an unknown transfer coding", "PATCH", wire("PATCH", fileA, dev, "Upload-Offset: 40", "Content-Type: application/offset+octet-stream",
			"Transfer-Encoding: gzip"), 501},
		{"a space in a header name", "HEAD", wire("HEAD", fileA, dev, "Upload Offset: 1"), 400},
		// RFC 9112 5.2 lets a server replace obs-fold by a space, as
		// net/http does.
		{"a folded header line", "HEAD", wire("HEAD", fileA, dev, "X-A: b", " folded"), 200},
		{"a folded Authorization", "HEAD", wire("HEAD", fileA, "Authorization: Bearer", " {dev}"), 200},
		{"a folded second Upload-Length", "POST", wire("POST", "/files/", dev, "Upload-Length: 10", " 20", "Content-Length: 0"), 400},
		{"HTTP/2.0 in the request line", "HEAD", strings.Replace(wire("HEAD", fileA, dev), "HTTP/1.1", "HTTP/2.0", 1), 505},
		{"not HTTP at all", "GET", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400},
		// tus headers through the real parser.
		{"two Upload-Length", "POST", wire("POST", "/files/", dev, "Upload-Length: 10", "Upload-Length: 20", "Content-Length: 0"), 400},
		{"Upload-Length with a +", "POST", wire("POST", "/files/", dev, "Upload-Length: +10", "Content-Length: 0"), 400},
		{"Upload-Length 2^63", "POST", wire("POST", "/files/", dev, "Upload-Length: 9223372036854775808", "Content-Length: 0"), 400},
		{"Upload-Length 2^63-1", "POST", wire("POST", "/files/", dev, "Upload-Length: 9223372036854775807", "Content-Length: 0"), 413},
		{"Upload-Offset with a +", "PATCH", wire("PATCH", fileA, dev, "Upload-Offset: +40", "Content-Type: application/offset+octet-stream", "Content-Length: 0"), 400},
		{"two Authorization", "HEAD", wire("HEAD", fileA, alice, dev), 400},
		{"Upload-Metadata of 900 KiB", "POST", wire("POST", "/files/", dev, "Upload-Length: 10", meta, "Content-Length: 0"), 400},
		{"PATCH without Content-Type", "PATCH", wire("PATCH", fileA, dev, "Upload-Offset: 40", "Content-Length: 0"), 400},
		{"Range past the end", "GET", wire("GET", "/files/{F}", dev, "Range: bytes=50-"), 416},
		{"Range reversed", "GET", wire("GET", "/files/{F}", dev, "Range: bytes=9-0"), 200},
		// Header size: http.DefaultMaxHeaderBytes (1 MiB) and its slack.
		{"a header block just under 1 MiB", "HEAD", wire("HEAD", fileA, dev, pad(1<<20-2048)), 200},
		{"20,000 small headers", "HEAD", wire("HEAD", fileA, append([]string{dev}, many...)...), 200},
		{"a header block over 1 MiB", "HEAD", wire("HEAD", fileA, dev, pad(1<<20+8192)), 431},
		{"a header block of 8 MiB", "HEAD", wire("HEAD", fileA, dev, pad(8<<20)), 431},
		{"a request line over 1 MiB", "HEAD", wire("HEAD", "/files/"+strings.Repeat("a", 1<<20+8192), dev), 431},
	}
	before := dirFiles(t, e.s.Dir)
	base := e.usage(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := exchange(t, e.s.Addr, tc.method, []byte(e.expand(tc.raw)))
			if status != tc.want {
				t.Errorf("status %d, want %d; body %.200q", status, tc.want, body)
			}
			if d := sameFiles(before, dirFiles(t, e.s.Dir)); d != "" {
				t.Fatalf("stored files changed: %s", d)
			}
		})
	}
	// Requests that take the upload's lock hold no descriptor after it:
	// the file locker once left two pidfds per unlock until the garbage
	// collector ran (93 open during 300 HEADs).
	t.Run("a burst of locked requests", func(t *testing.T) {
		c := withToken(e.dev)
		defer c.HTTP.Transport.(*http.Transport).CloseIdleConnections()
		most := 0
		for i := range 300 {
			if _, _, err := c.Head(ctx, e.urls["A"]); err != nil {
				t.Fatal(err)
			}
			if i%10 == 9 {
				most = max(most, e.serverFDs(t))
			}
		}
		if most > base.fds+4 {
			t.Errorf("up to %d open files during 300 HEADs, %d before", most, base.fds)
		}
	})
	e.settle(t, base, 10*time.Second)
	e.checkFixture(t, ctx, before)
	if !e.s.running() {
		t.Fatal("the server exited")
	}
	if out := e.s.out.String(); strings.Contains(out, "panic") {
		t.Errorf("the server logged a panic:\n%s", out)
	}
}

// TestHostileSlowClients: clients that send their request headers a
// byte at a time are dropped once -network-timeout (ReadHeaderTimeout)
// has passed, without an answer, and a connection left idle after a
// request is closed after it too (IdleTimeout); meanwhile the server
// answers others at once, and afterwards no goroutine or file is left
// behind and nothing stored changed. A PATCH whose body stalls ends after
// -network-timeout as well.
func TestHostileSlowClients(t *testing.T) {
	ctx := testCtx(t, 120*time.Second)
	e := startHostile(t, ctx)
	before := dirFiles(t, e.s.Dir)
	base := e.usage(t)

	const clients = 16
	type result struct {
		after time.Duration
		sent  int
		err   error
	}
	results := make(chan result, clients)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results <- slowHeaders(e.s.Addr, e.expand(fmt.Sprintf("PATCH /files/{A} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {dev}\r\nX-Slow-%d: ", i)))
		}()
	}
	// The server is not blocked by them.
	time.Sleep(hostileTimeout / 2)
	start := time.Now()
	if status, _ := exchange(t, e.s.Addr, "HEAD", []byte(e.expand(wire("HEAD", "/files/{A}", "Authorization: Bearer {dev}")))); status != 200 {
		t.Errorf("HEAD during the slow clients: %d", status)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("HEAD during the slow clients took %v", d)
	}
	wg.Wait()
	close(results)
	for r := range results {
		switch {
		case r.err != nil:
			t.Errorf("slow client: %v (after %v, %d bytes sent)", r.err, r.after, r.sent)
		case r.after < hostileTimeout*3/4 || r.after > hostileTimeout+3*time.Second:
			t.Errorf("slow client dropped after %v (%d bytes sent), want about %v", r.after, r.sent, hostileTimeout)
		}
	}

	// An idle keep-alive connection is closed too.
	conn, err := net.DialTimeout("tcp", e.s.Addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(hostileTimeout + 10*time.Second))
	conn.Write([]byte(e.expand("HEAD /healthz HTTP/1.1\r\nHost: {host}\r\n\r\n")))
	br := bufio.NewReader(conn)
	if resp, err := http.ReadResponse(br, &http.Request{Method: "HEAD"}); err != nil || resp.StatusCode != 200 {
		t.Fatalf("HEAD /healthz: %v", err)
	}
	idle := time.Now()
	if _, err := br.ReadByte(); err == nil {
		t.Error("the server sent more on an idle connection")
	} else if d := time.Since(idle); d < hostileTimeout*3/4 || d > hostileTimeout+3*time.Second {
		t.Errorf("idle connection closed after %v (%v), want about %v", d, err, hostileTimeout)
	}

	e.settle(t, base, 10*time.Second)
	e.checkFixture(t, ctx, before)

	// A PATCH whose body stalls is ended once -network-timeout passes
	// without a byte (tusd's read deadline), keeping what arrived, and
	// leaves nothing behind.
	c := withToken(e.dev)
	u, err := c.Create(ctx, e.s.Endpoint, 100, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.HTTP.Transport.(*http.Transport).CloseIdleConnections()
	base = e.usage(t)
	conn, err = net.DialTimeout("tcp", e.s.Addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(hostileTimeout + 10*time.Second))
	conn.Write([]byte(e.expand(wire("PATCH", "/files/"+uploadID(t, u), "Authorization: Bearer {dev}",
		"Content-Type: application/offset+octet-stream", "Upload-Offset: 0", "Content-Length: 100") + "01234")))
	stalled := time.Now()
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: "PATCH"})
	d := time.Since(stalled)
	if err != nil {
		t.Fatalf("stalled PATCH: %v after %v", err, d)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// tusd answers 500 ERR_READ_TIMEOUT, "for backwards compatibility":
	// clients retry a 5xx.
	if resp.StatusCode != http.StatusInternalServerError || !strings.HasPrefix(string(b), "ERR_READ_TIMEOUT") {
		t.Errorf("stalled PATCH: %d %q, want 500 ERR_READ_TIMEOUT", resp.StatusCode, b)
	}
	if d < hostileTimeout*3/4 || d > hostileTimeout+3*time.Second {
		t.Errorf("stalled PATCH ended after %v (%v), want about %v", d, err, hostileTimeout)
	}
	conn.Close()
	e.settle(t, base, 10*time.Second)
	if off, _, err := c.Head(ctx, u); err != nil || off != 5 {
		t.Errorf("offset after the stalled PATCH: %d, %v; want the 5 bytes that arrived", off, err)
	}
	c.HTTP.Transport.(*http.Transport).CloseIdleConnections()
}

// slowHeaders opens a connection, sends head and then one byte of a
// header value every 100 ms, never ending the header block, until the
// server closes the connection (bounded: 15 s). It returns how long the
// server kept it. The server must not answer.
func slowHeaders(addr, head string) (r struct {
	after time.Duration
	sent  int
	err   error
}) {
	start := time.Now()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		r.err = err
		return r
	}
	defer conn.Close()
	closed := make(chan error, 1)
	go func() {
		conn.SetReadDeadline(time.Now().Add(15 * time.Second))
		var buf bytes.Buffer
		_, err := io.Copy(&buf, conn)
		switch {
		case buf.Len() > 0:
			closed <- fmt.Errorf("the server answered %q", buf.String())
		case err != nil && errors.Is(err, os.ErrDeadlineExceeded):
			closed <- errors.New("not dropped within 15s")
		default:
			closed <- nil // EOF or reset: dropped
		}
	}()
	if _, err := conn.Write([]byte(head)); err != nil {
		r.err = err
		return r
	}
	r.sent = len(head)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-closed:
			r.after, r.err = time.Since(start), err
			return r
		case <-tick.C:
			if _, err := conn.Write([]byte("a")); err == nil {
				r.sent++
			}
		}
	}
}
