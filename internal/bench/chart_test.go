package bench

import (
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/tusvault/tusvault/internal/loadgen"
)

// Colours of the chart's lines.
var (
	serverColor = map[string]color.Color{
		"tusd":     color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
		"tusvault": color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	}
	markerColor = color.Gray{Y: 0x80}
)

// writeChart draws the server RSS series of the slow-client scenario of
// r (MiB over seconds from the slow clients' start), one line per server,
// with the fast uploads' start and each server's end of them marked, as
// an SVG file at path.
func writeChart(path string, r results) error {
	sp := r.plan.slow
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Server RSS: %d slow clients (%s each at %s/s), %d fast uploads (%s each) from %v",
		sp.clients, sizeString(sp.size), sizeString(sp.rate), sp.fast, sizeString(sp.fastSize), sp.fastAfter)
	p.X.Label.Text = "seconds since the slow clients started"
	p.Y.Label.Text = fmt.Sprintf("VmRSS, MiB (every %v)", slowSampleEvery)
	p.Add(plotter.NewGrid())

	// The markers stop above the lines; the legend sits above them.
	peak := 0.0
	for _, name := range servers {
		if m, ok := r.slow[name]; ok {
			peak = max(peak, mib(m.PeakRSS))
		}
	}
	p.X.Min, p.Y.Min, p.Y.Max = 0, 0, 1.45*peak
	p.Legend.Top, p.Legend.Left = true, true
	marker := func(x float64, c color.Color, dashed bool) (*plotter.Line, error) {
		l, err := plotter.NewLine(plotter.XYs{{X: x, Y: 0}, {X: x, Y: 1.12 * peak}})
		if err != nil {
			return nil, err
		}
		l.Color, l.Width = c, vg.Points(1)
		if dashed {
			l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		}
		return l, nil
	}
	start, err := marker(sp.fastAfter.Seconds(), markerColor, false)
	if err != nil {
		return err
	}
	p.Add(start)
	p.Legend.Add("fast uploads start", start)

	for _, name := range servers {
		m, ok := r.slow[name]
		if !ok {
			continue
		}
		xys := make(plotter.XYs, len(m.Series))
		for i, s := range m.Series {
			xys[i] = plotter.XY{X: s.At.Seconds(), Y: mib(s.RSS)}
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return fmt.Errorf("bench: chart of %s: %w", name, err)
		}
		l.Color, l.Width = serverColor[name], vg.Points(1.5)
		done, err := marker((sp.fastAfter + m.Fast.Elapsed).Seconds(), serverColor[name], true)
		if err != nil {
			return err
		}
		p.Add(l, done)
		p.Legend.Add(fmt.Sprintf("%s: peak %.1f MiB; dashed: its fast uploads done, %.1f s after their start",
			name, mib(m.PeakRSS), m.Fast.Elapsed.Seconds()), l)
	}

	wt, err := p.WriterTo(10*vg.Inch, 4.5*vg.Inch, "svg")
	if err != nil {
		return fmt.Errorf("bench: chart: %w", err)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("bench: chart: %w", err)
	}
	if _, err := wt.WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("bench: chart %s: %w", path, err)
	}
	return f.Close()
}

// TestWriteChart draws a chart from made-up series: the chart needs no
// servers.
func TestWriteChart(t *testing.T) {
	r := results{plan: fullPlan(defaultSize), slow: map[string]slowMeasurement{}}
	for i, name := range servers {
		var m slowMeasurement
		for k := range 400 {
			rss := int64(40-12*i)<<20 + int64(k%37)<<17
			m.Series = append(m.Series, loadgen.Sample{At: time.Duration(k) * slowSampleEvery, RSS: rss})
			m.PeakRSS = max(m.PeakRSS, rss)
		}
		m.Fast.Elapsed = time.Duration(30-15*i) * time.Second
		r.slow[name] = m
	}
	path := filepath.Join(t.TempDir(), "chart.svg")
	if err := writeChart(path, r); err != nil {
		t.Fatal(err)
	}
	svg, err := os.ReadFile(path)
	if err != nil || !strings.HasPrefix(string(svg), "<?xml") || !strings.HasSuffix(strings.TrimSpace(string(svg)), "</svg>") {
		t.Fatalf("%d bytes, %v: not an SVG document", len(svg), err)
	}
	for _, want := range []string{"tusd: peak", "tusvault: peak", "fast uploads start"} {
		if !strings.Contains(string(svg), want) {
			t.Errorf("chart lacks %q", want)
		}
	}
}
