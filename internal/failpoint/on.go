//go:build failpoint

package failpoint

import (
	"crypto/sha256"
	"encoding/binary"
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
	EnvSealLog    = "TUSVAULT_SEAL_LOG"
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
	armed   Spec // zero Stage: nothing armed
	hits    atomic.Int64
	segLog  = appendLog{env: EnvSegmentLog}
	sealLog = appendLog{env: EnvSealLog}
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
	segLog.open()
	sealLog.open()
}

// appendLog is a log file named by an environment variable, appended to
// one record at a time (frame, Record): several processes may share it,
// and a SIGKILL loses no record that was written whole. A failing log
// stops the process: a test must not check an incomplete one.
type appendLog struct {
	env string
	mu  sync.Mutex
	f   *os.File // nil: the variable is not set
}

func (l *appendLog) open() {
	p := os.Getenv(l.env)
	if p == "" {
		return
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", l.env, err)
		os.Exit(2)
	}
	l.f = f
}

func (l *appendLog) write(fields string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := l.f.WriteString(frame(fields)); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", l.env, err)
		os.Exit(2)
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

// Segment appends "<id> <off> <iv hex>" to the segment log, if any.
func Segment(id string, off int64, iv []byte) {
	if segLog.f == nil {
		return
	}
	segLog.write(id + " " + strconv.FormatInt(off, 10) + " " + hex.EncodeToString(iv))
}

// ChunkSealed records, in the seal log if any, that upload id is about to
// seal chunk chunk at length end (final: as the upload's last) under the
// key of the segment with IV iv, with plaintext, the new bytes (the
// segment's piece of the chunk; empty for a re-seal as final), and aad,
// the additional data (for a final tag, the part of it before the
// piece's own ciphertext, which the piece and the key fix). Then it hits
// the stage "chunk-sealed". The line is
//
//	<id> <iv hex> <chunk> <end> <final 0|1> <sha256(plaintext) hex, or - if empty> <sha256(u64 len(plaintext) ‖ plaintext ‖ aad) hex>
//
// The first hash stands for what the keystream of the piece nonce
// ChunkNonce(chunk, end, false) encrypts, the second for the message that
// the nonce ChunkNonce(chunk, end, final) authenticates.
func ChunkSealed(id string, iv []byte, chunk int64, end int, final bool, plaintext, aad []byte) {
	if sealLog.f != nil {
		sealLog.write(sealLine(id, iv, chunk, end, final, plaintext, aad))
	}
	Hit("chunk-sealed")
}

// sealLine is the fields of the seal log's record for ChunkSealed's
// arguments.
func sealLine(id string, iv []byte, chunk int64, end int, final bool, plaintext, aad []byte) string {
	pt := "-"
	if len(plaintext) > 0 {
		sum := sha256.Sum256(plaintext)
		pt = hex.EncodeToString(sum[:])
	}
	h := sha256.New()
	h.Write(binary.BigEndian.AppendUint64(nil, uint64(len(plaintext))))
	h.Write(plaintext)
	h.Write(aad)
	fin := "0"
	if final {
		fin = "1"
	}
	return id + " " + hex.EncodeToString(iv) + " " + strconv.FormatInt(chunk, 10) + " " +
		strconv.Itoa(end) + " " + fin + " " + pt + " " + hex.EncodeToString(h.Sum(nil))
}
