package lock

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/bsm/redislock"
	"github.com/redis/go-redis/v9"
)

// Reservations keeps the guests' max_files reservations (hooks'
// Reservations: upload ids handed out by a creation and not stored yet)
// in Redis, shared by every instance: per account or share directory, a
// sorted set <prefix>resv:<dir> of ids scored by their expiry (Redis's
// clock), itself expiring with its last member. Counting (the listing
// plus the reservations it does not show) and reserving happen under a
// short lock per directory, <prefix>resv-lock:<dir>, and the write checks
// that lock's token, so concurrent creations on several instances never
// overshoot the limit.
type Reservations struct {
	r   *Redis
	ttl time.Duration
}

// DefaultReservationTTL bounds a reservation whose creation never ended
// (its instance died).
const DefaultReservationTTL = 2 * time.Minute

// Reservations returns max_files reservations kept in the locker's Redis,
// each expiring after ttl (0: DefaultReservationTTL).
func (r *Redis) Reservations(ttl time.Duration) *Reservations {
	if ttl <= 0 {
		ttl = DefaultReservationTTL
	}
	return &Reservations{r: r, ttl: ttl}
}

// reserveScript, under the directory lock (KEYS[2] holds ARGV[1]): drops
// expired and listed (ARGV[5…]) members of KEYS[1], and adds ARGV[2] for
// ARGV[4] ms unless the listed plus the reserved reach ARGV[3]. Returns 1
// (reserved), 0 (full) or -1 (the directory lock was lost).
var reserveScript = redis.NewScript(`
if redis.call("get", KEYS[2]) ~= ARGV[1] then return -1 end
local t = redis.call("time")
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call("zremrangebyscore", KEYS[1], "-inf", now)
for i = 5, #ARGV do redis.call("zrem", KEYS[1], ARGV[i]) end
if (#ARGV - 4) + redis.call("zcard", KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call("zadd", KEYS[1], now + tonumber(ARGV[4]), ARGV[2])
redis.call("pexpire", KEYS[1], ARGV[4])
return 1
`)

// releaseScript removes ARGV[2] from KEYS[1] under the directory lock.
var releaseScript = redis.NewScript(`
if redis.call("get", KEYS[2]) ~= ARGV[1] then return -1 end
redis.call("zrem", KEYS[1], ARGV[2])
return 1
`)

// countScript drops the expired members of KEYS[1] and returns the rest.
var countScript = redis.NewScript(`
local t = redis.call("time")
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call("zremrangebyscore", KEYS[1], "-inf", now)
return redis.call("zrange", KEYS[1], 0, -1)
`)

func (v *Reservations) keys(dir string) []string {
	p := v.r.cfg.Prefix
	return []string{p + "resv:" + dir, p + "resv-lock:" + dir}
}

// errDirLockLost means a directory lock expired while it was used.
var errDirLockLost = errors.New("the reservation lock of the directory expired")

// withDirLock runs fn under dir's lock, waiting for it up to a lease.
func (v *Reservations) withDirLock(ctx context.Context, dir string, fn func(ctx context.Context, token string) error) error {
	r := v.r
	wait, cancel := context.WithTimeout(ctx, r.cfg.Lease)
	defer cancel()
	lk, err := r.locks.Obtain(wait, v.keys(dir)[1], r.cfg.Lease, &redislock.Options{
		RetryStrategy: redislock.ExponentialBackoff(5*time.Millisecond, 50*time.Millisecond),
	})
	if err != nil {
		if ctx.Err() == nil {
			r.unavailable("reservations", err)
			return ErrLockUnavailable
		}
		return err
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.OpTimeout)
		defer cancel()
		lk.Release(rctx)
	}()
	return fn(ctx, lk.Token())
}

// Reserve reserves id in dir unless the uploads list returns plus dir's
// other live reservations reach maxFiles (ok false). A Redis failure is
// ErrLockUnavailable (503).
func (v *Reservations) Reserve(ctx context.Context, dir, id string, maxFiles int, list func(context.Context) ([]string, error)) (ok bool, err error) {
	err = v.withDirLock(ctx, dir, func(ctx context.Context, token string) error {
		listed, err := list(ctx)
		if err != nil {
			return err
		}
		args := make([]any, 0, 4+len(listed))
		args = append(args, token, id, strconv.Itoa(maxFiles), strconv.FormatInt(v.ttl.Milliseconds(), 10))
		for _, l := range listed {
			args = append(args, l)
		}
		opCtx, cancel := context.WithTimeout(ctx, v.r.cfg.OpTimeout)
		defer cancel()
		n, err := reserveScript.Run(opCtx, v.r.client, v.keys(dir), args...).Int()
		switch {
		case err != nil:
			v.r.unavailable("reserve", err)
			return ErrLockUnavailable
		case n < 0:
			return errDirLockLost
		}
		ok = n == 1
		return nil
	})
	return ok, err
}

// Release ends id's reservation in dir.
func (v *Reservations) Release(ctx context.Context, dir, id string) error {
	return v.withDirLock(ctx, dir, func(ctx context.Context, token string) error {
		opCtx, cancel := context.WithTimeout(ctx, v.r.cfg.OpTimeout)
		defer cancel()
		n, err := releaseScript.Run(opCtx, v.r.client, v.keys(dir), token, id).Int()
		switch {
		case err != nil:
			return fmt.Errorf("release reservation: %w", err)
		case n < 0:
			return errDirLockLost
		}
		return nil
	})
}

// Count is the number of uploads in dir for max_files: those list
// returns plus the live reservations it does not show. It takes no lock:
// the number may be off by a creation under way.
func (v *Reservations) Count(ctx context.Context, dir string, list func(context.Context) ([]string, error)) (int, error) {
	listed, err := list(ctx)
	if err != nil {
		return 0, err
	}
	opCtx, cancel := context.WithTimeout(ctx, v.r.cfg.OpTimeout)
	defer cancel()
	reserved, err := countScript.Run(opCtx, v.r.client, v.keys(dir)[:1]).StringSlice()
	if err != nil {
		v.r.unavailable("count", err)
		return 0, ErrLockUnavailable
	}
	seen := make(map[string]bool, len(listed))
	for _, l := range listed {
		seen[l] = true
	}
	n := len(listed)
	for _, id := range reserved {
		if !seen[id] {
			n++
		}
	}
	return n, nil
}
