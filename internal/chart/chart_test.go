package chart

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/plot/vg"
)

func readSVG(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	s := strings.TrimSpace(string(b))
	if err != nil || !strings.HasPrefix(s, "<?xml") || !strings.Contains(s, "<svg") || !strings.HasSuffix(s, "</svg>") {
		t.Fatalf("%s: %d bytes, %v: not an SVG document", path, len(b), err)
	}
	return s
}

func series(n int, f func(i int) float64) []Point {
	pts := make([]Point, n)
	for i := range pts {
		pts[i] = Point{X: float64(i), Y: f(i)}
	}
	return pts
}

func TestWriteSVG(t *testing.T) {
	dir := t.TempDir()
	one := Panel{
		Title: "one panel", XLabel: "s", YLabel: "MiB",
		Lines:   []Line{{Label: "rss", Points: series(100, func(i int) float64 { return float64(20 + i%7) }), Color: Red}},
		Markers: []Marker{{Label: "start", X: 10}, {X: 50, Color: Blue, Dashed: true}},
	}
	p := filepath.Join(dir, "one.svg")
	if err := WriteSVG(p, 8*vg.Inch, 4*vg.Inch, one); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"one panel", "rss", "start"} {
		if s := readSVG(t, p); !strings.Contains(s, want) {
			t.Errorf("chart lacks %q", want)
		}
	}

	two := Panel{Title: "second panel", YMax: 10, Lines: []Line{
		{Label: "a", Points: series(3, func(i int) float64 { return float64(i) })},
		{Points: []Point{{X: 0, Y: 0}}, Width: 3},
	}}
	p = filepath.Join(dir, "two.svg")
	if err := WriteSVG(p, 8*vg.Inch, 6*vg.Inch, one, two); err != nil {
		t.Fatal(err)
	}
	if s := readSVG(t, p); !strings.Contains(s, "one panel") || !strings.Contains(s, "second panel") {
		t.Error("two-panel chart lacks a title")
	}

	if err := WriteSVG(filepath.Join(dir, "none.svg"), vg.Inch, vg.Inch); err == nil {
		t.Error("no panels: no error")
	}
	if err := WriteSVG(filepath.Join(dir, "empty.svg"), vg.Inch, vg.Inch, Panel{Lines: []Line{{Label: "empty"}}}); err == nil {
		t.Error("a line without points: no error")
	}
	if err := WriteSVG(filepath.Join(dir, "missing", "x.svg"), vg.Inch, vg.Inch, one); err == nil {
		t.Error("unwritable path: no error")
	}
}
