//go:build failpoint

package failpoint

import (
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
)

// Enabled reports whether this build has failpoints (-tags failpoint).
const Enabled = true

// The environment variables read at startup.
const (
	EnvFailpoint  = "TUSVAULT_FAILPOINT"
	EnvSegmentLog = "TUSVAULT_SEGMENT_LOG"
)

// Marker starts the line printed when the armed stage is hit.
const Marker = "TUSVAULT-FAILPOINT"

// Spec is a parsed TUSVAULT_FAILPOINT.
type Spec struct {
	Stage string
	Nth   int64 // the hit that fires, from 1
	Block bool  // block the goroutine instead of SIGKILLing the process
}

// ParseSpec parses "<stage>[:<n>][=kill|block]".
func ParseSpec(v string) (Spec, error) {
	sp := Spec{Nth: 1}
	v, action, hasAction := strings.Cut(v, "=")
	switch {
	case !hasAction, action == "kill":
	case action == "block":
		sp.Block = true
	default:
		return sp, fmt.Errorf("failpoint: unknown action %q (kill or block)", action)
	}
	stage, nth, hasNth := strings.Cut(v, ":")
	if hasNth {
		n, err := strconv.ParseInt(nth, 10, 64)
		if err != nil || n < 1 {
			return sp, fmt.Errorf("failpoint: bad hit number %q", nth)
		}
		sp.Nth = n
	}
	if stage == "" || strings.ContainsAny(stage, " \t") {
		return sp, fmt.Errorf("failpoint: bad stage %q", stage)
	}
	sp.Stage = stage
	return sp, nil
}

var (
	armed  Spec // zero Stage: nothing armed
	hits   atomic.Int64
	segLog *os.File
	segMu  sync.Mutex
)

func init() {
	if v := os.Getenv(EnvFailpoint); v != "" {
		sp, err := ParseSpec(v)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s=%s: %v\n", EnvFailpoint, v, err)
			os.Exit(2)
		}
		armed = sp
	}
	if p := os.Getenv(EnvSegmentLog); p != "" {
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", EnvSegmentLog, err)
			os.Exit(2)
		}
		segLog = f
	}
}

// Hit counts a hit of stage name and fires at the armed one.
func Hit(name string) {
	if name != armed.Stage {
		return
	}
	n := hits.Add(1)
	if n != armed.Nth {
		return
	}
	// One write to the unbuffered stderr: it is in the pipe before the
	// process dies.
	fmt.Fprintf(os.Stderr, "%s %s %d\n", Marker, name, n)
	if armed.Block {
		select {}
	}
	syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // the signal is on its way
}

// Reader wraps r so that a pass over its size bytes hits stage name when it
// crosses the middle; r itself when name is not armed.
func Reader(name string, r io.ReadSeeker, size int64) io.ReadSeeker {
	if name != armed.Stage {
		return r
	}
	return &reader{r: r, name: name, half: size / 2}
}

type reader struct {
	r    io.ReadSeeker
	name string
	pos  int64
	half int64
}

func (r *reader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	before := r.pos
	r.pos += int64(n)
	if before <= r.half && r.pos > r.half {
		Hit(r.name)
	}
	return n, err
}

func (r *reader) Seek(off int64, whence int) (int64, error) {
	pos, err := r.r.Seek(off, whence)
	if err == nil {
		r.pos = pos
	}
	return pos, err
}

// Segment appends "<id> <off> <iv hex>" to the segment log, if any. A
// failing log stops the process: a test must not check an incomplete one.
func Segment(id string, off int64, iv []byte) {
	if segLog == nil {
		return
	}
	line := id + " " + strconv.FormatInt(off, 10) + " " + hex.EncodeToString(iv) + "\n"
	segMu.Lock()
	defer segMu.Unlock()
	if _, err := segLog.WriteString(line); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", EnvSegmentLog, err)
		os.Exit(2)
	}
}
