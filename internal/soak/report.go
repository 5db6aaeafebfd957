package soak

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot/vg"

	"github.com/tusvault/tusvault/internal/chart"
)

// The system tusvault replaces, as it was validated.
const (
	oldFiles    = 2630
	oldDuration = 6*time.Hour + 56*time.Minute
	oldPeakMB   = 398
)

// Dist is the peak and percentiles of a series.
type Dist struct{ Peak, P50, P95 float64 }

// dist returns the peak and the nearest-rank 50th and 95th percentiles of
// vs (zero for none).
func dist(vs []float64) Dist {
	if len(vs) == 0 {
		return Dist{}
	}
	s := slices.Sorted(slices.Values(vs))
	rank := func(p float64) float64 { return s[max(int(math.Ceil(p*float64(len(s))))-1, 0)] }
	return Dist{Peak: s[len(s)-1], P50: rank(0.50), P95: rank(0.95)}
}

// RAM is the distribution of ram_used_mb over the readings, MiB.
func (r *Result) RAM() Dist {
	vs := make([]float64, len(r.Status.Samples))
	for i, s := range r.Status.Samples {
		vs[i] = s.RAMUsedMB
	}
	return dist(vs)
}

// VmRSS is the distribution of the process's VmRSS read with each
// reading, MiB.
func (r *Result) VmRSS() Dist {
	var vs []float64
	for _, s := range r.Status.Samples {
		if s.VmRSS > 0 {
			vs = append(vs, float64(s.VmRSS)/mib)
		}
	}
	return dist(vs)
}

// peaks are the highest limiter and upload counts of the readings.
func (r *Result) peaks() (inUse, waiting int, active int64) {
	for _, s := range r.Status.Samples {
		inUse, waiting, active = max(inUse, s.LimiterInUse), max(waiting, s.LimiterWaiting), max(active, s.ActiveUploads)
	}
	return
}

// Failed reports whether the run failed: a file failed, a file was not
// taken, or a RAM status reading failed.
func (r *Result) Failed() bool {
	return len(r.Failures) > 0 || len(r.Pending) > 0 || r.Status.Failed > 0 || r.Done != r.Totals.Files
}

// FilesPerMinute is the files done over the run's duration.
func (r *Result) FilesPerMinute() float64 { return float64(r.Done) / r.Elapsed.Minutes() }

// MBps is the file bytes stored over the run's duration, 10^6 bytes/s.
func (r *Result) MBps() float64 { return float64(r.Bytes) / r.Elapsed.Seconds() / 1e6 }

// Meta is what a report says about where a run ran.
type Meta struct {
	Command   string // as typed
	Commit    string // of the binary's tree
	LoadStart string // /proc/loadavg at the start and at the end
	LoadEnd   string
}

// Table is the run as a Markdown table, for docs/BENCHMARKS.md.
func (r *Result) Table(p Plan, m Meta) string {
	t := r.Totals
	var sb strings.Builder
	row := func(k, format string, args ...any) {
		fmt.Fprintf(&sb, "| %s | %s |\n", k, fmt.Sprintf(format, args...))
	}
	fmt.Fprintf(&sb, "Seed %d, %d clients; started %s UTC", p.Seed, r.Clients, r.Started.Format(time.DateTime))
	if m.Commit != "" {
		fmt.Fprintf(&sb, ", commit %s", m.Commit)
	}
	fmt.Fprintf(&sb, "; load average %s at the start, %s at the end.\n\n", m.LoadStart, m.LoadEnd)
	sb.WriteString("| | value |\n|---|---|\n")
	row("files", "%s done of %s (%s); %s to guest shares", thousands(r.Done), thousands(t.Files), mixString(t), thousands(t.Guest))
	row("file bytes stored", "%s (%s sent in PATCH bodies, with what was sent again after cuts)", gbString(r.Bytes), gbString(r.Sent))
	row("duration", "%s", durString(r.Elapsed))
	row("files/min", "%.1f", r.FilesPerMinute())
	row("MB/s (file bytes stored / duration)", "%.1f", r.MBps())
	row("PATCH requests", "%s (%s files in one PATCH, the others in PATCHes of %s to %s)",
		thousands(r.Patches), thousands(t.Whole), sizeString(p.Mix.ChunkMin), sizeString(p.Mix.ChunkMax))
	row("interruptions (connection closed mid-PATCH)", "%s, in %s files", thousands(r.Cuts), thousands(t.Interrupted))
	row("resumes (HEAD, then PATCH from the server's offset)", "%s", thousands(r.Resumes))
	row("409s after a cut (the cut request reached the server after the HEAD), then HEAD and resume", "%d", r.Conflicts)
	row("400 ERR_UPLOAD_INTERRUPTED after a cut (the cut request reached the server during the next PATCH and took its lock), then HEAD and resume", "%d", r.Interrupted)
	row("retries (transport error, 503, 423)", "%d", r.Retries)
	row("terminations (DELETE, then HEAD and GET are 404)", "%d (%d mid-way, %d once complete)", r.Terminated, t.TerminatedMid, t.TerminatedDone)
	row("verified byte-exact by a decrypted GET", "%s, then %d kept files again at the end", thousands(r.Verified), r.Reverified)
	row("**failures**", "**%d**", len(r.Failures)+len(r.Pending))
	ram, rss := r.RAM(), r.VmRSS()
	row("**peak RSS** (`ram_used_mb`)", "**%.1f MiB** (p50 %.1f, p95 %.1f)", ram.Peak, ram.P50, ram.P95)
	row("VmRSS from /proc (cross-check)", "peak %.1f MiB (p50 %.1f, p95 %.1f); VmHWM %.1f MiB", rss.Peak, rss.P50, rss.P95, float64(r.Server.HWM)/mib)
	inUse, waiting, active := r.peaks()
	row("peaks: limiter in use, waiting; active uploads", "%d, %d; %d", inUse, waiting, active)
	row("server CPU", "%.0f s (%.2f s per GB stored); machine %.0f %% busy", r.Server.CPU.Seconds(),
		r.Server.CPU.Seconds()/max(float64(r.Bytes)/1e9, 1e-9), 100*r.Server.MachineBusy)
	row("RAM status readings", "%s, %d failed", thousands(len(r.Status.Samples)), r.Status.Failed)
	if m.Command != "" {
		row("command", "`%s`", m.Command)
	}
	return sb.String()
}

// Comparison is the run next to the old system's validation, as a
// Markdown table.
func (r *Result) Comparison() string {
	var sb strings.Builder
	oldRate := float64(oldFiles) / oldDuration.Minutes()
	peak := r.RAM().Peak
	sb.WriteString("| | old system | tusvault soak | tusvault / old |\n|---|---:|---:|---:|\n")
	fmt.Fprintf(&sb, "| files | %s | %s | %.2f |\n", thousands(oldFiles), thousands(r.Done), float64(r.Done)/oldFiles)
	fmt.Fprintf(&sb, "| duration | %s | %s | %.3f |\n", durString(oldDuration), durString(r.Elapsed), r.Elapsed.Seconds()/oldDuration.Seconds())
	fmt.Fprintf(&sb, "| files/min | %.1f | %.1f | %.1f |\n", oldRate, r.FilesPerMinute(), r.FilesPerMinute()/oldRate)
	fmt.Fprintf(&sb, "| peak RSS | %d MB | %.1f MiB (%.1f MB) | %.3f |\n", oldPeakMB, peak, peak*mib/1e6, peak*mib/1e6/oldPeakMB)
	return sb.String()
}

// WriteChart draws the run's readings as SVG at path: RSS over time
// (ram_used_mb and VmRSS), and below it the active uploads and the
// limiter's slots in use and waiters.
func (r *Result) WriteChart(path string, p Plan) error {
	if len(r.Status.Samples) == 0 {
		return fmt.Errorf("soak: no RAM status readings to draw")
	}
	var ram, rss, active, inUse, waiting []chart.Point
	for _, s := range r.Status.Samples {
		x := s.At.Minutes()
		ram = append(ram, chart.Point{X: x, Y: s.RAMUsedMB})
		if s.VmRSS > 0 {
			rss = append(rss, chart.Point{X: x, Y: float64(s.VmRSS) / mib})
		}
		active = append(active, chart.Point{X: x, Y: float64(s.ActiveUploads)})
		inUse = append(inUse, chart.Point{X: x, Y: float64(s.LimiterInUse)})
		waiting = append(waiting, chart.Point{X: x, Y: float64(s.LimiterWaiting)})
	}
	d := r.RAM()
	top := chart.Panel{
		Title: fmt.Sprintf("tusvault soak on versitygw: %s files, %s, %d clients, %s (seed %d)",
			thousands(r.Done), gbString(r.Bytes), r.Clients, durString(r.Elapsed), p.Seed),
		XLabel: "minutes",
		YLabel: "MiB",
		Lines: []chart.Line{
			{Label: fmt.Sprintf("ram_used_mb of /upload/ram-status, every second: peak %.1f MiB, p50 %.1f, p95 %.1f", d.Peak, d.P50, d.P95),
				Points: ram, Color: chart.Red},
		},
	}
	if len(rss) > 0 {
		top.Lines = append(top.Lines, chart.Line{Label: "VmRSS from /proc (cross-check)", Points: rss, Color: chart.Blue, Width: vg.Points(0.75), Dashed: true})
	}
	bottom := chart.Panel{
		XLabel: "minutes",
		YLabel: "count",
		Lines: []chart.Line{
			{Label: "active uploads (PATCHes in progress)", Points: active, Color: chart.Green, Width: vg.Points(1)},
			{Label: "part-upload limiter: slots in use", Points: inUse, Color: chart.Blue, Width: vg.Points(1)},
			{Label: "part-upload limiter: waiting", Points: waiting, Color: chart.Gray, Width: vg.Points(1)},
		},
	}
	return chart.WriteSVG(path, 10*vg.Inch, 6.5*vg.Inch, top, bottom)
}

// mixString is the plan's files by kind, with their size ranges.
func mixString(t Totals) string {
	var parts []string
	for _, k := range []Kind{Photo, Video, Empty, Byte} {
		kt, ok := t.ByKind[k]
		if !ok {
			continue
		}
		switch k {
		case Empty:
			parts = append(parts, fmt.Sprintf("%s empty", thousands(kt.Files)))
		case Byte:
			parts = append(parts, fmt.Sprintf("%s of 1 byte", thousands(kt.Files)))
		default:
			parts = append(parts, fmt.Sprintf("%s %ss of %s to %s, %s", thousands(kt.Files), k,
				mbString(kt.Smallest), mbString(kt.Max), gbString(kt.Bytes)))
		}
	}
	return strings.Join(parts, "; ")
}

// thousands formats n with commas.
func thousands(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func gbString(n int64) string { return fmt.Sprintf("%.2f GB", float64(n)/1e9) }

func mbString(n int64) string {
	if n < mb {
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/mb)
}

func sizeString(n int64) string {
	switch {
	case n%gib == 0:
		return fmt.Sprintf("%d GiB", n/gib)
	case n%mib == 0:
		return fmt.Sprintf("%d MiB", n/mib)
	case n%kib == 0:
		return fmt.Sprintf("%d KiB", n/kib)
	}
	return fmt.Sprintf("%d bytes", n)
}

// durString is d as "6 h 56 min", "31 min 12 s" or "48.3 s".
func durString(d time.Duration) string {
	switch {
	case d >= time.Hour:
		return fmt.Sprintf("%d h %d min", int(d.Hours()), int(d.Minutes())%60)
	case d >= time.Minute:
		return fmt.Sprintf("%d min %d s", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}
