// Package chart draws the line charts of the measurements as SVG files
// with gonum/plot: the RSS series of the slow-client benchmark
// (internal/bench, docs/bench-slow-clients-rss.svg) and of the soak
// (internal/soak, docs/soak-rss.svg).
//
// A chart is one or more panels stacked top to bottom over a shared
// width. Each Panel has a title, axis labels, a grid, its lines (a series
// of points each, with a legend entry) and vertical markers (an event at
// an x, such as "fast uploads start"), the legend in its top left corner.
// Both axes start at 0; the top of the y axis is YMax, or the highest
// point with room above it for the legend.
//
//	err := chart.WriteSVG("rss.svg", 10*vg.Inch, 4.5*vg.Inch, chart.Panel{
//		Title: "Server RSS", XLabel: "seconds", YLabel: "MiB",
//		Lines: []chart.Line{{Label: "tusvault", Points: pts, Color: chart.Red}},
//	})
package chart
