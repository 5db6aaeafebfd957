package soak

// Sizes of the mixes.
const (
	kib = 1 << 10
	mib = 1 << 20
	gib = 1 << 30
	mb  = 1_000_000
)

// The accounts and shares of both mixes: four home accounts, two guest
// shares of two of them.
var (
	accounts = []string{"ana", "ben", "chloe", "dev"}
	shares   = []Share{{Owner: "ana", Name: "wedding"}, {Owner: "ben", Name: "team-offsite"}}
)

// FullMix is `make soak`: 2,630 files as the system tusvault replaces
// was validated with, about 70 GB:
//
//   - 2,400 photos of 1 to 20 MB (10^6 bytes);
//   - 200 videos: 180 of 100 to 250 MB, 15 of 250 to 800 MB and 5 of
//     exactly 1 GiB;
//   - 15 empty files and 15 of 1 byte.
//
// 30 % go to the two guest shares, the rest to the four home accounts;
// 35 % in one PATCH, the others in PATCHes of 256 KiB to 64 MiB; 15 % are
// cut 1 to 3 times mid-PATCH and resumed; 2 % are terminated mid-way and
// 2 % once complete; the last 50 verified files are kept to the end.
var FullMix = Mix{
	Bands: []Band{
		{Kind: Photo, Count: 2400, Min: 1 * mb, Max: 20 * mb},
		{Kind: Video, Count: 180, Min: 100 * mb, Max: 250 * mb},
		{Kind: Video, Count: 15, Min: 250 * mb, Max: 800 * mb},
		{Kind: Video, Count: 5, Min: gib, Max: gib},
		{Kind: Empty, Count: 15},
		{Kind: Byte, Count: 15, Min: 1, Max: 1},
	},
	Accounts: accounts, Shares: shares,
	Guest: 0.30, Whole: 0.35, ChunkMin: 256 * kib, ChunkMax: 64 * mib,
	Interrupted: 0.15, MaxCuts: 3,
	TerminateMid: 0.02, TerminateAfter: 0.02,
	Keep: 50,
}

// ReducedMix is the run of `make test`: 60 files, about 250 MB, with
// every behaviour of the full mix (and more of the rarer ones: a quarter
// interrupted, three terminated mid-way and three once complete):
//
//   - 44 photos of 0.1 to 2 MB;
//   - 10 videos of 10.5 to 32 MB (across the 10 MiB parts);
//   - 3 empty files and 3 of 1 byte.
var ReducedMix = Mix{
	Bands: []Band{
		{Kind: Photo, Count: 44, Min: 100_000, Max: 2 * mb},
		{Kind: Video, Count: 10, Min: 10_500_000, Max: 32 * mb},
		{Kind: Empty, Count: 3},
		{Kind: Byte, Count: 3, Min: 1, Max: 1},
	},
	Accounts: accounts, Shares: shares,
	Guest: 0.30, Whole: 0.35, ChunkMin: 256 * kib, ChunkMax: 8 * mib,
	Interrupted: 0.25, MaxCuts: 3,
	TerminateMid: 0.05, TerminateAfter: 0.05,
	Keep: 10,
}
