package lock

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/bsm/redislock"
	"github.com/tus/tusd/v2/pkg/handler"
)

// redisLock is one tusd lock.
type redisLock struct {
	r    *Redis
	name string
	h    *hold
}

// republish is how often a waiter asks the holder again.
const republish = time.Second

// Lock implements handler.Lock: it asks the holder to release and waits
// until the lock is free and taken, or ctx ends (handler.ErrLockTimeout;
// ErrLockUnavailable while Redis fails or has just come back).
func (l *redisLock) Lock(ctx context.Context, requestRelease func()) error {
	r := l.r
	var asked time.Time
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		wait, err := r.grantable(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return handler.ErrLockTimeout
			}
			return err
		}
		if wait > 0 {
			timer.Reset(min(wait, r.cfg.Poll))
			select {
			case <-ctx.Done():
				return ErrLockUnavailable
			case <-timer.C:
			}
			continue
		}
		free, unwatch := r.watch(l.name)
		opCtx, cancel := context.WithTimeout(ctx, r.cfg.OpTimeout)
		h, token, err := r.obtain(opCtx, l.name, requestRelease)
		if err == nil {
			cancel()
			unwatch()
			l.h = h
			return nil
		}
		if !errors.Is(err, errHeld) {
			cancel()
			unwatch()
			if ctx.Err() != nil {
				return handler.ErrLockTimeout
			}
			r.unavailable("lock", err)
			return ErrLockUnavailable
		}
		if token != "" && time.Since(asked) >= republish {
			r.askRelease(opCtx, l.name, token)
			asked = time.Now()
		}
		cancel()
		timer.Reset(r.cfg.Poll)
		select {
		case <-ctx.Done():
			unwatch()
			return handler.ErrLockTimeout
		case <-free:
		case <-timer.C:
		}
		timer.Stop()
		unwatch()
	}
}

// Unlock implements handler.Lock.
func (l *redisLock) Unlock() error {
	h := l.h
	if h == nil {
		return nil
	}
	l.h = nil
	return h.release()
}

// hold is a lock taken, renewed until released.
type hold struct {
	r              *Redis
	name           string
	lk             *redislock.Lock
	requestRelease func() // nil for TryLock
	stop, done     chan struct{}
	lost, released atomic.Bool
}

// renew extends the lease every Lease/3 (sooner after a failure) until
// stop is closed. acquired is when the obtaining call was sent.
func (h *hold) renew(acquired time.Time) {
	defer close(h.done)
	r := h.r
	every := r.cfg.Lease / 3
	lastOK := acquired
	timer := time.NewTimer(every)
	defer timer.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-timer.C:
		}
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), min(r.cfg.OpTimeout, every))
		err := h.lk.Refresh(ctx, r.cfg.Lease, nil)
		cancel()
		next := every
		switch {
		case err == nil:
			lastOK = start
		case errors.Is(err, redislock.ErrNotObtained):
			// Expired (or Redis lost it) and maybe taken: never renew
			// someone else's lock.
			h.lose("the lock is gone or held by another request")
			return
		default:
			if time.Since(lastOK) >= r.cfg.Lease/2 {
				h.lose("the lease could not be renewed")
			}
			next = every / 4
		}
		timer.Reset(next)
	}
}

// lose tells the holder to stop, once.
func (h *hold) lose(why string) {
	if h.lost.Swap(true) {
		return
	}
	h.r.stats.LeasesLost.Add(1)
	h.r.cfg.Logger.Warn("upload lock lost; stopping its request", "lock", h.name, "reason", why)
	if h.requestRelease != nil {
		h.requestRelease()
	}
}

// release stops the renewal and deletes the lock if it is still ours,
// then wakes the waiters.
func (h *hold) release() error {
	if h.released.Swap(true) {
		return nil
	}
	close(h.stop)
	<-h.done
	r := h.r
	r.forget(h)
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.OpTimeout)
	defer cancel()
	err := h.lk.Release(ctx)
	switch {
	case err == nil:
		r.client.Publish(ctx, r.freeCh, h.name) // waiters poll too
		return nil
	case errors.Is(err, redislock.ErrLockNotHeld):
		r.cfg.Logger.Warn("upload lock had expired before its release", "lock", h.name)
		return nil
	default:
		r.unavailable("unlock", err)
		return fmt.Errorf("unlock %s (it expires within %s): %w", h.name, r.cfg.Lease, err)
	}
}
