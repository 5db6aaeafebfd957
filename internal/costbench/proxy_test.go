package costbench

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestClassify(t *testing.T) {
	for _, c := range []struct {
		method, target string
		copySource     bool
		want           Kind
	}{
		{"PUT", "/b/up/1.info", false, Kind{"PUT", OpPutObject, ClassInfo}},
		{"GET", "/b/up/1.info", false, Kind{"GET", OpGetObject, ClassInfo}},
		{"PUT", "/b/up/1.part", false, Kind{"PUT", OpPutObject, ClassPart}},
		{"HEAD", "/b/up/1.part", false, Kind{"HEAD", OpHeadObject, ClassPart}},
		{"DELETE", "/b/up/1.part", false, Kind{"DELETE", OpDeleteObject, ClassPart}},
		{"PUT", "/b/up/1.part.20971520-0a1b2c3d4e5f6a7b", false, Kind{"PUT", OpPutObject, ClassPart}},
		{"PUT", "/b/up/1.segs.3", false, Kind{"PUT", OpPutObject, ClassInfo}},
		{"PUT", "/b/up/1?partNumber=2&uploadId=x", false, Kind{"PUT", OpUploadPart, ClassData}},
		{"PUT", "/b/up/1?partNumber=2&uploadId=x", true, Kind{"PUT", OpUploadPartCopy, ClassData}},
		{"PUT", "/b/up/1", true, Kind{"PUT", OpCopyObject, ClassData}},
		{"POST", "/b/up/1?uploads", false, Kind{"POST", OpCreateMultipart, ClassData}},
		{"POST", "/b/up/1?uploadId=x", false, Kind{"POST", OpCompleteMultipart, ClassData}},
		{"DELETE", "/b/up/1?uploadId=x", false, Kind{"DELETE", OpAbortMultipart, ClassData}},
		{"GET", "/b/up/1?uploadId=x&part-number-marker=0", false, Kind{"GET", OpListParts, ClassData}},
		{"GET", "/b/up/1?x-id=GetObject", false, Kind{"GET", OpGetObject, ClassData}},
		{"GET", "/b/up/1.tags.3", false, Kind{"GET", OpGetObject, ClassTags}},
		{"GET", "/b?list-type=2", false, Kind{"GET", OpBucket, ClassBucket}},
		{"HEAD", "/b/", false, Kind{"HEAD", OpBucket, ClassBucket}},
		{"PATCH", "/b/up/1", false, Kind{"PATCH", OpOther, ClassData}},
	} {
		u, err := url.Parse(c.target)
		if err != nil {
			t.Fatal(err)
		}
		h := http.Header{}
		if c.copySource {
			h.Set("X-Amz-Copy-Source", "/b/up/0")
		}
		if got := Classify(c.method, u, h); got != c.want {
			t.Errorf("Classify(%s %s, copy source %v) = %+v, want %+v", c.method, c.target, c.copySource, got, c.want)
		}
	}
}

// countingListener counts the bytes its connections read and write.
type countingListener struct {
	net.Listener
	read, written *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{c, l.read, l.written}, nil
}

type countingConn struct {
	net.Conn
	read, written *atomic.Int64
}

func (c countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.read.Add(int64(n))
	return n, err
}

func (c countingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.written.Add(int64(n))
	return n, err
}

// TestProxyCounts sends requests of every framing through the proxy on
// keep-alive connections to a server that counts what its connections
// read and write: Content-Length and chunked bodies, 100-continue, a
// HEAD, an error, a chunked response. The tallies must match the bodies
// sent and the proxy's raw counts the server's, byte for byte.
func TestProxyCounts(t *testing.T) {
	var read, written atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		switch {
		case strings.HasSuffix(r.URL.Path, "missing.part"):
			http.Error(w, "NoSuchKey", http.StatusNotFound)
		case r.Method == http.MethodHead:
			w.Header().Set("Content-Length", "4096")
		case r.Method == http.MethodGet && r.URL.Query().Has("chunked"):
			w.Write(bytes.Repeat([]byte("c"), 50_000))
			w.(http.Flusher).Flush() // no Content-Length: chunked
			w.Write(bytes.Repeat([]byte("c"), 50_000))
		case r.Method == http.MethodGet:
			size, _ := strconv.Atoi(r.URL.Query().Get("size"))
			w.Header().Set("Content-Length", strconv.Itoa(size))
			w.Write(bytes.Repeat([]byte("g"), size))
		default:
			w.Header().Set("ETag", strconv.FormatInt(n, 10))
		}
	}))
	srv.Listener = countingListener{srv.Listener, &read, &written}
	srv.Start()
	defer srv.Close()

	px, err := StartProxy(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer px.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2, ExpectContinueTimeout: 5 * time.Second, DisableCompression: true}}
	defer client.CloseIdleConnections()
	send := func(method, path string, body []byte, chunked, expect bool) {
		t.Helper()
		var r io.Reader
		if body != nil {
			r = bytes.NewReader(body)
			if chunked {
				r = io.MultiReader(r) // hides the length: chunked encoding
			}
		}
		req, err := http.NewRequest(method, px.URL+path, r)
		if err != nil {
			t.Fatal(err)
		}
		if expect {
			req.Header.Set("Expect", "100-continue")
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	for range 3 {
		send("PUT", "/b/k.info", make([]byte, 1000), false, false)
		send("PUT", "/b/k?partNumber=1&uploadId=x", make([]byte, 100<<10), true, false)
		send("PUT", "/b/k.part", make([]byte, 200<<10), false, true)
		send("GET", "/b/k?size=300000", nil, false, false)
		send("GET", "/b/k.part?chunked", nil, false, false)
		send("HEAD", "/b/k.part", nil, false, false)
		send("HEAD", "/b/missing.part", nil, false, false)
		send("POST", "/b/k?uploads", nil, false, false)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := px.Quiet(ctx, 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := px.Err(); err != nil {
		t.Fatal(err)
	}
	c := px.Counts()
	want := map[Kind]Tally{
		{"PUT", OpPutObject, ClassInfo}:        {Requests: 3, BodyUp: 3 * 1000},
		{"PUT", OpUploadPart, ClassData}:       {Requests: 3, BodyUp: 3 * 100 << 10},
		{"PUT", OpPutObject, ClassPart}:        {Requests: 3, BodyUp: 3 * 200 << 10},
		{"GET", OpGetObject, ClassData}:        {Requests: 3, BodyDown: 3 * 300000},
		{"GET", OpGetObject, ClassPart}:        {Requests: 3, BodyDown: 3 * 100000},
		{"HEAD", OpHeadObject, ClassPart}:      {Requests: 6, Failed: 3}, // a HEAD answer has no body,
		{"POST", OpCreateMultipart, ClassData}: {Requests: 3},
	}
	if len(c) != len(want) {
		t.Errorf("%d kinds counted, want %d: %+v", len(c), len(want), c)
	}
	for k, w := range want {
		got := c[k]
		if got.Requests != w.Requests || got.BodyUp != w.BodyUp || got.BodyDown != w.BodyDown || got.Failed != w.Failed {
			t.Errorf("%+v: %+v, want %+v (and wire bytes)", k, got, w)
		}
		if got.Up <= got.BodyUp || got.Down <= got.BodyDown {
			t.Errorf("%+v: wire bytes %d up, %d down, not above the bodies", k, got.Up, got.Down)
		}
	}
	up, down := px.Raw()
	sum := c.Sum(nil)
	if up != read.Load() || down != written.Load() || sum.Up != up || sum.Down != down {
		t.Errorf("bytes up: proxy %d, tallies %d, server read %d; down: proxy %d, tallies %d, server wrote %d",
			up, sum.Up, read.Load(), down, sum.Down, written.Load())
	}
}

func TestStartProxyLoopbackOnly(t *testing.T) {
	for _, u := range []string{"http://192.0.2.1:9000", "http://example.com:9000"} {
		if _, err := StartProxy(u); !errors.Is(err, ErrNotLoopback) {
			t.Errorf("StartProxy(%q): %v, want ErrNotLoopback", u, err)
		}
	}
	if _, err := StartProxy("https://127.0.0.1:9000"); err == nil {
		t.Error("StartProxy of an https upstream: no error")
	}
}

func TestCountsSub(t *testing.T) {
	k1, k2 := Kind{"PUT", OpPutObject, ClassInfo}, Kind{"GET", OpGetObject, ClassData}
	before := Counts{k1: {Requests: 1, Up: 10, BodyUp: 5}}
	after := Counts{k1: {Requests: 1, Up: 10, BodyUp: 5}, k2: {Requests: 2, Down: 100, BodyDown: 80}}
	d := after.Sub(before)
	if len(d) != 1 || d[k2] != after[k2] {
		t.Errorf("Sub: %+v, want only %+v", d, after[k2])
	}
	if s := d.Plus(before); s.Sum(nil) != after.Sum(nil) {
		t.Errorf("Plus: %+v, want %+v", s.Sum(nil), after.Sum(nil))
	}
	if got := after.Sum(Method("GET")).Requests; got != 2 {
		t.Errorf("Sum(Method(GET)).Requests = %d, want 2", got)
	}
}

// rawUpstream starts a proxy to a loopback listener whose connections
// are handed to handle, one after the other; both end with t.
func rawUpstream(t *testing.T, handle func(net.Conn)) *Proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			handle(c)
			c.Close()
		}
	}()
	px, err := StartProxy("http://" + ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { px.Close() })
	return px
}

// TestProxyParseFailure: bytes that are not HTTP are still forwarded, and
// the failure is reported, so that counts are never silently short.
func TestProxyParseFailure(t *testing.T) {
	const junk = "NOT HTTP\r\n\r\n"
	got := make(chan []byte, 1)
	px := rawUpstream(t, func(c net.Conn) {
		b, _ := io.ReadAll(io.LimitReader(c, int64(len(junk))))
		got <- b
	})
	c, err := net.Dial("tcp", strings.TrimPrefix(px.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(junk)); err != nil {
		t.Fatal(err)
	}
	if b := <-got; string(b) != junk {
		t.Errorf("upstream got %q", b)
	}
	deadline := time.Now().Add(5 * time.Second)
	for px.Err() == nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if px.Err() == nil {
		t.Error("no parse failure reported")
	}
}

// TestProxyUpstreamCloses: a request the upstream closes its connection
// on, unanswered, is counted, and leaves nothing in flight.
func TestProxyUpstreamCloses(t *testing.T) {
	px := rawUpstream(t, func(c net.Conn) {
		io.ReadFull(c, make([]byte, 10)) // part of the request, then away
	})
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(px.URL + "/b/k.info")
	if err == nil {
		resp.Body.Close()
		t.Fatalf("GET: status %d from an upstream that closed", resp.StatusCode)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := px.Quiet(ctx, 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := px.Err(); err != nil {
		t.Errorf("a closed connection reported as a parse failure: %v", err)
	}
	if got := px.Counts()[Kind{"GET", OpGetObject, ClassInfo}].Requests; got < 1 {
		t.Errorf("%d GETs of .info counted, want 1 (or more, if the client sent it again)", got)
	}
}
