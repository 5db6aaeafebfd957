package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"strings"
	"sync"

	expslog "golang.org/x/exp/slog"
)

// output is where the server writes: the operational log (log/slog), the
// same log for tusd's handler (golang.org/x/exp/slog, adapted once here) and
// the tusd-style console lines (startup, shutdown). All of them write to the
// same stream through one lock, so lines never interleave.
type output struct {
	log      *slog.Logger
	tusdLog  *expslog.Logger
	console  *log.Logger // timestamped lines on stdout (text format)
	json     bool
	stderr   *log.Logger
	startups bool // -show-startup-logs
}

// newOutput builds the loggers of the serve command. Like tusd, logs go to
// stdout; -verbose lowers the level to debug; the text format drops slog's
// time (the line prefix carries it) and names the message "event".
func newOutput(stdout, stderr io.Writer, format string, verbose, startups bool) *output {
	w := &lockedWriter{w: stdout}
	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	o := &output{
		console:  log.New(w, "", log.LstdFlags|log.Lmicroseconds),
		stderr:   log.New(&lockedWriter{w: stderr}, "", log.LstdFlags|log.Lmicroseconds),
		json:     format == "json",
		startups: startups,
	}
	var h slog.Handler
	if o.json {
		h = slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})
	} else {
		h = slog.NewTextHandler(consoleWriter{o.console}, &slog.HandlerOptions{
			Level: level,
			ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
				if len(groups) == 0 && a.Key == slog.TimeKey {
					return slog.Attr{}
				}
				if len(groups) == 0 && a.Key == slog.MessageKey {
					a.Key = "event"
				}
				return a
			},
		})
	}
	o.log = slog.New(h)
	o.tusdLog = expslog.New(expHandler{h})
	return o
}

// printf writes a console line to stdout: a timestamped line in the text
// format, an info record in the json format.
func (o *output) printf(format string, args ...any) {
	if o.json {
		o.log.Info(fmt.Sprintf(format, args...))
		return
	}
	o.console.Printf(format, args...)
}

// errorf writes a console line to stderr (an error record in json).
func (o *output) errorf(format string, args ...any) {
	if o.json {
		o.log.Error(fmt.Sprintf(format, args...))
		return
	}
	o.stderr.Printf(format, args...)
}

// warn writes a multi-line warning to stdout whatever -show-startup-logs
// says: one console line per line in the text format, one warning record
// in the json format.
func (o *output) warn(lines ...string) {
	if o.json {
		o.log.Warn(strings.Join(lines, " "))
		return
	}
	for _, l := range lines {
		o.console.Print(l)
	}
}

// startup is printf when -show-startup-logs is on.
func (o *output) startup(format string, args ...any) {
	if o.startups {
		o.printf(format, args...)
	}
}

// lockedWriter serializes writes to w.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// consoleWriter hands each slog line to a log.Logger, which prefixes the
// date and time as tusd's console does.
type consoleWriter struct{ l *log.Logger }

func (c consoleWriter) Write(p []byte) (int, error) {
	if err := c.l.Output(2, string(p)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// expHandler lets tusd's handler, which logs through golang.org/x/exp/slog
// (a distinct type from log/slog in the tusd version we use), log through
// our log/slog handler: one level, one format, one stream.
type expHandler struct{ h slog.Handler }

var _ expslog.Handler = expHandler{}

func (e expHandler) Enabled(ctx context.Context, l expslog.Level) bool {
	return e.h.Enabled(ctx, slog.Level(l))
}

func (e expHandler) Handle(ctx context.Context, r expslog.Record) error {
	nr := slog.NewRecord(r.Time, slog.Level(r.Level), r.Message, r.PC)
	r.Attrs(func(a expslog.Attr) bool {
		nr.AddAttrs(convertAttr(a))
		return true
	})
	return e.h.Handle(ctx, nr)
}

func (e expHandler) WithAttrs(attrs []expslog.Attr) expslog.Handler {
	out := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		out[i] = convertAttr(a)
	}
	return expHandler{e.h.WithAttrs(out)}
}

func (e expHandler) WithGroup(name string) expslog.Handler {
	return expHandler{e.h.WithGroup(name)}
}

func convertAttr(a expslog.Attr) slog.Attr {
	return slog.Attr{Key: a.Key, Value: convertValue(a.Value)}
}

func convertValue(v expslog.Value) slog.Value {
	v = v.Resolve()
	switch v.Kind() {
	case expslog.KindBool:
		return slog.BoolValue(v.Bool())
	case expslog.KindDuration:
		return slog.DurationValue(v.Duration())
	case expslog.KindFloat64:
		return slog.Float64Value(v.Float64())
	case expslog.KindInt64:
		return slog.Int64Value(v.Int64())
	case expslog.KindString:
		return slog.StringValue(v.String())
	case expslog.KindTime:
		return slog.TimeValue(v.Time())
	case expslog.KindUint64:
		return slog.Uint64Value(v.Uint64())
	case expslog.KindGroup:
		g := v.Group()
		out := make([]slog.Attr, len(g))
		for i, a := range g {
			out[i] = convertAttr(a)
		}
		return slog.GroupValue(out...)
	default:
		return slog.AnyValue(v.Any())
	}
}
