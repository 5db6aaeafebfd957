package testenv

import (
	"fmt"
	"net"
	"sync"
)

// FreePort returns a TCP port that was free on 127.0.0.1 a moment ago.
// Another process may take it before the caller binds it, so callers retry
// on a bind failure.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// TailBuffer is an io.Writer that keeps the last Max bytes written: a
// server process's output, for the message of a failing test.
type TailBuffer struct {
	Max int

	mu      sync.Mutex
	buf     []byte
	dropped bool
}

func (b *TailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.Max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
		b.dropped = true
	}
	return len(p), nil
}

// String is what the buffer holds, marked when earlier bytes were dropped.
func (b *TailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dropped {
		return "[...]\n" + string(b.buf)
	}
	return string(b.buf)
}
