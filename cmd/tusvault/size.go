package main

import (
	"errors"
	"math"
	"strconv"
	"strings"
)

// byteSize is a flag.Value for a size in bytes: a plain number of bytes,
// or a number followed by a binary (KiB, MiB, GiB, TiB) or decimal (KB,
// MB, GB, TB) unit, case-insensitively, such as 2GiB or 1.5GB. A bare "B"
// suffix is accepted too. Negative sizes are refused.
type byteSize int64

// byteUnits are the accepted suffixes, longest first.
var byteUnits = []struct {
	suffix string
	factor float64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12},
	{"b", 1},
}

var errBadSize = errors.New("want bytes, or a number with KiB, MiB, GiB, TiB, KB, MB, GB or TB")

// parseByteSize parses a size as byteSize.Set does.
func parseByteSize(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if n, err := strconv.ParseInt(t, 10, 64); err == nil {
		if n < 0 {
			return 0, errors.New("must not be negative")
		}
		return n, nil
	}
	for _, u := range byteUnits {
		num, ok := strings.CutSuffix(t, u.suffix)
		if !ok {
			continue
		}
		num = strings.TrimSpace(num)
		if n, err := strconv.ParseInt(num, 10, 64); err == nil {
			if n < 0 {
				return 0, errors.New("must not be negative")
			}
			if n > math.MaxInt64/int64(u.factor) {
				return 0, errors.New("too large")
			}
			return n * int64(u.factor), nil
		}
		f, err := strconv.ParseFloat(num, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || num == "" {
			return 0, errBadSize
		}
		if f < 0 {
			return 0, errors.New("must not be negative")
		}
		v := f * u.factor
		if v >= math.MaxInt64 {
			return 0, errors.New("too large")
		}
		return int64(v), nil
	}
	return 0, errBadSize
}

func (b *byteSize) Set(s string) error {
	n, err := parseByteSize(s)
	if err != nil {
		return err
	}
	*b = byteSize(n)
	return nil
}

func (b *byteSize) String() string { return strconv.FormatInt(int64(*b), 10) }
