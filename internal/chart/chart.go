package chart

import (
	"errors"
	"fmt"
	"image/color"
	"os"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Colours the charts use.
var (
	Blue  color.Color = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	Red   color.Color = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
	Green color.Color = color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}
	Gray  color.Color = color.Gray{Y: 0x80}
)

// headroom is how far the y axis goes above the highest point when
// Panel.YMax is 0, so that the legend sits above the lines.
const headroom = 1.45

// Point is one point of a line.
type Point struct{ X, Y float64 }

// Line is a series drawn as a polyline.
type Line struct {
	Label  string      // legend entry; "" for none
	Points []Point     // at least one
	Color  color.Color // default Gray
	Width  vg.Length   // default 1.5 pt
	Dashed bool        // default solid
}

// Marker is a vertical line at X, from 0 to Top.
type Marker struct {
	Label  string      // legend entry; "" for none
	X      float64     //
	Top    float64     // default: the highest point of the panel's lines × 1.12
	Color  color.Color // default Gray
	Width  vg.Length   // default 1 pt
	Dashed bool        // default solid
}

// Panel is one plot of a chart. Markers are drawn before lines; the
// legend lists the labelled markers, then the labelled lines.
type Panel struct {
	Title, XLabel, YLabel string
	// YMax is the top of the y axis; 0 (the default) is the highest point
	// of the lines × 1.45, room for the legend.
	YMax    float64
	Lines   []Line
	Markers []Marker
}

// WriteSVG draws the panels stacked top to bottom in a w × h SVG
// document at path.
func WriteSVG(path string, w, h vg.Length, panels ...Panel) error {
	if len(panels) == 0 {
		return errors.New("chart: no panels")
	}
	plots := make([][]*plot.Plot, len(panels))
	for i, pn := range panels {
		p, err := pn.plot()
		if err != nil {
			return fmt.Errorf("chart: panel %q: %w", pn.Title, err)
		}
		plots[i] = []*plot.Plot{p}
	}
	c := vgsvg.New(w, h)
	dc := draw.New(c)
	if len(plots) == 1 {
		plots[0][0].Draw(dc)
	} else {
		tiles := draw.Tiles{Rows: len(plots), Cols: 1, PadY: vg.Points(12), PadTop: vg.Points(4), PadBottom: vg.Points(4)}
		canvases := plot.Align(plots, tiles, dc)
		for i := range plots {
			plots[i][0].Draw(canvases[i][0])
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	if _, err := c.WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("chart %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("chart %s: %w", path, err)
	}
	return nil
}

// peak is the highest y of the panel's lines (0 for none).
func (pn Panel) peak() float64 {
	peak := 0.0
	for _, l := range pn.Lines {
		for _, pt := range l.Points {
			peak = max(peak, pt.Y)
		}
	}
	return peak
}

func (pn Panel) plot() (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = pn.Title
	p.X.Label.Text = pn.XLabel
	p.Y.Label.Text = pn.YLabel
	p.Add(plotter.NewGrid())
	peak := pn.peak()
	p.X.Min, p.Y.Min, p.Y.Max = 0, 0, pn.YMax
	if p.Y.Max <= 0 {
		p.Y.Max = max(headroom*peak, 1)
	}
	p.Legend.Top, p.Legend.Left = true, true
	for _, m := range pn.Markers {
		top := m.Top
		if top <= 0 {
			top = 1.12 * peak
		}
		l, err := plotter.NewLine(plotter.XYs{{X: m.X, Y: 0}, {X: m.X, Y: top}})
		if err != nil {
			return nil, err
		}
		style(l, m.Color, m.Width, vg.Points(1), m.Dashed)
		p.Add(l)
		if m.Label != "" {
			p.Legend.Add(m.Label, l)
		}
	}
	for _, ln := range pn.Lines {
		if len(ln.Points) == 0 {
			return nil, fmt.Errorf("line %q has no points", ln.Label)
		}
		xys := make(plotter.XYs, len(ln.Points))
		for i, pt := range ln.Points {
			xys[i] = plotter.XY{X: pt.X, Y: pt.Y}
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return nil, fmt.Errorf("line %q: %w", ln.Label, err)
		}
		style(l, ln.Color, ln.Width, vg.Points(1.5), ln.Dashed)
		p.Add(l)
		if ln.Label != "" {
			p.Legend.Add(ln.Label, l)
		}
	}
	return p, nil
}

func style(l *plotter.Line, c color.Color, w, defaultWidth vg.Length, dashed bool) {
	if c == nil {
		c = Gray
	}
	if w <= 0 {
		w = defaultWidth
	}
	l.Color, l.Width = c, w
	if dashed {
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	}
}
