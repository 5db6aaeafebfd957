package browser

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// proxy is a TCP proxy on a loopback port in front of one server: it
// forwards bytes from the browser to the server at no more than rate
// bytes per second (all connections together; answers go back at full
// speed), and Drop cuts it like a dropped network: every connection
// closed at once (reset), and new ones reset for a while.
type proxy struct {
	ln     net.Listener
	target string
	rate   int64

	up      atomic.Int64 // bytes forwarded to the server
	refused atomic.Int64 // connections reset while dropping
	drops   atomic.Int64

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	until  time.Time // refuse new connections before this
	next   time.Time // when the throttle lets the next bytes through
	closed bool
	wg     sync.WaitGroup
}

// proxyChunk is how many bytes the throttle lets through at a time.
const proxyChunk = 16 << 10

func startProxy(t *testing.T, target string, rate int64) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, rate: rate, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(p.close)
	return p
}

// Addr is the proxy's host:port.
func (p *proxy) Addr() string { return p.ln.Addr().String() }

func (p *proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		p.mu.Lock()
		refuse := p.closed || time.Now().Before(p.until)
		if !refuse {
			p.conns[c] = struct{}{}
		}
		p.mu.Unlock()
		if refuse {
			p.refused.Add(1)
			reset(c)
			continue
		}
		p.wg.Add(1)
		go p.handle(c)
	}
}

// reset closes c with a TCP RST, as a dropped connection looks to the
// browser.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}

func (p *proxy) handle(c net.Conn) {
	defer p.wg.Done()
	defer p.forget(c)
	u, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		reset(c)
		return
	}
	p.mu.Lock()
	if _, open := p.conns[c]; p.closed || !open {
		// Dropped while dialing.
		p.mu.Unlock()
		u.Close()
		return
	}
	p.conns[u] = struct{}{}
	p.mu.Unlock()
	defer p.forget(u)
	done := make(chan struct{}, 2)
	go func() { // browser → server, throttled
		buf := make([]byte, proxyChunk)
		for {
			n, err := c.Read(buf)
			if n > 0 {
				p.wait(n)
				if _, werr := u.Write(buf[:n]); werr != nil {
					break
				}
				p.up.Add(int64(n))
			}
			if err != nil {
				if tc, ok := u.(*net.TCPConn); ok && errors.Is(err, io.EOF) {
					tc.CloseWrite() // the browser finished sending
				}
				break
			}
		}
		done <- struct{}{}
	}()
	go func() { // server → browser
		io.Copy(c, u)
		if tc, ok := c.(*net.TCPConn); ok {
			tc.CloseWrite()
		}
		done <- struct{}{}
	}()
	<-done
	<-done
	c.Close()
	u.Close()
}

// wait holds n bytes back until the rate allows them.
func (p *proxy) wait(n int) {
	p.mu.Lock()
	now := time.Now()
	if p.next.Before(now) {
		p.next = now
	}
	p.next = p.next.Add(time.Duration(int64(n) * int64(time.Second) / p.rate))
	at := p.next
	p.mu.Unlock()
	if d := time.Until(at); d > 0 {
		time.Sleep(d)
	}
}

func (p *proxy) forget(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

// Drop resets every connection and refuses new ones for d.
func (p *proxy) Drop(d time.Duration) {
	p.drops.Add(1)
	p.mu.Lock()
	p.until = time.Now().Add(d)
	conns := make([]net.Conn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	for _, c := range conns {
		reset(c)
	}
}

func (p *proxy) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.ln.Close()
	p.Drop(0)
	p.wg.Wait()
}

// TestProxy: bytes pass both ways at the rate, and Drop resets the
// connections in flight and refuses new ones for its duration.
func TestProxy(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }() // echo
		}
	}()
	const rate = 1 << 20
	p := startProxy(t, ln.Addr().String(), rate)
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	data := make([]byte, 256<<10)
	start := time.Now()
	go c.Write(data)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(c, make([]byte, len(data))); err != nil {
		t.Fatalf("echo through the proxy: %v", err)
	}
	if el := time.Since(start); el < 200*time.Millisecond {
		t.Errorf("256 KiB at 1 MiB/s took %v", el)
	}

	p.Drop(300 * time.Millisecond)
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("a connection survived Drop")
	}
	c2, err := net.Dial("tcp", p.Addr())
	if err == nil {
		c2.SetReadDeadline(time.Now().Add(2 * time.Second))
		_, err = c2.Read(make([]byte, 1))
		c2.Close()
	}
	if err == nil || p.refused.Load() == 0 {
		t.Errorf("a connection during the drop was not refused (%v, %d refused)", err, p.refused.Load())
	}
	time.Sleep(400 * time.Millisecond)
	c3, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Close()
	c3.Write([]byte("x"))
	c3.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.ReadFull(c3, make([]byte, 1)); err != nil {
		t.Errorf("after the drop: %v", err)
	}
}
