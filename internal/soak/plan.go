package soak

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/tusvault/tusvault/internal/loadgen"
)

// Kind is the sort of file a Band holds, which names its files and sets
// their filetype.
type Kind string

// The kinds of files.
const (
	Photo Kind = "photo" // IMG_0001.jpg, image/jpeg
	Video Kind = "video" // VID_0001.mp4, video/mp4
	Empty Kind = "empty" // empty-1.txt, text/plain, 0 bytes
	Byte  Kind = "byte"  // byte-1.bin, application/octet-stream, 1 byte
)

// Band is Count files of a kind with sizes drawn uniformly from Min to
// Max bytes (both included).
type Band struct {
	Kind     Kind
	Count    int
	Min, Max int64
}

// Mix is what a soak sends and how. Every field says its default (the
// zero value of a fraction is none).
type Mix struct {
	Bands []Band
	// Accounts are the home accounts (tokens from `tusvault token home`);
	// Shares the guest shares, each owned by an account. Required: at
	// least one account; shares only when Guest > 0.
	Accounts []string
	Shares   []Share
	// Guest is the fraction of the files uploaded with a guest token into
	// a share (chosen at random), the rest with a home token into an
	// account (chosen at random).
	Guest float64
	// Whole is the fraction of the files sent in one PATCH of the whole
	// file; the others in PATCHes of ChunkMin to ChunkMax bytes each,
	// drawn log-uniformly (the last one is what is left).
	Whole              float64
	ChunkMin, ChunkMax int64
	// Interrupted is the fraction of the files (of at least one byte)
	// whose connection is closed mid-PATCH 1 to MaxCuts times, at byte
	// offsets drawn uniformly; the client then asks the server's offset
	// (HEAD) and resumes from it.
	Interrupted float64
	MaxCuts     int
	// TerminateMid is the fraction of the files (of at least 2 bytes)
	// terminated (DELETE) mid-way, at a byte offset drawn uniformly;
	// TerminateAfter the fraction of the others terminated once complete,
	// before any download.
	TerminateMid, TerminateAfter float64
	// Keep is how many files, the last ones of the plan that are not
	// terminated, stay stored until the end and are verified again then.
	// The others are deleted once verified.
	Keep int
}

// Share is a guest share: Owner's share Name (guest/<Owner>/<Name>/...).
type Share struct{ Owner, Name string }

// String is the share as `tusvault token guest` and ids spell it.
func (s Share) String() string { return s.Owner + "/" + s.Name }

func (m Mix) validate() error {
	frac := func(f float64) bool { return f >= 0 && f <= 1 }
	switch {
	case len(m.Bands) == 0:
		return errors.New("soak: a mix without files")
	case len(m.Accounts) == 0:
		return errors.New("soak: a mix without accounts")
	case m.Guest > 0 && len(m.Shares) == 0:
		return errors.New("soak: guest uploads without shares")
	case !frac(m.Guest) || !frac(m.Whole) || !frac(m.Interrupted) || !frac(m.TerminateMid) || !frac(m.TerminateAfter) ||
		m.TerminateMid+m.TerminateAfter > 1:
		return errors.New("soak: a fraction outside [0, 1]")
	case m.ChunkMin < 1 || m.ChunkMax < m.ChunkMin:
		return fmt.Errorf("soak: PATCH sizes from %d to %d bytes", m.ChunkMin, m.ChunkMax)
	case m.Interrupted > 0 && m.MaxCuts < 1:
		return errors.New("soak: interrupted files without cuts")
	case m.Keep < 0:
		return errors.New("soak: negative Keep")
	}
	for _, b := range m.Bands {
		if b.Count < 0 || b.Min < 0 || b.Max < b.Min {
			return fmt.Errorf("soak: band %+v", b)
		}
	}
	return nil
}

// Files is the number of files of the mix.
func (m Mix) Files() int {
	n := 0
	for _, b := range m.Bands {
		n += b.Count
	}
	return n
}

// Termination says whether and when a file is terminated.
type Termination int

// The terminations.
const (
	NotTerminated  Termination = iota // never: verified by GET
	TerminatesMid                     // DELETE once TerminateAt bytes are stored
	TerminatesDone                    // DELETE once complete
)

// File is one upload of a plan, all its randomness drawn in advance but
// the sizes of the PATCHes, which follow the offsets the server reports
// (they are drawn from a generator seeded by PatchSeed).
type File struct {
	Index int // in the plan, from 0
	Kind  Kind
	Name  string // filename metadata
	Type  string // filetype metadata
	Data  loadgen.Content
	// Account is the home account it is uploaded to, or, when Share is
	// not nil, the account owning the share it is uploaded to.
	Account string
	Share   *Share
	Whole   bool    // one PATCH for the rest of the file
	Cuts    []int64 // ascending byte offsets at which a PATCH's connection is closed
	Term    Termination
	// TerminateAt is the offset from which a TerminatesMid file is
	// deleted: its PATCHes stop there.
	TerminateAt int64
	Keep        bool // stored until the end (Mix.Keep)
	PatchSeed   uint64
}

// Plan is what a soak sends: the files in the order the clients take them.
type Plan struct {
	Seed  uint64
	Mix   Mix
	Files []File
}

// NewPlan draws the files of m from seed: equal seeds and mixes give
// equal plans. Fractions become exact counts (rounded, and at least one
// when the fraction is not 0 and some file qualifies), spread at random.
func NewPlan(seed uint64, m Mix) (Plan, error) {
	if err := m.validate(); err != nil {
		return Plan{}, err
	}
	rng := rand.New(rand.NewPCG(seed, 0x736f616b)) // "soak"
	var files []File
	count := map[Kind]int{}
	for _, b := range m.Bands {
		for range b.Count {
			count[b.Kind]++
			f := File{Kind: b.Kind, Data: loadgen.Content{Seed: rng.Uint64(), Size: b.Min + rng.Int64N(b.Max-b.Min+1)}}
			f.Name, f.Type = naming(b.Kind, count[b.Kind])
			files = append(files, f)
		}
	}
	rng.Shuffle(len(files), func(i, j int) { files[i], files[j] = files[j], files[i] })
	for i := range files {
		f := &files[i]
		f.Index, f.PatchSeed = i, rng.Uint64()
		f.Account = m.Accounts[rng.IntN(len(m.Accounts))]
	}
	all := func(*File) bool { return true }
	for _, i := range pick(rng, files, m.Guest, all) {
		sh := m.Shares[rng.IntN(len(m.Shares))]
		files[i].Share, files[i].Account = &sh, sh.Owner
	}
	for _, i := range pick(rng, files, m.Whole, all) {
		files[i].Whole = true
	}
	for _, i := range pick(rng, files, m.Interrupted, func(f *File) bool { return f.Data.Size >= 1 }) {
		f := &files[i]
		n := 1 + rng.IntN(m.MaxCuts)
		for range n {
			f.Cuts = append(f.Cuts, rng.Int64N(f.Data.Size))
		}
		slices.Sort(f.Cuts)
		f.Cuts = slices.Compact(f.Cuts)
	}
	for _, i := range pick(rng, files, m.TerminateMid, func(f *File) bool { return f.Data.Size >= 2 }) {
		f := &files[i]
		f.Term, f.TerminateAt, f.Whole = TerminatesMid, 1+rng.Int64N(f.Data.Size-1), false
	}
	for _, i := range pick(rng, files, m.TerminateAfter, func(f *File) bool { return f.Term == NotTerminated }) {
		files[i].Term = TerminatesDone
	}
	kept := 0
	for i := len(files) - 1; i >= 0 && kept < m.Keep; i-- {
		if files[i].Term == NotTerminated {
			files[i].Keep = true
			kept++
		}
	}
	return Plan{Seed: seed, Mix: m, Files: files}, nil
}

// pick returns the indexes of round(frac × n) of the n files that ok
// accepts (at least one when frac > 0 and n > 0), in random order.
func pick(rng *rand.Rand, files []File, frac float64, ok func(*File) bool) []int {
	var idx []int
	for i := range files {
		if ok(&files[i]) {
			idx = append(idx, i)
		}
	}
	want := int(math.Round(frac * float64(len(idx))))
	if frac > 0 && want == 0 {
		want = 1
	}
	want = min(want, len(idx))
	rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
	return idx[:want]
}

func naming(k Kind, n int) (name, filetype string) {
	switch k {
	case Photo:
		return fmt.Sprintf("IMG_%04d.jpg", n), "image/jpeg"
	case Video:
		return fmt.Sprintf("VID_%04d.mp4", n), "video/mp4"
	case Empty:
		return fmt.Sprintf("empty-%d.txt", n), "text/plain"
	}
	return fmt.Sprintf("%s-%d.bin", k, n), "application/octet-stream"
}

// GuestTypes are the filetype patterns of the soak's guest tokens: every
// kind's filetype.
const GuestTypes = "image/*,video/*,text/plain,application/octet-stream"

// Totals are the counts a plan implies, for the report and the checks.
type Totals struct {
	Files, Guest, Whole, Interrupted, Cuts, TerminatedMid, TerminatedDone, Kept int
	Bytes                                                                       int64 // sizes of all files
	Verified                                                                    int   // files that are not terminated
	ByKind                                                                      map[Kind]KindTotal
}

// KindTotal is the count and size range of a kind's files.
type KindTotal struct {
	Files         int
	Bytes         int64
	Smallest, Max int64
}

// Totals counts p's files.
func (p Plan) Totals() Totals {
	t := Totals{Files: len(p.Files), ByKind: map[Kind]KindTotal{}}
	for _, f := range p.Files {
		size := f.Data.Size
		t.Bytes += size
		k := t.ByKind[f.Kind]
		if k.Files == 0 || size < k.Smallest {
			k.Smallest = size
		}
		k.Files++
		k.Bytes += size
		k.Max = max(k.Max, size)
		t.ByKind[f.Kind] = k
		if f.Share != nil {
			t.Guest++
		}
		if f.Whole {
			t.Whole++
		}
		if len(f.Cuts) > 0 {
			t.Interrupted++
			t.Cuts += len(f.Cuts)
		}
		switch f.Term {
		case TerminatesMid:
			t.TerminatedMid++
		case TerminatesDone:
			t.TerminatedDone++
		default:
			t.Verified++
		}
		if f.Keep {
			t.Kept++
		}
	}
	return t
}

// KeptIn counts the kept files of share sh (what it holds at most at the
// end, besides the uploads in flight).
func (p Plan) KeptIn(sh Share) int {
	n := 0
	for _, f := range p.Files {
		if f.Keep && f.Share != nil && *f.Share == sh {
			n++
		}
	}
	return n
}
