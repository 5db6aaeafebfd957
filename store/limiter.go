package store

import (
	"context"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"
)

// Limiter is the process-wide bound on part uploads in flight. A part takes
// a slot only once it is complete and spooled, so a slow client never holds
// one; extra parts wait in FIFO order and are never rejected.
type Limiter struct {
	sem     *semaphore.Weighted
	slots   int64
	inUse   atomic.Int64
	waiting atomic.Int64
	// wait times each Acquire that got a slot.
	wait *Histogram
}

// NewLimiter returns a limiter with the given number of slots (at least 1).
func NewLimiter(slots int) *Limiter {
	if slots < 1 {
		slots = 1
	}
	return &Limiter{sem: semaphore.NewWeighted(int64(slots)), slots: int64(slots), wait: NewHistogram(waitBuckets)}
}

// Acquire waits for a slot or for ctx to end.
func (l *Limiter) Acquire(ctx context.Context) error {
	start := time.Now()
	l.waiting.Add(1)
	err := l.sem.Acquire(ctx, 1)
	l.waiting.Add(-1)
	if err != nil {
		return err
	}
	l.inUse.Add(1)
	l.wait.ObserveSince(start)
	return nil
}

// Release frees a slot taken by Acquire.
func (l *Limiter) Release() {
	l.inUse.Add(-1)
	l.sem.Release(1)
}

// Slots is the number of slots.
func (l *Limiter) Slots() int { return int(l.slots) }

// InUse is the number of slots held now.
func (l *Limiter) InUse() int { return int(l.inUse.Load()) }

// Waiting is the number of parts waiting for a slot now.
func (l *Limiter) Waiting() int { return int(l.waiting.Load()) }

// WaitSeconds is the histogram of the time parts waited for a slot.
func (l *Limiter) WaitSeconds() *Histogram { return l.wait }
