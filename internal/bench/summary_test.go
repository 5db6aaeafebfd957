package bench

import (
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// results are the measurements of one run, for the summary and the chart.
type results struct {
	plan    plan
	started time.Time                  // UTC
	load    string                     // /proc/loadavg at the start
	versus  map[string]measurement     // by step name: "tusd/uploads=1"
	slow    map[string]slowMeasurement // by server: "tusd"
	direct  *directMeasurement
	notes   []string
}

// servers are the names of the two sides, in table order.
var servers = []string{"tusd", "tusvault"}

// summary is the run's tables, one section per scenario, each with the
// tusvault/tusd ratios.
func (r *results) summary() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "One versitygw, one run, started %s UTC, load average %s.\n",
		r.started.Format(time.DateTime), r.load)
	r.versusTable(&sb)
	r.directTable(&sb)
	r.slowTable(&sb)
	for _, n := range r.notes {
		sb.WriteString("\n" + n)
	}
	sb.WriteString("\n")
	return sb.String()
}

func table(sb *strings.Builder) *tabwriter.Writer {
	return tabwriter.NewWriter(sb, 0, 0, 2, ' ', tabwriter.AlignRight)
}

func (r *results) versusTable(sb *strings.Builder) {
	p := r.plan
	if len(p.uploads) == 0 {
		return
	}
	fmt.Fprintf(sb, "\nVersus: %s %s of %s at once, each one PATCH:\n",
		joinInts(p.uploads), plural(p.uploads[len(p.uploads)-1], "upload"), sizeString(p.size))
	tw := table(sb)
	fmt.Fprintln(tw, "uploads\tserver\tMB/s\tpeak RSS MiB\tidle RSS MiB\tCPU s: server\tserver/GiB\tversitygw\tclient\tmachine busy %\tGET MB/s\t")
	for _, n := range p.uploads {
		for _, name := range servers {
			m, ok := r.versus[fmt.Sprintf("%s/uploads=%d", name, n)]
			if !ok {
				continue
			}
			get := 0.0
			if m.VerifyElapsed > 0 {
				get = float64(m.Bytes) / m.VerifyElapsed.Seconds() / 1e6
			}
			fmt.Fprintf(tw, "%d\t%s\t%.1f\t%.1f\t%.1f\t%.1f\t%.2f\t%.1f\t%.1f\t%.0f\t%.1f\t\n",
				n, name, m.MBps(), mib(m.PeakRSS), mib(m.IdleRSS), m.CPU.Seconds(), perGiB(m.CPU, m.Bytes),
				m.S3CPU.Seconds(), m.ClientCPU.Seconds(), 100*m.MachineBusy, get)
		}
	}
	tw.Flush()
	sb.WriteString("tusvault/tusd:\n")
	tw = table(sb)
	fmt.Fprintln(tw, "uploads\tMB/s\tpeak RSS\tserver CPU per GiB\t")
	for _, n := range p.uploads {
		d, ok1 := r.versus[fmt.Sprintf("tusd/uploads=%d", n)]
		v, ok2 := r.versus[fmt.Sprintf("tusvault/uploads=%d", n)]
		if !ok1 || !ok2 {
			fmt.Fprintf(tw, "%d\tn/a\tn/a\tn/a\t\n", n)
			continue
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t\n", n, ratio(v.MBps(), d.MBps()),
			ratio(float64(v.PeakRSS), float64(d.PeakRSS)), ratio(perGiB(v.CPU, v.Bytes), perGiB(d.CPU, d.Bytes)))
	}
	tw.Flush()
}

func (r *results) directTable(sb *strings.Builder) {
	d := r.direct
	if d == nil {
		return
	}
	fmt.Fprintf(sb, "\nDirect ceiling: %d multipart %s of %s at once straight to versitygw (%s parts, %d in flight per upload):\n",
		d.Uploads, plural(d.Uploads, "upload"), sizeString(r.plan.size), sizeString(PartSize), directInFlight)
	tw := table(sb)
	fmt.Fprintln(tw, "MB/s\tversitygw CPU s\tversitygw CPU s/GiB\tclient CPU s\tmachine busy %\t")
	fmt.Fprintf(tw, "%.1f\t%.1f\t%.2f\t%.1f\t%.0f\t\n", d.MBps(), d.S3.CPU.Seconds(), perGiB(d.S3.CPU, d.Bytes),
		d.ClientCPU.Seconds(), 100*d.S3.MachineBusy)
	tw.Flush()
	fmt.Fprintf(sb, "server / direct ceiling, MB/s of %d %s:", d.Uploads, plural(d.Uploads, "upload"))
	for _, name := range servers {
		if m, ok := r.versus[fmt.Sprintf("%s/uploads=%d", name, d.Uploads)]; ok {
			fmt.Fprintf(sb, " %s %s", name, ratio(m.MBps(), d.MBps()))
		}
	}
	sb.WriteString("\n")
}

func (r *results) slowTable(sb *strings.Builder) {
	if len(r.slow) == 0 {
		return
	}
	sp := r.plan.slow
	fmt.Fprintf(sb, "\nSlow clients: %d uploads of %s at %s/s (each one PATCH) and, from %v on, %d of %s unthrottled; server RSS every %v:\n",
		sp.clients, sizeString(sp.size), sizeString(sp.rate), sp.fastAfter, sp.fast, sizeString(sp.fastSize), slowSampleEvery)
	tw := table(sb)
	fmt.Fprintln(tw, "server\tfast done s\tslow median s\tslow done s\tpeak RSS MiB\tidle RSS MiB\tCPU s: server\tserver/GiB\tversitygw\tclient\tmachine busy %\t")
	for _, name := range servers {
		m, ok := r.slow[name]
		if !ok {
			continue
		}
		fmt.Fprintf(tw, "%s\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.2f\t%.1f\t%.1f\t%.0f\t\n",
			name, m.Fast.Elapsed.Seconds(), median(m.Slow.Done).Seconds(), m.Slow.Elapsed.Seconds(),
			mib(m.PeakRSS), mib(m.IdleRSS), m.CPU.Seconds(), perGiB(m.CPU, m.Bytes()),
			m.S3CPU.Seconds(), m.ClientCPU.Seconds(), 100*m.MachineBusy)
	}
	tw.Flush()
	d, ok1 := r.slow["tusd"]
	v, ok2 := r.slow["tusvault"]
	if !ok1 || !ok2 {
		return
	}
	sb.WriteString("tusvault/tusd:\n")
	tw = table(sb)
	fmt.Fprintln(tw, "fast done\tslow done\tpeak RSS\tserver CPU per GiB\t")
	fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", ratio(v.Fast.Elapsed.Seconds(), d.Fast.Elapsed.Seconds()),
		ratio(v.Slow.Elapsed.Seconds(), d.Slow.Elapsed.Seconds()), ratio(float64(v.PeakRSS), float64(d.PeakRSS)),
		ratio(perGiB(v.CPU, v.Bytes()), perGiB(d.CPU, d.Bytes())))
	tw.Flush()
}

func ratio(a, b float64) string {
	if b == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", a/b)
}

// plural returns word, with an s unless n is 1.
func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	switch len(s) {
	case 0:
		return "no"
	case 1:
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

func sizeString(n int64) string {
	switch {
	case n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
