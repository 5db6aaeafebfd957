package lock

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bsm/redislock"
	"github.com/redis/go-redis/v9"
	"github.com/tus/tusd/v2/pkg/handler"
)

// ErrLockUnavailable answers a request whose upload lock cannot be taken
// because Redis does not answer (or has just come back; see Redis).
var ErrLockUnavailable = handler.NewError("ERR_LOCK_UNAVAILABLE", "the upload lock service is unavailable; retry later", http.StatusServiceUnavailable)

// Defaults of RedisConfig.
const (
	DefaultLease       = 15 * time.Second
	DefaultPoll        = 250 * time.Millisecond
	DefaultOpTimeout   = 2 * time.Second
	DefaultRedisPrefix = "tusvault:"
)

// RedisConfig configures a Redis locker. The zero value of every optional
// field selects the default written beside it.
type RedisConfig struct {
	// URL is redis://[user:password@]host:port[/db] or rediss://… (TLS),
	// with go-redis's query options (dial_timeout=…, …). Required.
	URL string
	// Prefix starts every key and channel name, so that deployments can
	// share one Redis. Default DefaultRedisPrefix.
	Prefix string
	// Lease is how long a lock outlives a holder that stopped renewing it
	// (every Lease/3). Every instance must use the same. Default
	// DefaultLease.
	Lease time.Duration
	// Poll is how often a waiter tries again when no release notice
	// came. Default DefaultPoll.
	Poll time.Duration
	// OpTimeout bounds one Redis round trip. Default DefaultOpTimeout.
	OpTimeout time.Duration
	// Logger receives lost leases, outages and recoveries. Default:
	// discard.
	Logger *slog.Logger
}

func (c *RedisConfig) validate() (*redis.Options, error) {
	if c.URL == "" {
		return nil, errors.New("lock: redis URL is required")
	}
	opt, err := redis.ParseURL(c.URL)
	if err != nil {
		// go-redis's errors never carry the password, but url.Parse's
		// could: say only what is wrong.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, fmt.Errorf("lock: redis URL %s: %w", RedactURL(c.URL), err)
	}
	if c.Prefix == "" {
		c.Prefix = DefaultRedisPrefix
	}
	if c.Lease == 0 {
		c.Lease = DefaultLease
	}
	if c.Lease < 300*time.Millisecond {
		return nil, fmt.Errorf("lock: lease %s is shorter than 300ms", c.Lease)
	}
	if c.Poll <= 0 {
		c.Poll = DefaultPoll
	}
	if c.OpTimeout <= 0 {
		c.OpTimeout = DefaultOpTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	// Fail fast while Redis is away: a request waits OpTimeout at most
	// for each call, and go-redis's own timeouts stay below it.
	opt.ContextTimeoutEnabled = true
	if opt.DialTimeout == 0 {
		opt.DialTimeout = c.OpTimeout
	}
	if opt.ReadTimeout == 0 {
		opt.ReadTimeout = c.OpTimeout
	}
	if opt.WriteTimeout == 0 {
		opt.WriteTimeout = c.OpTimeout
	}
	if opt.MaxRetries == 0 {
		opt.MaxRetries = 1
	}
	if opt.DialerRetries == 0 {
		opt.DialerRetries = 2
	}
	return opt, nil
}

// SetRedisLogger sends go-redis's own log lines (reconnections, dial
// failures) to l at warn level. go-redis has one logger per process: call
// it once, from main.
func SetRedisLogger(l *slog.Logger) { redis.SetLogger(redisLogger{l}) }

type redisLogger struct{ l *slog.Logger }

func (g redisLogger) Printf(ctx context.Context, format string, v ...any) {
	g.l.WarnContext(ctx, "redis client: "+fmt.Sprintf(format, v...))
}

// RedactURL is u with its password replaced by "xxxxx", for logs.
func RedactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparsable URL)"
	}
	return p.Redacted()
}

// Redis is a locker shared by every tusvault instance that uses the same
// Redis (and Prefix): tusd's handler.Locker with release requests across
// processes, plus TryLock.
//
// A lock is the key <prefix>lock:<Name(id)> holding a random token, set
// only if absent with a lease (SET NX PX, through bsm/redislock), renewed
// every Lease/3 and deleted on Unlock only if it still holds the holder's
// token: a holder whose lease ran out can neither renew nor delete the next
// holder's lock. A holder that cannot renew for Lease/2, or that finds its
// lock gone or taken, asks its request to stop (tusd's requestRelease) so
// that it stops writing before anyone else may take the lock.
//
// A waiter that finds the lock held publishes "<token> <name>" on
// <prefix>lock-release; the instance holding that token calls its
// holder's requestRelease, and tusd ends that request, saving what it
// received. Unlock publishes the name on <prefix>lock-free, which wakes
// the waiters at once; they also retry every Poll, and ask again every
// second, since pub/sub delivers at most once. Each instance has one
// subscription to both channels.
//
// When Redis does not answer, or while the subscription is down, Lock and
// TryLock fail at once with ErrLockUnavailable (503). Once the
// subscription is made again (Redis restarted, or the network came back),
// no lock is granted for one Lease: a Redis restarted without persistence
// has lost every lock, and by then every holder of the old ones has been
// told to stop, unable to renew. go-redis reconnects on its own.
type Redis struct {
	cfg     RedisConfig
	client  *redis.Client
	locks   *redislock.Client
	relCh   string // release requests: "<token> <name>"
	freeCh  string // unlock notices: "<name>"
	closing chan struct{}
	closed  chan struct{}

	mu      sync.Mutex
	holders map[string][]*hold   // name → holds taken by Lock
	waiters map[string]*waitList // name → waiters for a free notice
	up      bool                 // the subscription is confirmed and unbroken
	pause   time.Time            // no lock is granted before
	ps      *redis.PubSub        // guarded by mu
	// unavailLast and unavailN rate-limit the outage log.
	unavailLast time.Time
	unavailN    int

	stats RedisStats
}

// RedisStats counts what the locker did, for tests and logs.
type RedisStats struct {
	ReleaseRequestsSent     atomic.Int64 // published on lock-release
	ReleaseRequestsReceived atomic.Int64 // holders asked to release by another instance's request
	LeasesLost              atomic.Int64 // holders told to stop because their lease ran out
	Resubscribed            atomic.Int64 // subscriptions made again after a loss
}

var _ handler.Locker = (*Redis)(nil)

type waitList struct {
	ch   chan struct{} // closed on a free notice
	refs int
}

// NewRedis returns a Redis locker and starts its subscription. It does
// not need Redis to answer yet (Ready tells); call Close when done.
func NewRedis(cfg RedisConfig) (*Redis, error) {
	opt, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	client := redis.NewClient(opt)
	r := &Redis{
		cfg:     cfg,
		client:  client,
		locks:   redislock.New(client),
		relCh:   cfg.Prefix + "lock-release",
		freeCh:  cfg.Prefix + "lock-free",
		closing: make(chan struct{}),
		closed:  make(chan struct{}),
		holders: map[string][]*hold{},
		waiters: map[string]*waitList{},
	}
	r.ps = r.subscribe()
	go r.listen()
	return r, nil
}

// Client is the locker's Redis client (Reservations share it).
func (r *Redis) Client() *redis.Client { return r.client }

// Stats returns the locker's counters.
func (r *Redis) Stats() *RedisStats { return &r.stats }

// Ready reports whether Redis answers a PING and the subscription is up.
func (r *Redis) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.OpTimeout)
	defer cancel()
	if err := r.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	if err := r.awaitUp(ctx); err != nil {
		return errors.New("redis: the subscription to release requests is down")
	}
	return nil
}

// awaitUp waits for the subscription to be up, until ctx ends.
func (r *Redis) awaitUp(ctx context.Context) error {
	for {
		r.mu.Lock()
		up := r.up
		r.mu.Unlock()
		if up {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// grantable reports whether a lock may be granted now: ErrLockUnavailable
// while the subscription is down (waiting up to OpTimeout for it), else
// the pause left (see Redis).
func (r *Redis) grantable(ctx context.Context) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.OpTimeout)
	defer cancel()
	if err := r.awaitUp(ctx); err != nil {
		return 0, ErrLockUnavailable
	}
	return r.paused(), nil
}

// Close stops the subscription and closes the client. Locks still held
// expire after their lease.
func (r *Redis) Close() error {
	select {
	case <-r.closing:
		return nil
	default:
	}
	close(r.closing)
	r.mu.Lock()
	ps := r.ps
	r.mu.Unlock()
	ps.Close()
	<-r.closed
	return r.client.Close()
}

// UseIn registers the locker with tusd's composer.
func (r *Redis) UseIn(c *handler.StoreComposer) { c.UseLocker(r) }

// NewLock implements handler.Locker.
func (r *Redis) NewLock(id string) (handler.Lock, error) {
	return &redisLock{r: r, name: Name(id)}, nil
}

func (r *Redis) key(name string) string { return r.cfg.Prefix + "lock:" + name }

// TryLock takes id's lock if it is free, never asking a holder to let
// go. The lock is renewed until release is called.
func (r *Redis) TryLock(id string) (release func(), ok bool, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.OpTimeout)
	defer cancel()
	if wait, err := r.grantable(ctx); err != nil || wait > 0 {
		return nil, false, ErrLockUnavailable
	}
	h, _, err := r.obtain(ctx, Name(id), nil)
	switch {
	case errors.Is(err, errHeld):
		return nil, false, nil
	case err != nil:
		r.unavailable("trylock", err)
		return nil, false, ErrLockUnavailable
	}
	return func() { h.release() }, true, nil
}

// errHeld means somebody else holds the lock.
var errHeld = errors.New("lock held")

// obtain makes one attempt at name's lock. When it is held, errHeld comes
// with the holder's token ("" if it vanished meanwhile).
func (r *Redis) obtain(ctx context.Context, name string, requestRelease func()) (*hold, string, error) {
	start := time.Now()
	lk, err := r.locks.Obtain(ctx, r.key(name), r.cfg.Lease, nil)
	if errors.Is(err, redislock.ErrNotObtained) {
		token, err := r.client.Get(ctx, r.key(name)).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, "", err
		}
		return nil, token, errHeld
	}
	if err != nil {
		return nil, "", err
	}
	h := &hold{r: r, name: name, lk: lk, requestRelease: requestRelease, stop: make(chan struct{}), done: make(chan struct{})}
	if requestRelease != nil {
		r.mu.Lock()
		r.holders[name] = append(r.holders[name], h)
		r.mu.Unlock()
	}
	go h.renew(start)
	return h, "", nil
}

// askRelease asks the holder of token to let name go: directly when it
// is in this process, through Redis otherwise.
func (r *Redis) askRelease(ctx context.Context, name, token string) {
	if r.deliver(name, token) {
		return
	}
	if err := r.client.Publish(ctx, r.relCh, token+" "+name).Err(); err == nil {
		r.stats.ReleaseRequestsSent.Add(1)
	}
}

// deliver calls the requestRelease of this process's holder of name with
// token, reporting whether there is one.
func (r *Redis) deliver(name, token string) bool {
	r.mu.Lock()
	var found *hold
	for _, h := range r.holders[name] {
		if h.lk.Token() == token {
			found = h
			break
		}
	}
	r.mu.Unlock()
	if found == nil {
		return false
	}
	found.requestRelease()
	return true
}

// watch registers a waiter for name's free notice.
func (r *Redis) watch(name string) (<-chan struct{}, func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	w := r.waiters[name]
	if w == nil {
		w = &waitList{ch: make(chan struct{})}
		r.waiters[name] = w
	}
	w.refs++
	return w.ch, func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if w.refs--; w.refs == 0 && r.waiters[name] == w {
			delete(r.waiters, name)
		}
	}
}

// freed wakes name's waiters.
func (r *Redis) freed(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if w := r.waiters[name]; w != nil {
		close(w.ch)
		delete(r.waiters, name)
	}
}

// forget drops h from the holders.
func (r *Redis) forget(h *hold) {
	r.mu.Lock()
	defer r.mu.Unlock()
	hs := r.holders[h.name]
	for i, x := range hs {
		if x == h {
			hs = append(hs[:i], hs[i+1:]...)
			break
		}
	}
	if len(hs) == 0 {
		delete(r.holders, h.name)
	} else {
		r.holders[h.name] = hs
	}
}

// paused is how long no lock may be granted yet (see Redis).
func (r *Redis) paused() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return time.Until(r.pause)
}

// unavailable logs a failed Redis call, at most once every 5 s with the
// number of failures since.
func (r *Redis) unavailable(op string, err error) {
	r.mu.Lock()
	r.unavailN++
	n := r.unavailN
	log := time.Since(r.unavailLast) >= 5*time.Second
	if log {
		r.unavailLast, r.unavailN = time.Now(), 0
	}
	r.mu.Unlock()
	if log {
		r.cfg.Logger.Error("upload lock service unavailable", "op", op, "failures", n, "error", err)
	}
}
