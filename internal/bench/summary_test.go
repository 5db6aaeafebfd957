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
	started time.Time                     // UTC
	load    string                        // /proc/loadavg at the start
	keep    bool                          // versitygw keeps connections open
	versus  map[string]measurement        // by step name: "tusd/uploads=1"
	slow    map[string]slowMeasurement    // by server: "tusd"
	direct  map[string]*directMeasurement // by step name: "direct/https-uploads=4"
	notes   []string
}

// servers are the names of the sides, in table order: tusvault writes
// format v2, tusvault-v1 the same binary format v1 (FormatV1).
var servers = []string{"tusd", "tusvault", "tusvault-v1"}

// slowServers are the sides of the slow-client scenario.
var slowServers = servers[:2]

// pairs are the ratios of the tables: each tusvault over tusd, and v2
// over v1.
var pairs = [][2]string{{"tusvault", "tusd"}, {"tusvault-v1", "tusd"}, {"tusvault", "tusvault-v1"}}

func pairName(p [2]string) string { return p[0] + "/" + p[1] }

// summary is the run's tables, one section per scenario, each with the
// tusvault/tusd ratios.
func (r *results) summary() string {
	var sb strings.Builder
	conns := "kept open between requests"
	if !r.keep {
		conns = "one per request (TUSVAULT_BENCH_KEEPALIVE=0)"
	}
	fmt.Fprintf(&sb, "One versitygw, one run, started %s UTC, load average %s; connections to versitygw: %s.\n",
		r.started.Format(time.DateTime), r.load, conns)
	for _, tls := range r.transports() {
		r.versusTable(&sb, tls)
		r.getTable(&sb, tls)
		r.directTable(&sb, tls)
	}
	r.profileTable(&sb)
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

// transports are the protocols to versitygw the run measured: plain HTTP
// (false), and HTTPS (true) with plan.https.
func (r *results) transports() []bool {
	if r.plan.https {
		return []bool{false, true}
	}
	return []bool{false}
}

func transportName(tls bool) string {
	if tls {
		return "HTTPS"
	}
	return "HTTP"
}

func (r *results) versusTable(sb *strings.Builder, tls bool) {
	p := r.plan
	if len(p.uploads) == 0 {
		return
	}
	fmt.Fprintf(sb, "\nVersus over %s: %s %s of %s at once, each one PATCH:\n", transportName(tls),
		joinInts(p.uploads), plural(p.uploads[len(p.uploads)-1], "upload"), sizeString(p.size))
	tw := table(sb)
	fmt.Fprintln(tw, "uploads\tserver\tMB/s\tpeak RSS MiB\tidle RSS MiB\tCPU s: server\tserver/GiB\tversitygw\tclient\tmachine busy %\tGET MB/s\t")
	for _, n := range p.uploads {
		for _, name := range servers {
			m, ok := r.versus[caseName(name, n, tls)]
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
	sb.WriteString("Ratios (tusvault is format v2):\n")
	tw = table(sb)
	fmt.Fprintln(tw, "uploads\tratio\tMB/s\tpeak RSS\tserver CPU per GiB\tGET MB/s\t")
	for _, n := range p.uploads {
		for _, pr := range pairs {
			a, ok1 := r.versus[caseName(pr[0], n, tls)]
			b, ok2 := r.versus[caseName(pr[1], n, tls)]
			if !ok1 || !ok2 {
				if ok1 || ok2 { // one side skipped; none: a filtered run
					fmt.Fprintf(tw, "%d\t%s\tn/a\tn/a\tn/a\tn/a\t\n", n, pairName(pr))
				}
				continue
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t\n", n, pairName(pr), ratio(a.MBps(), b.MBps()),
				ratio(float64(a.PeakRSS), float64(b.PeakRSS)), ratio(perGiB(a.CPU, a.Bytes), perGiB(b.CPU, b.Bytes)),
				ratio(b.VerifyElapsed.Seconds(), a.VerifyElapsed.Seconds()))
		}
	}
	tw.Flush()
}

func (r *results) directTable(sb *strings.Builder, tls bool) {
	var d *directMeasurement
	for _, m := range r.direct {
		if m.Transport == transportName(tls) {
			d = m
		}
	}
	if d == nil {
		return
	}
	fmt.Fprintf(sb, "\nDirect ceiling over %s: %d multipart %s of %s at once straight to versitygw (%s parts, %d in flight per upload):\n",
		d.Transport, d.Uploads, plural(d.Uploads, "upload"), sizeString(r.plan.size), sizeString(PartSize), directInFlight)
	tw := table(sb)
	fmt.Fprintln(tw, "MB/s\tversitygw CPU s\tversitygw CPU s/GiB\tclient CPU s\tmachine busy %\t")
	fmt.Fprintf(tw, "%.1f\t%.1f\t%.2f\t%.1f\t%.0f\t\n", d.MBps(), d.S3.CPU.Seconds(), perGiB(d.S3.CPU, d.Bytes),
		d.ClientCPU.Seconds(), 100*d.S3.MachineBusy)
	tw.Flush()
	fmt.Fprintf(sb, "server / direct ceiling, MB/s of %d %s:", d.Uploads, plural(d.Uploads, "upload"))
	for _, name := range servers {
		if m, ok := r.versus[caseName(name, d.Uploads, tls)]; ok {
			fmt.Fprintf(sb, " %s %s", name, ratio(m.MBps(), d.MBps()))
		}
	}
	if m, ok := r.versus[caseName("tusvault", 1, tls)]; ok && d.Uploads != 1 {
		fmt.Fprintf(sb, "; tusvault with 1 upload %s", ratio(m.MBps(), d.MBps()))
	}
	sb.WriteString("\n")
}

// profileTable is the server CPU per GiB by category of every profiled
// versus case (TUSVAULT_BENCH_PROFILE), one column per case.
func (r *results) profileTable(sb *strings.Builder) {
	var names []string
	for _, tls := range r.transports() {
		for _, n := range r.plan.uploads {
			for _, s := range servers {
				if m, ok := r.versus[caseName(s, n, tls)]; ok && m.Profile != nil {
					names = append(names, caseName(s, n, tls))
				}
			}
		}
	}
	if len(names) == 0 {
		return
	}
	fmt.Fprintf(sb, "\nServer CPU s/GiB by category, from pprof CPU profiles (%d s slices) over the uploads:\n", profileSlice)
	tw := tabwriter.NewWriter(sb, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "category\t%s\t\n", strings.Join(names, "\t"))
	row := func(label string, value func(m measurement) float64) {
		fmt.Fprintf(tw, "%s", label)
		for _, name := range names {
			m := r.versus[name]
			fmt.Fprintf(tw, "\t%.2f", value(m)/(float64(m.Bytes)/(1<<30)))
		}
		fmt.Fprintln(tw, "\t")
	}
	for _, c := range profileCategories {
		row(c, func(m measurement) float64 { return m.Profile[c] })
	}
	row("total sampled", func(m measurement) float64 { return m.Profile.total() })
	row("server CPU (utime+stime)", func(m measurement) float64 { return m.CPU.Seconds() })
	tw.Flush()
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
