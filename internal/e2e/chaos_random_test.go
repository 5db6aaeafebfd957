package e2e

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tusvault/tusvault/internal/tusclient"
)

// Random kills: each trial runs one to three uploads of random sizes (at,
// around and between part boundaries; one in four with a deferred length,
// declared by a PATCH without data at the end) in PATCHes of random sizes, paced so
// that requests are in flight, on the disk backend or on S3 in turn, and
// SIGKILLs the server at a random moment; half the trials kill it again
// while the uploads resume. After the last restart every upload resumes
// from HEAD's offset (half the time with different bytes from there, as
// after a rollback) and must end byte-exact with a valid tag; the nonce
// checker audits every chunk seal of the v2 uploads, and in every fifth
// trial the uploads are v1 (-upload-format 1) and the counter checker
// audits their segments; no spool file survives a kill.
//
// CI runs 10 trials; make chaos (TUSVAULT_CHAOS=long) runs 50. The seed is
// logged; TUSVAULT_CHAOS_SEED replays a run.
func TestChaosRandomKills(t *testing.T) {
	trials := 10
	if chaosLong() {
		trials = 50
	}
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv(envChaosSeed); v != "" {
		var err error
		if seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatalf("%s=%q: %v", envChaosSeed, v, err)
		}
	}
	t.Logf("%d trials, seed %d (%s=%d replays them)", trials, seed, envChaosSeed, seed)
	env := newS3Env(t)
	start := time.Now()
	kills := 0
	var total audited
	for i := range trials {
		var e *s3Env
		name := "disk"
		if i%2 == 1 {
			e, name = env, "s3"
		}
		v1 := i%5 == 4 // one disk and one S3 trial in ten
		if v1 {
			name += "-v1"
		}
		t.Run(fmt.Sprintf("%02d-%s", i, name), func(t *testing.T) {
			r := newRig(t, e)
			r.v1 = v1
			k, n := randomTrial(t, r, rand.New(rand.NewPCG(seed, uint64(i))))
			kills += k
			total.add(n)
		})
		if t.Failed() {
			t.Fatalf("trial %d failed (seed %d)", i, seed)
		}
	}
	t.Logf("%d trials, %d kills mid-upload in %v; %v", trials, kills, time.Since(start).Round(time.Millisecond), total)
}

// randomSize picks an upload length within two bytes of one to four
// parts, anywhere up to four parts, or (one in six) under 64 KiB.
func randomSize(rng *rand.Rand) int64 {
	k := 1 + int64(rng.IntN(4))
	switch rng.IntN(6) {
	case 0, 1:
		return k*partSize + rng.Int64N(5) - 2
	case 2:
		return 1 + rng.Int64N(64<<10)
	default:
		return 1 + rng.Int64N(k*partSize)
	}
}

func randomTrial(t *testing.T, r *rig, rng *rand.Rand) (kills int, n audited) {
	ctx := testCtx(t, 120*time.Second)
	c := newClient()
	var ups []*chaosUpload
	sizes := map[string]int64{}
	s := r.start(t, "")
	for range 1 + rng.IntN(3) {
		want := randomBytes(rng.Uint64(), int(randomSize(rng)))
		create := createUpload
		if rng.IntN(4) == 0 {
			create = createDeferred
		}
		up := create(t, ctx, c, s, want)
		up.rate = float64(8<<20 + rng.Int64N(56<<20)) // 8 to 64 MiB/s
		ups = append(ups, up)
		sizes[up.id] = up.size
	}
	desc := ""
	for _, up := range ups {
		desc += fmt.Sprintf(" %d@%.0fMiB/s", up.size, up.rate/(1<<20))
		if up.deferred {
			desc += "(deferred)"
		}
	}
	rounds := 1 + rng.IntN(2)
	for round := range rounds {
		// The kill lands at a random moment of the slowest upload's time
		// left at its pace.
		var left time.Duration
		for _, up := range ups {
			left = max(left, time.Duration(float64(up.size-up.acked)/up.rate*float64(time.Second)))
		}
		killAt := time.Duration(rng.Int64N(int64(left) + int64(50*time.Millisecond)))
		// Every upload sends (or resumes) in its own goroutine until the
		// server dies under it or it is finished.
		var wg sync.WaitGroup
		errs := make([]error, len(ups))
		for i, up := range ups {
			pieces := pieceSizes(rng, up.size, 20)
			fresh, seed := rng.IntN(2) == 0, rng.Uint64()
			wg.Go(func() {
				if round == 0 {
					errs[i] = up.sendAll(ctx, c, s, pieces)
				} else {
					errs[i] = up.resume(ctx, c, s, pieces, fresh, seed)
				}
			})
		}
		timer := time.NewTimer(killAt)
		finished := make(chan struct{})
		go func() { wg.Wait(); close(finished) }()
		what := "after the uploads ended"
		select {
		case <-timer.C:
			s.kill()
			kills++
			what = fmt.Sprintf("at %v", killAt.Round(time.Millisecond))
		case <-finished:
			timer.Stop()
		}
		select {
		case <-finished:
		case <-time.After(15 * time.Second):
			t.Fatal("the clients did not end within 15 s of the kill")
		}
		if s.running() {
			// Every upload finished before the kill: check them as they
			// are, then kill anyway for the rest of the trial.
			for i, err := range errs {
				if err != nil {
					t.Fatalf("round %d, upload %d: %v", round, i, err)
				}
			}
			s.kill()
		}
		for i, err := range errs {
			// A kill cuts requests off; it never makes the server
			// answer, nor the client see a wrong offset.
			var v *violation
			var se *tusclient.StatusError
			if errors.As(err, &v) || errors.As(err, &se) {
				t.Errorf("round %d, upload %d: %v", round, i, err)
			}
		}
		desc += fmt.Sprintf("; round %d killed %s", round, what)
		checkNoSpool(t, r)
		s = r.start(t, "")
	}
	for _, up := range ups {
		if err := up.resume(ctx, c, s, pieceSizes(rng, up.size, 20), rng.IntN(2) == 0, rng.Uint64()); err != nil {
			t.Fatalf("finishing %s after the kills: %v", up.id, err)
		}
		up.verify(t, ctx, c, s)
	}
	n = auditStore(t, r, sizes)
	r.checkFormat(t, n, len(ups))
	t.Logf("uploads%s; %v", desc, n)
	return kills, n
}

// sendAll sends the whole upload from offset 0 in PATCHes of pieces
// (cycled), then declares a deferred length.
func (up *chaosUpload) sendAll(ctx context.Context, c *tusclient.Client, s *server, pieces []int64) error {
	for i := 0; up.acked < up.size; i++ {
		if i > 10000 {
			return fmt.Errorf("upload %s: too many PATCHes", up.id)
		}
		if err := up.patch(ctx, c, s, pieces[i%len(pieces)]); err != nil {
			return err
		}
	}
	return up.declare(ctx, c, s)
}
