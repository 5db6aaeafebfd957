package loadgen

import (
	"context"
	"io"
	"time"
)

// Bounds of Options.Rate and the pieces a paced body is read in.
const (
	minRate  = 1 << 10  // bytes per second: an upload's duration stays bounded by its size
	maxPiece = 16 << 10 // bytes a paced body hands out per Read at most
	minPiece = 1 << 10
)

// pieceFor returns the read size of a body paced at rate bytes per second:
// about 64 reads a second, from 1 KiB to 16 KiB.
func pieceFor(rate int64) int {
	return int(min(max(rate/64, minPiece), maxPiece))
}

// bucket is a token bucket of bytes: it fills at rate bytes per second
// and holds at most size, so a paced client that fell behind (the server
// did not read) does not send more than size at once to catch up, like a
// link of fixed speed.
type bucket struct {
	rate, size float64
	tokens     float64
	last       time.Time
}

// take takes n bytes' worth of tokens at now and returns how long to wait
// before sending them (0: at once). The bucket starts full; a debt is
// paid by the wait, and the next take at now+wait starts from empty.
func (b *bucket) take(now time.Time, n int) time.Duration {
	if b.last.IsZero() {
		b.tokens = b.size
	} else {
		b.tokens = min(b.size, b.tokens+b.rate*now.Sub(b.last).Seconds())
	}
	b.last = now
	b.tokens -= float64(n)
	if b.tokens >= 0 {
		return 0
	}
	return time.Duration(-b.tokens / b.rate * float64(time.Second))
}

// paced reads r at most rate bytes per second (the throttle of a slow
// client, on the client's side of the connection). Waits end with ctx.
type paced struct {
	ctx   context.Context
	r     io.Reader
	piece int
	b     bucket
}

func newPaced(ctx context.Context, r io.Reader, rate int64) *paced {
	piece := pieceFor(rate)
	return &paced{ctx: ctx, r: r, piece: piece, b: bucket{rate: float64(rate), size: float64(piece)}}
}

func (p *paced) Read(buf []byte) (int, error) {
	if len(buf) > p.piece {
		buf = buf[:p.piece]
	}
	n, err := p.r.Read(buf)
	if n == 0 {
		return n, err
	}
	if d := p.b.take(time.Now(), n); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-p.ctx.Done():
			return 0, p.ctx.Err()
		}
	}
	return n, err
}
