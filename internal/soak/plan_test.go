package soak

import (
	"math/rand/v2"
	"reflect"
	"testing"
)

func TestNewPlan(t *testing.T) {
	for name, m := range map[string]Mix{"full": FullMix, "reduced": ReducedMix} {
		t.Run(name, func(t *testing.T) {
			p, err := NewPlan(42, m)
			if err != nil {
				t.Fatal(err)
			}
			q, _ := NewPlan(42, m)
			if !reflect.DeepEqual(p, q) {
				t.Fatal("the same seed gave another plan")
			}
			if r, _ := NewPlan(43, m); reflect.DeepEqual(p.Files, r.Files) {
				t.Fatal("seeds 42 and 43 gave the same plan")
			}
			tot := p.Totals()
			if tot.Files != m.Files() || len(p.Files) != m.Files() {
				t.Fatalf("%d files, want %d", tot.Files, m.Files())
			}
			for _, b := range m.Bands {
				if tot.ByKind[b.Kind].Files == 0 {
					t.Errorf("no %s", b.Kind)
				}
			}
			if tot.Guest == 0 || tot.Whole == 0 || tot.Interrupted == 0 || tot.TerminatedMid == 0 || tot.TerminatedDone == 0 {
				t.Errorf("a behaviour is missing: %+v", tot)
			}
			if tot.Kept != m.Keep || tot.Verified != tot.Files-tot.TerminatedMid-tot.TerminatedDone {
				t.Errorf("kept %d (want %d), verified %d", tot.Kept, m.Keep, tot.Verified)
			}
			seeds := map[uint64]bool{}
			for i, f := range p.Files {
				if f.Index != i {
					t.Fatalf("file %d has index %d", i, f.Index)
				}
				seeds[f.Data.Seed] = true
				inBand := false
				for _, b := range m.Bands {
					inBand = inBand || b.Kind == f.Kind && f.Data.Size >= b.Min && f.Data.Size <= b.Max
				}
				if !inBand {
					t.Errorf("file %d: %s of %d bytes is in no band", i, f.Kind, f.Data.Size)
				}
				for j, c := range f.Cuts {
					if c < 0 || c >= f.Data.Size || j > 0 && c <= f.Cuts[j-1] {
						t.Errorf("file %d of %d bytes: cuts %v", i, f.Data.Size, f.Cuts)
					}
				}
				if len(f.Cuts) > m.MaxCuts {
					t.Errorf("file %d: %d cuts", i, len(f.Cuts))
				}
				if f.Term == TerminatesMid && (f.TerminateAt < 1 || f.TerminateAt >= f.Data.Size || f.Whole) {
					t.Errorf("file %d of %d bytes terminated at %d (whole %v)", i, f.Data.Size, f.TerminateAt, f.Whole)
				}
				if f.Keep && f.Term != NotTerminated {
					t.Errorf("file %d kept and terminated", i)
				}
				if f.Share != nil && f.Account != f.Share.Owner {
					t.Errorf("file %d: guest upload of %s read by %s", i, f.Share, f.Account)
				}
			}
			if len(seeds) != len(p.Files) {
				t.Errorf("%d content seeds for %d files", len(seeds), len(p.Files))
			}
			// The kept files are the last ones not terminated.
			seen := 0
			for i := len(p.Files) - 1; i >= 0 && seen < m.Keep; i-- {
				if p.Files[i].Term == NotTerminated {
					seen++
					if !p.Files[i].Keep {
						t.Errorf("file %d: one of the last %d, not kept", i, m.Keep)
					}
				}
			}
			t.Logf("%s: %d bytes, %+v", name, tot.Bytes, tot)
		})
	}
}

// The full mix is the one docs/BENCHMARKS.md describes.
func TestFullMix(t *testing.T) {
	p, err := NewPlan(1, FullMix)
	if err != nil {
		t.Fatal(err)
	}
	tot := p.Totals()
	want := map[Kind]int{Photo: 2400, Video: 200, Empty: 15, Byte: 15}
	for k, n := range want {
		if tot.ByKind[k].Files != n {
			t.Errorf("%d %ss, want %d", tot.ByKind[k].Files, k, n)
		}
	}
	if tot.Files != 2630 || tot.Bytes < 60e9 || tot.Bytes > 80e9 {
		t.Errorf("%d files, %d bytes: want 2,630 and about 70 GB", tot.Files, tot.Bytes)
	}
	if tot.ByKind[Empty].Bytes != 0 || tot.ByKind[Byte].Bytes != 15 || tot.ByKind[Video].Max != gib {
		t.Errorf("by kind: %+v", tot.ByKind)
	}
	if tot.Interrupted != 392 || tot.TerminatedMid != 52 || tot.TerminatedDone != 52 || tot.Guest != 789 {
		t.Errorf("interrupted %d (want 392: 15 %% of the 2,615 files of a byte or more), terminated %d mid-way (52: 2 %% of 2,615) and %d once complete (52: 2 %% of the other 2,578), guest %d (789)",
			tot.Interrupted, tot.TerminatedMid, tot.TerminatedDone, tot.Guest)
	}
}

func TestPick(t *testing.T) {
	files := make([]File, 10)
	for i := range files {
		files[i].Data.Size = int64(i)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	big := func(f *File) bool { return f.Data.Size >= 5 }
	for _, tc := range []struct {
		frac float64
		ok   func(*File) bool
		want int
	}{
		{0, big, 0}, {0.01, big, 1}, {0.3, big, 2}, {0.5, big, 3}, {1, big, 5},
		{0.25, func(*File) bool { return true }, 3},
		{0.5, func(*File) bool { return false }, 0},
	} {
		got := pick(rng, files, tc.frac, tc.ok)
		if len(got) != tc.want {
			t.Errorf("pick(%v) = %v, want %d", tc.frac, got, tc.want)
		}
		seen := map[int]bool{}
		for _, i := range got {
			if seen[i] || !tc.ok(&files[i]) {
				t.Errorf("pick(%v) = %v: repeated or refused index", tc.frac, got)
			}
			seen[i] = true
		}
	}
}

func TestMixValidate(t *testing.T) {
	ok := ReducedMix
	if err := ok.validate(); err != nil {
		t.Fatal(err)
	}
	for name, change := range map[string]func(*Mix){
		"no bands":      func(m *Mix) { m.Bands = nil },
		"no accounts":   func(m *Mix) { m.Accounts = nil },
		"no shares":     func(m *Mix) { m.Shares = nil },
		"fraction":      func(m *Mix) { m.Whole = 1.5 },
		"terminations":  func(m *Mix) { m.TerminateMid, m.TerminateAfter = 0.6, 0.6 },
		"chunks":        func(m *Mix) { m.ChunkMin, m.ChunkMax = 10, 5 },
		"no cuts":       func(m *Mix) { m.MaxCuts = 0 },
		"negative keep": func(m *Mix) { m.Keep = -1 },
		"band":          func(m *Mix) { m.Bands = []Band{{Kind: Photo, Count: 1, Min: 5, Max: 4}} },
	} {
		m := ok
		m.Bands = append([]Band(nil), ok.Bands...)
		change(&m)
		if _, err := NewPlan(1, m); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
