package costbench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Bounds of the proxy.
const (
	dialTimeout  = 5 * time.Second
	readBuffer   = 64 << 10 // per direction of a connection
	queueLength  = 64       // requests of one connection awaiting their response
	quietPolling = 20 * time.Millisecond
)

// ErrNotLoopback is returned by StartProxy for an upstream that is not a
// loopback IP address.
var ErrNotLoopback = errors.New("costbench: upstream is not a loopback address")

// Proxy is a counting TCP proxy on a loopback port chosen at run time: it
// forwards every byte between its clients and one upstream S3 server
// unchanged and, reading the HTTP/1.1 messages as they pass (requests
// and responses in order on each keep-alive connection, bodies framed by
// Content-Length or chunked encoding), tallies each request's wire and
// body bytes both ways by its Kind.
type Proxy struct {
	URL string // http://127.0.0.1:PORT, the endpoint to give the server

	ln       net.Listener
	upstream string // host:port

	// rawUp and rawDown count every byte forwarded, parsed or not.
	rawUp, rawDown atomic.Int64

	mu       sync.Mutex
	counts   Counts
	inFlight int     // requests seen whose response has not ended
	errs     []error // parse failures (the bytes were still forwarded)
	conns    map[net.Conn]struct{}
	closed   bool
	wg       sync.WaitGroup
}

// StartProxy listens on a free loopback port and forwards connections to
// upstream, an http:// URL of a loopback IP (an s3server.Server's
// Endpoint).
func StartProxy(upstream string) (*Proxy, error) {
	u, err := url.Parse(upstream)
	if err != nil || u.Scheme != "http" {
		return nil, fmt.Errorf("costbench: upstream %q: want http://IP:PORT", upstream)
	}
	if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("%w: %q", ErrNotLoopback, upstream)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("costbench: listen: %w", err)
	}
	p := &Proxy{URL: "http://" + ln.Addr().String(), ln: ln, upstream: u.Host,
		counts: Counts{}, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Counts returns a snapshot of the tallies so far.
func (p *Proxy) Counts() Counts {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.counts.Plus(nil)
}

// Raw returns every byte forwarded so far to and from the upstream. Once
// the proxy is quiet they equal the sums of the tallies' wire bytes.
func (p *Proxy) Raw() (up, down int64) { return p.rawUp.Load(), p.rawDown.Load() }

// Err returns the parse failures so far, joined (nil if none).
func (p *Proxy) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return errors.Join(p.errs...)
}

// Quiet waits until every request the proxy has seen has had its whole
// response, and that has stayed so for settle; it fails when ctx ends
// first.
func (p *Proxy) Quiet(ctx context.Context, settle time.Duration) error {
	var since time.Time
	for {
		p.mu.Lock()
		busy := p.inFlight > 0
		p.mu.Unlock()
		switch {
		case busy:
			since = time.Time{}
		case since.IsZero():
			since = time.Now()
		case time.Since(since) >= settle:
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("costbench: waiting for the object store's traffic to end: %w", ctx.Err())
		case <-time.After(quietPolling):
		}
	}
}

// Close stops listening, closes every connection and waits for their
// goroutines.
func (p *Proxy) Close() error {
	err := p.ln.Close()
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return err
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		p.wg.Add(1)
		go p.serve(c)
	}
}

// track registers c for Close; false when the proxy is closing.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		delete(p.conns, c)
		c.Close()
	}
}

// serve forwards one client connection to a connection of its own to the
// upstream; when either direction ends, both connections close.
func (p *Proxy) serve(client net.Conn) {
	defer p.wg.Done()
	up, err := net.DialTimeout("tcp", p.upstream, dialTimeout)
	if err != nil {
		client.Close()
		return
	}
	if !p.track(client) || !p.track(up) {
		p.untrack(client, up)
		return
	}
	queue := make(chan Kind, queueLength)
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.requests(client, up, queue)
		p.untrack(client, up)
	}()
	p.responses(up, client, queue)
	p.untrack(client, up)
	// Requests the upstream never answered (the connection closed under
	// them) are no longer in flight.
	for k := range queue {
		p.tally(k, Tally{}, true)
	}
	<-done
}

// reader reads a stream, forwarding every byte it reads to dst and
// counting it in raw, and says where in the stream its parser is.
type reader struct {
	*bufio.Reader
	n int64 // bytes read from the connection
}

func newReader(src io.Reader, dst io.Writer, raw *atomic.Int64) *reader {
	r := &reader{}
	r.Reader = bufio.NewReaderSize(io.TeeReader(countFunc{src, func(n int) {
		r.n += int64(n)
		raw.Add(int64(n))
	}}, dst), readBuffer)
	return r
}

// pos is the offset in the stream of the next byte to parse.
func (r *reader) pos() int64 { return r.n - int64(r.Buffered()) }

// more reports whether another message starts (false at the end of the
// stream or on an error).
func (r *reader) more() bool {
	_, err := r.Peek(1)
	return err == nil
}

// countFunc is a reader that reports the size of every read.
type countFunc struct {
	r    io.Reader
	seen func(int)
}

func (c countFunc) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.seen(n)
	return n, err
}

// requests parses the client's requests as they are forwarded upstream,
// sending each one's kind on queue once its header is read (the response
// may start before the body is sent: 100-continue) and tallying its bytes
// once its body is.
func (p *Proxy) requests(client, up net.Conn, queue chan<- Kind) {
	defer close(queue)
	r := newReader(client, up, &p.rawUp)
	for r.more() {
		start := r.pos()
		req, err := http.ReadRequest(r.Reader)
		if err != nil {
			p.fail("request", err, r)
			return
		}
		k := Classify(req.Method, req.URL, req.Header)
		p.mu.Lock()
		p.inFlight++
		p.mu.Unlock()
		queue <- k
		body, err := io.Copy(io.Discard, req.Body)
		p.tally(k, Tally{Requests: 1, Up: r.pos() - start, BodyUp: body}, false)
		if err != nil {
			p.fail("request body", err, r)
			return
		}
	}
}

// responses parses the upstream's responses as they are forwarded to the
// client, each matched with the request at the head of queue, and tallies
// their bytes.
func (p *Proxy) responses(up, client net.Conn, queue <-chan Kind) {
	r := newReader(up, client, &p.rawDown)
	for r.more() {
		k, ok := <-queue
		if !ok {
			p.fail("response", errors.New("a response without a request"), r)
			return
		}
		start := r.pos()
		var resp *http.Response
		var err error
		for {
			resp, err = http.ReadResponse(r.Reader, &http.Request{Method: k.Method})
			if err != nil || resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
				break
			}
			// 100 Continue (or another interim response): the final one follows.
		}
		if err != nil {
			p.tally(k, Tally{Down: r.pos() - start}, true)
			p.fail("response", err, r)
			return
		}
		body, err := io.Copy(io.Discard, resp.Body)
		t := Tally{Down: r.pos() - start, BodyDown: body}
		if resp.StatusCode >= 400 {
			t.Failed = 1
		}
		p.tally(k, t, true)
		if err != nil {
			p.fail("response body", err, r)
			return
		}
	}
}

// tally adds t to k's tally; ended says a response ended.
func (p *Proxy) tally(k Kind, t Tally, ended bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	v := p.counts[k]
	v.add(t)
	p.counts[k] = v
	if ended {
		p.inFlight--
	}
}

// fail records a parse failure, unless the connection was closed or
// reset under the parser (a keep-alive connection the upstream closed as
// a request came: the SDKs send it again), and forwards the rest of the
// stream unparsed. What a cut message had moved is already tallied.
func (p *Proxy) fail(what string, err error, r *reader) {
	if !closed(err) {
		p.mu.Lock()
		p.errs = append(p.errs, fmt.Errorf("costbench: %s at byte %d: %w", what, r.pos(), err))
		p.mu.Unlock()
	}
	io.Copy(io.Discard, r)
}

// closed reports whether err is the end of a connection rather than a
// message the parser could not read.
func closed(err error) bool {
	for _, e := range []error{net.ErrClosed, io.EOF, io.ErrUnexpectedEOF, syscall.ECONNRESET, syscall.EPIPE} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
