package bench

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/tusvault/tusvault/internal/loadgen"
	"github.com/tusvault/tusvault/internal/tusclient"
)

// rangeLengths are the lengths of the ranged GETs after each versus case:
// a slice a client fetches, and a seek of a video player.
var rangeLengths = []int64{1 << 20, 16 << 10}

// rangeSpread is the span of the offsets' distance past a 64 KiB boundary
// (format v2's chunk): every range starts and ends inside a chunk, so v2
// reads and verifies the two enclosing chunks in full.
const rangeSpread = 64 << 10

// rangeMeasurement is one length's ranged GETs of a versus case: Requests
// GETs of Length bytes each, one after the other, and the server's CPU
// time over them.
type rangeMeasurement struct {
	Length   int64
	Requests int
	Elapsed  time.Duration
	CPU      time.Duration
}

// MBps is the bytes of the ranges served per second, in MB/s.
func (r rangeMeasurement) MBps() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Length) * float64(r.Requests) / r.Elapsed.Seconds() / 1e6
}

// perRequest is the server's CPU time per GET.
func (r rangeMeasurement) perRequest() time.Duration {
	if r.Requests == 0 {
		return 0
	}
	return r.CPU / time.Duration(r.Requests)
}

// rangeOffsets returns up to n offsets (fewer when n do not fit apart) of
// ranges of length bytes spread over an object of size bytes, each past a
// 64 KiB boundary by an amount that varies (never 0), in increasing order.
func rangeOffsets(size, length int64, n int) ([]int64, error) {
	// Offset k lies in (k·stride, k·stride + 2·rangeSpread): with
	// (n-1)·stride ≤ room the ranges stay inside the object, with stride
	// ≥ length + 2·rangeSpread apart.
	room := size - length - 2*rangeSpread
	if room < 0 || n <= 0 {
		return nil, fmt.Errorf("bench: no range of %d bytes fits in an upload of %d bytes", length, size)
	}
	n = int(min(int64(n), room/(length+2*rangeSpread)+1))
	stride := room / int64(max(n-1, 1))
	offs := make([]int64, n)
	for k := range offs {
		off := int64(k) * stride
		off += rangeSpread - off%rangeSpread // the next 64 KiB boundary
		offs[k] = off + 1 + (int64(k)*4099)%(rangeSpread-1)
	}
	return offs, nil
}

// measureRanges sends plan.ranges ranged GETs (rangeOffsets) of each length of
// rangeLengths to the upload at url (server process pid), which holds
// NewGenerator(seed, size): the timed part is the GETs, one at a time;
// the bytes are checked afterwards against the generator.
func (h *harness) measureRanges(ctx context.Context, pid int, url string, seed uint64, size int64) ([]rangeMeasurement, error) {
	c := &tusclient.Client{HTTP: &http.Client{Transport: &http.Transport{DisableCompression: true}}}
	defer c.HTTP.CloseIdleConnections()
	var out []rangeMeasurement
	var want []span
	for _, length := range rangeLengths {
		offs, err := rangeOffsets(size, length, h.plan.ranges)
		if err != nil {
			return nil, err
		}
		m := rangeMeasurement{Length: length, Requests: len(offs)}
		cpu := cpuOf(pid)
		start := time.Now()
		for _, off := range offs {
			st, body, _, err := c.Get(ctx, url, fmt.Sprintf("bytes=%d-%d", off, off+length-1))
			if err != nil {
				return nil, fmt.Errorf("ranged GET at %d: %w", off, err)
			}
			if st != http.StatusPartialContent || int64(len(body)) != length {
				return nil, fmt.Errorf("ranged GET at %d: status %d, %d bytes, want 206 and %d", off, st, len(body), length)
			}
			want = append(want, span{off: off, n: length, sum: sha256.Sum256(body)})
		}
		m.Elapsed = time.Since(start)
		m.CPU = cpuOf(pid) - cpu
		out = append(out, m)
	}
	return out, checkSpans(seed, size, want)
}

// span is a range served and the SHA-256 of its bytes.
type span struct {
	off, n int64
	sum    [32]byte
}

// checkSpans regenerates NewGenerator(seed, size) and compares each span
// with its bytes.
func checkSpans(seed uint64, size int64, spans []span) error {
	var end int64
	hs := make([]interface {
		io.Writer
		Sum([]byte) []byte
	}, len(spans))
	for i, s := range spans {
		end = max(end, s.off+s.n)
		hs[i] = sha256.New()
	}
	gen := loadgen.NewGenerator(seed, size)
	buf := make([]byte, 1<<20)
	for pos := int64(0); pos < end; {
		n, err := io.ReadFull(gen, buf[:min(int64(len(buf)), end-pos)])
		if err != nil {
			return fmt.Errorf("bench: regenerate upload: %w", err)
		}
		for i, s := range spans {
			if a, b := max(s.off, pos), min(s.off+s.n, pos+int64(n)); a < b {
				hs[i].Write(buf[a-pos : b-pos])
			}
		}
		pos += int64(n)
	}
	for i, s := range spans {
		if [32]byte(hs[i].Sum(nil)) != s.sum {
			return fmt.Errorf("bench: ranged GET of %d bytes at %d differs from the upload", s.n, s.off)
		}
	}
	return nil
}

// getMBps is the whole GETs' throughput of m in MB/s (0 if none).
func getMBps(m measurement) float64 {
	if m.VerifyElapsed <= 0 {
		return 0
	}
	return float64(m.Bytes) / m.VerifyElapsed.Seconds() / 1e6
}

// getTable is the GETs after the versus cases over one transport: the
// whole GETs and the ranged ones, throughput and server CPU, with the
// ratios of pairs.
func (r *results) getTable(sb *strings.Builder, tls bool) {
	p := r.plan
	if len(p.uploads) == 0 || p.ranges == 0 {
		return
	}
	fmt.Fprintf(sb, "\nGETs over %s after each versus case: every upload whole, one after the other; then up to %d ranged GETs of upload 0 for each of",
		transportName(tls), p.ranges)
	for i, l := range rangeLengths {
		if i > 0 {
			sb.WriteString(" and")
		}
		sb.WriteString(" " + sizeString(l))
	}
	sb.WriteString(", one at a time, each starting and ending inside a 64 KiB chunk:\n")
	tw := getHeader(sb, "uploads\tserver\twhole MB/s\tCPU s/GiB\t", "%s: MB/s\tGET/s\tCPU ms/GET\t")
	for _, n := range p.uploads {
		for _, name := range servers {
			m, ok := r.versus[caseName(name, n, tls)]
			if !ok {
				continue
			}
			fmt.Fprintf(tw, "%d\t%s\t%.1f\t%.2f\t", n, name, getMBps(m), perGiB(m.GetCPU, m.Bytes))
			for _, rg := range m.Ranges {
				fmt.Fprintf(tw, "%.1f\t%.0f\t%.2f\t", rg.MBps(), float64(rg.Requests)/rg.Elapsed.Seconds(),
					float64(rg.perRequest().Microseconds())/1e3)
			}
			fmt.Fprintln(tw)
		}
	}
	tw.Flush()
	sb.WriteString("Ratios of the GETs (MB/s: higher is faster; CPU: lower is cheaper):\n")
	tw = getHeader(sb, "uploads\tratio\twhole MB/s\tCPU\t", "%s: MB/s\tCPU\t")
	for _, n := range p.uploads {
		for _, pr := range pairs {
			a, ok1 := r.versus[caseName(pr[0], n, tls)]
			b, ok2 := r.versus[caseName(pr[1], n, tls)]
			if !ok1 || !ok2 || len(a.Ranges) != len(b.Ranges) {
				continue
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t", n, pairName(pr), ratio(getMBps(a), getMBps(b)),
				ratio(perGiB(a.GetCPU, a.Bytes), perGiB(b.GetCPU, b.Bytes)))
			for i := range a.Ranges {
				fmt.Fprintf(tw, "%s\t%s\t", ratio(a.Ranges[i].MBps(), b.Ranges[i].MBps()),
					ratio(a.Ranges[i].CPU.Seconds(), b.Ranges[i].CPU.Seconds()))
			}
			fmt.Fprintln(tw)
		}
	}
	tw.Flush()
}

// getHeader starts a table of the GETs with its header: the columns of
// lead, then those of each (a format of the range's length) per range
// length.
func getHeader(sb *strings.Builder, lead, each string) *tabwriter.Writer {
	tw := table(sb)
	fmt.Fprint(tw, lead)
	for _, l := range rangeLengths {
		fmt.Fprintf(tw, each, sizeString(l))
	}
	fmt.Fprintln(tw)
	return tw
}

// TestRangeOffsets checks that the ranges stay inside the object, apart,
// and start and end off the 64 KiB boundaries, also when fewer fit.
func TestRangeOffsets(t *testing.T) {
	for _, tc := range []struct {
		size, length int64
		n, want      int
	}{
		{512 << 20, 1 << 20, 128, 128},
		{24 << 20, 16 << 10, 8, 8},
		{64 << 20, 1 << 20, 128, 56},
		{1<<20 + 4*rangeSpread, 1 << 20, 8, 1},
	} {
		offs, err := rangeOffsets(tc.size, tc.length, tc.n)
		if err != nil || len(offs) != tc.want {
			t.Errorf("rangeOffsets(%d, %d, %d): %d offsets, %v; want %d", tc.size, tc.length, tc.n, len(offs), err, tc.want)
			continue
		}
		for k, off := range offs {
			end := off + tc.length
			if off%rangeSpread == 0 || end%rangeSpread == 0 || end > tc.size || k > 0 && off < offs[k-1]+tc.length {
				t.Errorf("rangeOffsets(%d, %d, %d)[%d] = %d: on a boundary, overlapping or past the end", tc.size, tc.length, tc.n, k, off)
			}
		}
	}
	if _, err := rangeOffsets(1<<20, 1<<20, 8); err == nil {
		t.Error("a range as long as the object: no error")
	}
}
