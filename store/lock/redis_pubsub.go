package lock

// The locker's subscription to release requests and free notices.

import (
	"context"
	"errors"
	"net"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// pingEvery is how often an idle subscription is checked.
const pingEvery = time.Second

func (r *Redis) subscribe() *redis.PubSub {
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.OpTimeout)
	defer cancel()
	// Subscribe records the channels even when Redis is away; go-redis
	// subscribes again on every reconnection.
	return r.client.Subscribe(ctx, r.relCh, r.freeCh)
}

// listen receives release requests and free notices until Close, and
// pauses new locks for a Lease whenever the subscription is made again
// after a loss.
func (r *Redis) listen() {
	defer close(r.closed)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-r.closing
		cancel()
	}()
	var (
		subscribed   bool // the first subscription was confirmed
		broken       bool // the subscription failed since
		lastReceived = time.Now()
		backoff      = 50 * time.Millisecond
	)
	for {
		r.mu.Lock()
		ps := r.ps
		r.mu.Unlock()
		msg, err := ps.ReceiveTimeout(ctx, pingEvery)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			var nerr net.Error
			if errors.As(err, &nerr) && nerr.Timeout() && !broken {
				if time.Since(lastReceived) > 3*pingEvery+r.cfg.OpTimeout {
					// No answer to three pings: start afresh.
					r.cfg.Logger.Warn("redis subscription silent; subscribing again")
					broken = true
					r.setUp(false)
					r.renewSubscription(ps)
					continue
				}
				pctx, pcancel := context.WithTimeout(ctx, r.cfg.OpTimeout)
				ps.Ping(pctx)
				pcancel()
				continue
			}
			if !broken && subscribed {
				r.cfg.Logger.Warn("redis subscription lost; reconnecting; no upload lock is granted meanwhile", "error", err)
			}
			broken = true
			r.setUp(false)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, time.Second)
			continue
		}
		lastReceived, backoff = time.Now(), 50*time.Millisecond
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind != "subscribe" || m.Channel != r.relCh {
				continue
			}
			r.mu.Lock()
			if subscribed && broken {
				r.pause = time.Now().Add(r.cfg.Lease)
			}
			r.up = true
			r.mu.Unlock()
			if subscribed && broken {
				r.stats.Resubscribed.Add(1)
				r.cfg.Logger.Warn("redis subscription made again; granting no upload lock for one lease, until the holders of locks Redis may have lost have stopped", "lease", r.cfg.Lease)
			}
			subscribed, broken = true, false
		case *redis.Message:
			switch m.Channel {
			case r.freeCh:
				r.freed(m.Payload)
			case r.relCh:
				token, name, ok := strings.Cut(m.Payload, " ")
				if ok && r.deliver(name, token) {
					r.stats.ReleaseRequestsReceived.Add(1)
				}
			}
		case *redis.Pong:
		}
	}
}

func (r *Redis) setUp(up bool) {
	r.mu.Lock()
	r.up = up
	r.mu.Unlock()
}

// renewSubscription replaces a silent subscription by a new one.
func (r *Redis) renewSubscription(old *redis.PubSub) {
	old.Close()
	ps := r.subscribe()
	r.mu.Lock()
	r.ps = ps
	r.mu.Unlock()
}
