package bench

import (
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/plot/vg"

	"github.com/tusvault/tusvault/internal/chart"
	"github.com/tusvault/tusvault/internal/loadgen"
)

// Colours of the chart's lines.
var serverColor = map[string]color.Color{"tusd": chart.Blue, "tusvault": chart.Red}

// writeChart draws the server RSS series of the slow-client scenario of
// r (MiB over seconds from the slow clients' start), one line per server,
// with the fast uploads' start and each server's end of them marked, as
// an SVG file at path.
func writeChart(path string, r results) error {
	sp := r.plan.slow
	pn := chart.Panel{
		Title: fmt.Sprintf("Server RSS: %d slow clients (%s each at %s/s), %d fast uploads (%s each) from %v",
			sp.clients, sizeString(sp.size), sizeString(sp.rate), sp.fast, sizeString(sp.fastSize), sp.fastAfter),
		XLabel:  "seconds since the slow clients started",
		YLabel:  fmt.Sprintf("VmRSS, MiB (every %v)", slowSampleEvery),
		Markers: []chart.Marker{{Label: "fast uploads start", X: sp.fastAfter.Seconds(), Color: chart.Gray}},
	}
	for _, name := range servers {
		m, ok := r.slow[name]
		if !ok {
			continue
		}
		pts := make([]chart.Point, len(m.Series))
		for i, s := range m.Series {
			pts[i] = chart.Point{X: s.At.Seconds(), Y: mib(s.RSS)}
		}
		pn.Lines = append(pn.Lines, chart.Line{
			Label: fmt.Sprintf("%s: peak %.1f MiB; dashed: its fast uploads done, %.1f s after their start",
				name, mib(m.PeakRSS), m.Fast.Elapsed.Seconds()),
			Points: pts, Color: serverColor[name],
		})
		pn.Markers = append(pn.Markers, chart.Marker{
			X: (sp.fastAfter + m.Fast.Elapsed).Seconds(), Color: serverColor[name], Dashed: true,
		})
	}
	if err := chart.WriteSVG(path, 10*vg.Inch, 4.5*vg.Inch, pn); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	return nil
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
