package lock

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tusvault/tusvault/internal/redisserver"
)

// fakeShare is a share's stored uploads, listed by the reservations.
type fakeShare struct {
	mu  sync.Mutex
	ids []string
}

func (f *fakeShare) list(context.Context) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.ids), nil
}

func (f *fakeShare) store(id string) {
	f.mu.Lock()
	f.ids = append(f.ids, id)
	f.mu.Unlock()
}

// 20 creations at once on two instances (two lockers) for a share with
// max_files 5: exactly 5 are reserved, whether their uploads are stored
// before or after the others count.
func TestRedisReservationsHoldAcrossInstances(t *testing.T) {
	srv := redisserver.Start(t)
	rs := []*Reservations{
		newRedis(t, srv.URL(), RedisConfig{}).Reservations(0),
		newRedis(t, srv.URL(), RedisConfig{}).Reservations(0),
	}
	const dir, maxFiles, creations = "guest/carol/trip/", 5, 20
	share := &fakeShare{}
	var ok atomic.Int32
	var wg sync.WaitGroup
	start := time.Now()
	for i := range creations {
		wg.Go(func() {
			ctx := context.Background()
			id := fmt.Sprintf("%sup%02d", dir, i)
			got, err := rs[i%2].Reserve(ctx, dir, id, maxFiles, share.list)
			if err != nil {
				t.Error(err)
				return
			}
			if !got {
				return
			}
			ok.Add(1)
			// The creation stores its .info a little later, then ends.
			time.Sleep(time.Duration(rand.IntN(20)) * time.Millisecond)
			share.store(id)
			if err := rs[(i+1)%2].Release(ctx, dir, id); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	t.Logf("%d concurrent reservations on two instances in %v", creations, time.Since(start).Round(time.Millisecond))
	if n := ok.Load(); n != maxFiles {
		t.Fatalf("%d reservations granted, want exactly %d", n, maxFiles)
	}
	if got, _ := rs[0].Reserve(context.Background(), dir, dir+"late", maxFiles, share.list); got {
		t.Error("a reservation beyond the stored limit was granted")
	}
	if n, err := rs[1].Count(context.Background(), dir, share.list); err != nil || n != maxFiles {
		t.Errorf("Count = %d, %v; want %d", n, err, maxFiles)
	}
}

// A reservation whose creation never ended expires; Release ends one at
// once; an idle directory leaves no key behind.
func TestRedisReservationsExpire(t *testing.T) {
	srv := redisserver.Start(t)
	l := newRedis(t, srv.URL(), RedisConfig{})
	v := l.Reservations(300 * time.Millisecond)
	ctx := context.Background()
	empty := (&fakeShare{}).list
	for _, id := range []string{"a", "b"} {
		if ok, err := v.Reserve(ctx, "guest/c/s/", "guest/c/s/"+id, 2, empty); !ok || err != nil {
			t.Fatalf("Reserve %s: %v, %v", id, ok, err)
		}
	}
	if ok, _ := v.Reserve(ctx, "guest/c/s/", "guest/c/s/c", 2, empty); ok {
		t.Fatal("a third reservation under max_files 2")
	}
	if err := v.Release(ctx, "guest/c/s/", "guest/c/s/a"); err != nil {
		t.Fatal(err)
	}
	if n, _ := v.Count(ctx, "guest/c/s/", empty); n != 1 {
		t.Errorf("Count after a release = %d, want 1", n)
	}
	time.Sleep(400 * time.Millisecond)
	if n, _ := v.Count(ctx, "guest/c/s/", empty); n != 0 {
		t.Errorf("Count after the TTL = %d, want 0", n)
	}
	keys, err := l.client.Keys(ctx, "tusvault:resv*").Result()
	if err != nil || len(keys) != 0 {
		t.Errorf("keys left: %v, %v", keys, err)
	}
}
