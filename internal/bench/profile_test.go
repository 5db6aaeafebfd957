package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"github.com/tusvault/tusvault/internal/testenv"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Settings of the profile mode (TUSVAULT_BENCH_PROFILE).
const (
	profileSlice   = 1 // seconds per CPU profile fetched from a server
	profileTimeout = 30 * time.Second
)

// profiler fetches CPU profiles of profileSlice seconds, one after the
// other, from a server's pprof route (-expose-pprof, the default
// /debug/pprof/) into dir, until stop. Each server has its own route, so
// tusd and tusvault are profiled alike; the slices together cover the
// uploads (the last one may run up to a second past their end, idle).
type profiler struct {
	base, dir, name string
	quit            chan struct{}
	done            chan struct{}
	files           []string
	err             error
}

func startProfiler(serverURL, dir, name string) *profiler {
	u, _ := url.Parse(serverURL)
	p := &profiler{
		base: "http://" + u.Host + "/debug/pprof/profile?seconds=" + strconv.Itoa(profileSlice),
		dir:  dir, name: strings.ReplaceAll(name, "/", "-"),
		quit: make(chan struct{}), done: make(chan struct{}),
	}
	go p.run()
	return p
}

func (p *profiler) run() {
	defer close(p.done)
	if err := os.MkdirAll(p.dir, 0o755); err != nil {
		p.err = err
		return
	}
	client := &http.Client{Timeout: profileTimeout}
	for i := 0; ; i++ {
		select {
		case <-p.quit:
			return
		default:
		}
		path := filepath.Join(p.dir, fmt.Sprintf("%s-%03d.pprof", p.name, i))
		if err := fetch(client, p.base, path); err != nil {
			p.err = err
			return
		}
		p.files = append(p.files, path)
	}
}

func fetch(client *http.Client, u, path string) error {
	resp, err := client.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// stop waits for the slice in progress and returns the CPU by category
// over all slices.
func (p *profiler) stop() (cpuProfile, error) {
	close(p.quit)
	<-p.done
	if p.err != nil {
		return nil, p.err
	}
	return categorize(p.files)
}

// cpuProfile is CPU seconds by category (profileCategories).
type cpuProfile map[string]float64

// profileCategories are the rows of the profile table, in order. A
// sample goes to the first category whose rule matches its stack
// (leaf first); see category.
var profileCategories = []string{
	"AES-GCM (format v2)",
	"AES-CTR (format v1)",
	"HMAC-SHA256 (format v1)",
	"SHA-256 of the SigV4 payload",
	"CRC32 checksums",
	"TLS AES-GCM",
	"syscalls: client socket read",
	"syscalls: spool file write",
	"syscalls: spool file read",
	"syscalls: S3 socket write",
	"syscalls: spool close",
	"syscalls: other",
	"copies (memmove)",
	"allocation",
	"GC",
	"runtime: scheduler, netpoll",
	"other: HTTP, tusd handler, SDK, TLS handshakes",
}

// category names the part of the server's work a sample's stack (leaf
// first, "pkg.func" names) belongs to.
func category(stack []string) string {
	leaf, all := stack[0], strings.Join(stack, " ")
	has := func(s string) bool { return strings.Contains(all, s) }
	switch {
	case strings.Contains(leaf, "sha256.block"):
		switch {
		case has("ComputePayloadSHA256"), has("service/internal/checksum."), has("tusvault/store.(*partHash)"):
			// The SDK's checksum middleware hashes the payload for SigV4
			// in its CRC32 pass when it computes a checksum (tusd).
			return "SHA-256 of the SigV4 payload"
		case has("tusvault/store/crypt.(*MAC)"):
			return "HMAC-SHA256 (format v1)"
		}
		return "other: HTTP, tusd handler, SDK, TLS handshakes"
	case (strings.Contains(leaf, "gcmAes") || strings.Contains(leaf, "aes.ctrBlocks")) && has("tusvault/store/crypt.(*ChunkCipher)"):
		// v2's chunks: GCM, and CTR for the pieces of the last chunk.
		return "AES-GCM (format v2)"
	case strings.Contains(leaf, "aes.ctrBlocks"):
		return "AES-CTR (format v1)"
	case strings.Contains(leaf, "gcmAes"):
		return "TLS AES-GCM"
	case strings.Contains(leaf, "crc32"):
		return "CRC32 checksums"
	case strings.Contains(leaf, "Syscall"), strings.HasPrefix(leaf, "syscall."):
		return syscallCategory(stack)
	case has("runtime.gcBgMarkWorker"), has("runtime.gcAssist"), has("runtime.bgsweep"), has("runtime.bgscavenge"):
		return "GC"
	case has("runtime.mallocgc"):
		return "allocation"
	case strings.HasPrefix(leaf, "runtime.memmove"):
		return "copies (memmove)"
	case strings.HasPrefix(leaf, "runtime."):
		return "runtime: scheduler, netpoll"
	}
	return "other: HTTP, tusd handler, SDK, TLS handshakes"
}

var (
	fileWrite = regexp.MustCompile(`^os\.\(\*File\)\.(Write|WriteAt|write|pwrite)\b`)
	fileRead  = regexp.MustCompile(`^os\.\(\*File\)\.(Read|ReadAt|read|pread)( |$)`)
)

// syscallCategory names a system call by the nearest caller that says
// what it is for.
func syscallCategory(stack []string) string {
	for _, f := range stack {
		switch {
		case fileWrite.MatchString(f):
			return "syscalls: spool file write"
		case fileRead.MatchString(f):
			return "syscalls: spool file read"
		case strings.HasPrefix(f, "net.(*conn).Read"):
			return "syscalls: client socket read"
		case strings.HasPrefix(f, "net.(*conn).Write"):
			return "syscalls: S3 socket write"
		case strings.HasPrefix(f, "os.(*File).Close"), strings.HasPrefix(f, "os.Remove"):
			return "syscalls: spool close"
		case strings.Contains(f, "EpollWait"), strings.Contains(f, "futex"), strings.HasPrefix(f, "runtime."):
			return "runtime: scheduler, netpoll"
		}
	}
	return "syscalls: other"
}

// traceValue is the first line of a sample in `go tool pprof -traces`:
// its CPU time and leaf function.
var traceValue = regexp.MustCompile(`^\s*([0-9.]+)(s|ms|us)\s+(\S+)`)

// categorize merges CPU profiles (go tool pprof -traces) and adds up
// their samples by category.
func categorize(files []string) (cpuProfile, error) {
	if len(files) == 0 {
		return cpuProfile{}, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, testenv.GoTool(), append([]string{"tool", "pprof", "-traces"}, files...)...).Output()
	if err != nil {
		return nil, fmt.Errorf("go tool pprof -traces: %w", err)
	}
	prof := cpuProfile{}
	var value float64
	var stack []string
	flushSample := func() {
		if len(stack) > 0 {
			prof[category(stack)] += value
		}
		stack = stack[:0]
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "-----"):
			flushSample()
		case len(stack) == 0:
			m := traceValue.FindStringSubmatch(line)
			if m == nil {
				continue // the header
			}
			v, _ := strconv.ParseFloat(m[1], 64)
			value = v * map[string]float64{"s": 1, "ms": 1e-3, "us": 1e-6}[m[2]]
			stack = append(stack, m[3])
		default:
			if f := strings.TrimSpace(line); f != "" {
				stack = append(stack, f)
			}
		}
	}
	flushSample()
	return prof, sc.Err()
}

// total is the CPU time of every sample.
func (p cpuProfile) total() float64 {
	var t float64
	for _, v := range p {
		t += v
	}
	return t
}

// TestCategory checks the rules on stacks as pprof shows them (leaf
// first), taken from profiles of both servers.
func TestCategory(t *testing.T) {
	sdk := "github.com/aws/aws-sdk-go-v2/"
	for _, tc := range []struct {
		stack []string
		want  string
	}{
		{[]string{"crypto/internal/fips140/sha256.blockSHANI", "crypto/internal/fips140/sha256.(*Digest).Write",
			"github.com/tusvault/tusvault/store/crypt.(*MAC).Write", "github.com/tusvault/tusvault/store.(*partWriter).write"},
			"HMAC-SHA256 (format v1)"},
		{[]string{"crypto/internal/fips140/sha256.blockSHANI", "crypto/internal/fips140/sha256.(*Digest).Write",
			"github.com/tusvault/tusvault/store.(*partHash).write (inline)", "github.com/tusvault/tusvault/store.(*partWriter).write"},
			"SHA-256 of the SigV4 payload"},
		{[]string{"crypto/internal/fips140/sha256.blockSHANI", "io.copyBuffer",
			sdk + "aws/signer/v4.(*ComputePayloadSHA256).HandleFinalize"}, "SHA-256 of the SigV4 payload"},
		{[]string{"crypto/internal/fips140/sha256.blockSHANI", "io.(*teeReader).Read",
			sdk + "service/internal/checksum.computeStreamChecksum"}, "SHA-256 of the SigV4 payload"},
		{[]string{"crypto/internal/fips140/sha256.blockSHANI", "crypto/tls.(*Conn).clientHandshake"},
			"other: HTTP, tusd handler, SDK, TLS handshakes"},
		{[]string{"crypto/internal/fips140/aes.ctrBlocks8Asm", "crypto/cipher.aesCtrWrapper.XORKeyStream"}, "AES-CTR (format v1)"},
		{[]string{"crypto/internal/fips140/aes/gcm.gcmAesEnc", "crypto/tls.(*halfConn).encrypt"}, "TLS AES-GCM"},
		{[]string{"crypto/internal/fips140/aes/gcm.gcmAesEnc", "crypto/internal/fips140/aes/gcm.seal",
			"github.com/tusvault/tusvault/store/crypt.(*ChunkCipher).SealChunk"}, "AES-GCM (format v2)"},
		{[]string{"crypto/internal/fips140/aes/gcm.gcmAesDec", "crypto/internal/fips140/aes/gcm.open",
			"github.com/tusvault/tusvault/store/crypt.(*ChunkCipher).OpenChunk"}, "AES-GCM (format v2)"},
		{[]string{"crypto/internal/fips140/aes.ctrBlocks8Asm", "crypto/cipher.aesCtrWrapper.XORKeyStream",
			"github.com/tusvault/tusvault/store/crypt.xorKeystream", "github.com/tusvault/tusvault/store/crypt.(*ChunkCipher).SealChunk"}, "AES-GCM (format v2)"},
		{[]string{"internal/runtime/syscall/linux.Syscall6", "syscall.RawSyscall6", "syscall.write",
			"internal/poll.(*FD).Write", "os.(*File).write (inline)", "os.(*File).Write",
			"github.com/tusvault/tusvault/store.(*partWriter).write"}, "syscalls: spool file write"},
		{[]string{"internal/runtime/syscall/linux.Syscall6", "syscall.pread", "internal/poll.(*FD).Pread",
			"os.(*File).ReadAt", "io.(*SectionReader).Read"}, "syscalls: spool file read"},
		{[]string{"internal/runtime/syscall/linux.Syscall6", "syscall.read", "internal/poll.(*FD).Read",
			"os.(*File).read (inline)", "os.(*File).Read", "io.(*teeReader).Read"}, "syscalls: spool file read"},
		// tusd's io.Copy from the request into its temp file: the read
		// is the socket's, though os.(*File).ReadFrom is further up.
		{[]string{"internal/runtime/syscall/linux.Syscall6", "syscall.read", "internal/poll.(*FD).Read",
			"net.(*netFD).Read", "net.(*conn).Read", "bufio.(*Reader).Read", "io.copyBuffer",
			"os.genericReadFrom", "os.(*File).ReadFrom"}, "syscalls: client socket read"},
		{[]string{"internal/runtime/syscall/linux.Syscall6", "syscall.write", "internal/poll.(*FD).Write",
			"net.(*netFD).Write", "net.(*conn).Write", "crypto/tls.(*Conn).write"}, "syscalls: S3 socket write"},
		{[]string{"internal/runtime/syscall/linux.Syscall6", "syscall.Close", "os.(*File).Close"}, "syscalls: spool close"},
		{[]string{"runtime.scanobject", "runtime.gcDrain", "runtime.gcBgMarkWorker"}, "GC"},
		{[]string{"runtime.memclrNoHeapPointers", "runtime.mallocgc", "runtime.makeslice"}, "allocation"},
		{[]string{"runtime.memmove", "bufio.(*Reader).Read"}, "copies (memmove)"},
		{[]string{"runtime.findRunnable", "runtime.schedule"}, "runtime: scheduler, netpoll"},
		{[]string{"net/http.(*conn).serve"}, "other: HTTP, tusd handler, SDK, TLS handshakes"},
	} {
		if got := category(tc.stack); got != tc.want {
			t.Errorf("category(%s...) = %q, want %q", tc.stack[0], got, tc.want)
		}
		if !slices.Contains(profileCategories, tc.want) {
			t.Errorf("%q is not a row of the table", tc.want)
		}
	}
}
