package main

import (
	"io"
	"os"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// isTerminal reports whether w is a terminal: progress bars go there and
// nowhere else, so scripts and logs stay quiet. Tests replace it.
var isTerminal = func(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// newBar returns a progress bar of max units on stderr when stderr is a
// terminal, else an invisible one. bytes shows the units as bytes with a
// rate.
func newBar(stderr io.Writer, max int64, desc string, bytes bool) *progressbar.ProgressBar {
	if !isTerminal(stderr) {
		return progressbar.NewOptions64(max, progressbar.OptionSetVisibility(false), progressbar.OptionSetWriter(io.Discard))
	}
	opts := []progressbar.Option{
		progressbar.OptionSetWriter(stderr),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100_000_000), // 0.1 s
		progressbar.OptionShowCount(),
		progressbar.OptionOnCompletion(func() { io.WriteString(stderr, "\n") }),
	}
	if bytes {
		opts = append(opts, progressbar.OptionShowBytes(true))
	}
	return progressbar.NewOptions64(max, opts...)
}

// countProgress returns a store.Config.Progress that drives a bar of
// uploads on stderr, or nil when stderr is not a terminal.
func countProgress(stderr io.Writer, desc string) func(done, total int) {
	if !isTerminal(stderr) {
		return nil
	}
	var bar *progressbar.ProgressBar
	return func(done, total int) {
		if bar == nil {
			bar = newBar(stderr, int64(total), desc, false)
		}
		bar.Set(done)
		if done == total {
			bar.Finish()
		}
	}
}
