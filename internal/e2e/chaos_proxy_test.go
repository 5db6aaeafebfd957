package e2e

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// slowProxy is a loopback TCP proxy in front of an object store that makes
// it slow: each request waits latency before it is forwarded (a request is
// what a client sends on a new connection or after the store answered),
// and what clients send is capped at rate bytes a second, all connections
// together (0: no cap). Answers flow back unchanged.
type slowProxy struct {
	ln       net.Listener
	target   string
	latency  time.Duration
	pace     *pacer
	requests atomic.Int64

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// startSlowProxy listens on 127.0.0.1 and forwards to target (host:port)
// until the test ends.
func startSlowProxy(t *testing.T, target string, latency time.Duration, rate float64) *slowProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &slowProxy{ln: ln, target: target, latency: latency, conns: map[net.Conn]struct{}{}}
	if rate > 0 {
		p.pace = &pacer{rate: rate}
	}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

// Addr is the proxy's host:port.
func (p *slowProxy) Addr() string { return p.ln.Addr().String() }

func (p *slowProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		u, err := net.DialTimeout("tcp", p.target, 5*time.Second)
		if err != nil {
			c.Close()
			continue
		}
		if !p.track(c, u) {
			return
		}
		p.wg.Add(1)
		go p.serve(c, u)
	}
}

// track registers a connection pair, or closes it when the proxy is closed.
func (p *slowProxy) track(c, u net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns == nil {
		c.Close()
		u.Close()
		return false
	}
	p.conns[c], p.conns[u] = struct{}{}, struct{}{}
	return true
}

// serve copies both ways until both directions are done.
func (p *slowProxy) serve(c, u net.Conn) {
	defer p.wg.Done()
	// answered is set once the store sent something since the client's
	// last bytes: the client's next bytes start a new request.
	var answered atomic.Bool
	answered.Store(true)
	var both sync.WaitGroup
	both.Add(2)
	go func() { // client → store, delayed and paced
		defer both.Done()
		buf := make([]byte, 32<<10)
		for {
			n, err := c.Read(buf)
			if n > 0 {
				if answered.Swap(false) {
					p.requests.Add(1)
					time.Sleep(p.latency)
				}
				if p.pace != nil {
					p.pace.wait(n)
				}
				if _, werr := u.Write(buf[:n]); werr != nil {
					break
				}
			}
			if err != nil {
				break
			}
		}
		closeWrite(u)
	}()
	go func() { // store → client
		defer both.Done()
		buf := make([]byte, 32<<10)
		for {
			n, err := u.Read(buf)
			if n > 0 {
				answered.Store(true)
				if _, werr := c.Write(buf[:n]); werr != nil {
					break
				}
			}
			if err != nil {
				break
			}
		}
		closeWrite(c)
	}()
	both.Wait()
	p.mu.Lock()
	if p.conns != nil {
		delete(p.conns, c)
		delete(p.conns, u)
	}
	p.mu.Unlock()
	c.Close()
	u.Close()
}

func closeWrite(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok && tc.CloseWrite() == nil {
		return
	}
	c.Close()
}

// close stops the proxy and waits for its goroutines.
func (p *slowProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	for c := range p.conns {
		c.Close()
	}
	p.conns = nil
	p.mu.Unlock()
	p.wg.Wait()
}

// pacer spaces out n-byte sends at rate bytes a second, over every
// caller together.
type pacer struct {
	rate float64
	mu   sync.Mutex
	next time.Time
}

func (p *pacer) wait(n int) {
	p.mu.Lock()
	now := time.Now()
	start := now
	if p.next.After(now) {
		start = p.next
	}
	p.next = start.Add(time.Duration(float64(n) / p.rate * float64(time.Second)))
	p.mu.Unlock()
	time.Sleep(start.Sub(now))
}

// The proxy itself: a request waits the latency, and a body is paced.
func TestSlowProxy(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // echo the byte count back once the client is done
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				n, _ := io.Copy(io.Discard, c)
				c.Write([]byte{byte(n >> 20)})
			}()
		}
	}()
	const latency, rate = 200 * time.Millisecond, 8 << 20
	p := startSlowProxy(t, ln.Addr().String(), latency, rate)
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	if _, err := c.Write(make([]byte, 2<<20)); err != nil {
		t.Fatal(err)
	}
	c.(*net.TCPConn).CloseWrite()
	var b [1]byte
	if _, err := io.ReadFull(c, b[:]); err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	took := time.Since(start)
	// 200 ms of latency, then 2 MiB at 8 MiB/s: at least 450 ms.
	if b[0] != 2 || took < latency+2*time.Second/8-20*time.Millisecond {
		t.Errorf("2 MiB through the proxy: %d MiB echoed after %v, want 2 after at least 450 ms", b[0], took)
	}
	if n := p.requests.Load(); n != 1 {
		t.Errorf("%d requests counted, want 1", n)
	}
}
