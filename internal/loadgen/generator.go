package loadgen

import (
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
)

// generator yields n deterministic pseudo-random bytes without holding them.
type generator struct {
	r    *rand.ChaCha8
	left int64
}

// NewGenerator returns a reader of n pseudo-random bytes determined by seed
// (ChaCha8 keyed with the little-endian seed). Equal seeds give equal
// streams, whatever the sizes of the reads.
func NewGenerator(seed uint64, n int64) io.Reader {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:8], seed)
	return &generator{r: rand.NewChaCha8(s), left: n}
}

func (g *generator) Read(p []byte) (int, error) {
	if g.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > g.left {
		p = p[:g.left]
	}
	n, _ := g.r.Read(p)
	g.left -= int64(n)
	return n, nil
}

// ParseSize parses a byte count with an optional KiB, MiB or GiB suffix
// ("512MiB", "1GiB", "4096").
func ParseSize(s string) (int64, error) {
	num, mult := s, int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}} {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			num, mult = v, u.mult
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("loadgen: bad size %q (want a count of bytes with an optional KiB, MiB or GiB suffix)", s)
	}
	return n * mult, nil
}
