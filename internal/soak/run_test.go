package soak

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tus/tusd/v2/pkg/filestore"
	"github.com/tus/tusd/v2/pkg/handler"
	"github.com/tus/tusd/v2/pkg/memorylocker"
	expslog "golang.org/x/exp/slog"

	"github.com/tusvault/tusvault/internal/tusclient"
)

// tinyMix is ReducedMix at a few hundred KiB, for a tus server in the
// test process.
var tinyMix = Mix{
	Bands: []Band{
		{Kind: Photo, Count: 16, Min: 1, Max: 900 * kib},
		{Kind: Video, Count: 3, Min: 2 * mib, Max: 3 * mib},
		{Kind: Empty, Count: 2},
		{Kind: Byte, Count: 2, Min: 1, Max: 1},
	},
	Accounts: accounts, Shares: shares,
	Guest: 0.3, Whole: 0.3, ChunkMin: 64 * kib, ChunkMax: 512 * kib,
	Interrupted: 0.4, MaxCuts: 3, TerminateMid: 0.1, TerminateAfter: 0.1, Keep: 4,
}

// fakeServer is tusd's file store behind /files/ and a RAM status at
// /upload/ram-status, with fault hooks: fault sees every request first
// and may answer it itself (true).
type fakeServer struct {
	*httptest.Server
	fault    func(w http.ResponseWriter, r *http.Request) bool
	mux      *http.ServeMux
	statuses atomic.Int64

	mu    sync.Mutex
	names map[string]string // upload path → its filename metadata
}

// name returns the filename of the upload r is about ("" if none).
func (fs *fakeServer) name(r *http.Request) string {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.names[r.URL.Path]
}

// locationWriter notes the Location of a creation.
type locationWriter struct {
	http.ResponseWriter
	fs   *fakeServer
	name string
}

func (l *locationWriter) WriteHeader(code int) {
	if loc := l.Header().Get("Location"); code == http.StatusCreated && loc != "" {
		if u, err := url.Parse(loc); err == nil {
			l.fs.mu.Lock()
			l.fs.names[u.Path] = l.name
			l.fs.mu.Unlock()
		}
	}
	l.ResponseWriter.WriteHeader(code)
}

func newFakeServer(t *testing.T) *fakeServer {
	composer := handler.NewStoreComposer()
	filestore.New(t.TempDir()).UseIn(composer)
	memorylocker.New().UseIn(composer)
	h, err := handler.NewHandler(handler.Config{BasePath: "/files/", StoreComposer: composer,
		Logger: expslog.New(expslog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	fs := &fakeServer{mux: mux, names: map[string]string{}}
	mux.Handle("/files/", http.StripPrefix("/files/", h))
	mux.HandleFunc("/upload/ram-status", func(w http.ResponseWriter, r *http.Request) {
		n := fs.statuses.Add(1)
		fmt.Fprintf(w, `{"ram_used_mb": %d.0, "limiter_in_use": 1, "limiter_waiting": 0, "active_uploads": 2}`, 10+n%5)
	})
	fs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			meta, _ := tusclient.DecodeMetadata(r.Header.Get("Upload-Metadata"))
			w = &locationWriter{ResponseWriter: w, fs: fs, name: meta["filename"]}
		}
		if fs.fault != nil && fs.fault(w, r) {
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(fs.Close)
	return fs
}

func (fs *fakeServer) config(t *testing.T, p Plan) Config {
	tg := Target{Endpoint: fs.URL + "/files/", Home: map[string]string{}, Guest: map[string]string{}}
	for _, a := range p.Mix.Accounts {
		tg.Home[a] = "home-" + a
	}
	for _, s := range p.Mix.Shares {
		tg.Guest[s.String()] = "guest-" + s.String()
	}
	return Config{Plan: p, Target: tg, StatusURL: fs.URL + "/upload/ram-status", StatusEvery: 20 * time.Millisecond,
		PID: os.Getpid(), Logf: t.Logf, ProgressEvery: time.Second,
		backoff: func(int) time.Duration { return 10 * time.Millisecond }}
}

func run(t *testing.T, cfg Config) *Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// A clean run against tusd: every file done, the counts as planned.
func TestRunInProcess(t *testing.T) {
	p, err := NewPlan(7, tinyMix)
	if err != nil {
		t.Fatal(err)
	}
	fs := newFakeServer(t)
	var (
		mu      sync.Mutex
		methods = map[string]int{}
		auth    = map[string]bool{}
	)
	fs.fault = func(w http.ResponseWriter, r *http.Request) bool {
		mu.Lock()
		methods[r.Method]++
		auth[r.Header.Get("Authorization")] = true
		mu.Unlock()
		return false
	}
	res := run(t, fs.config(t, p))
	tot := p.Totals()
	if res.Failed() {
		t.Fatalf("failures %v, pending %v, status %d failed (%s)", res.Failures, res.Pending, res.Status.Failed, res.Status.FirstError)
	}
	if res.Done != tot.Files || res.Verified != tot.Verified || res.Terminated != tot.TerminatedMid+tot.TerminatedDone ||
		res.Reverified != tot.Kept || res.Deleted != tot.Verified-tot.Kept {
		t.Errorf("done %d, verified %d, terminated %d, reverified %d, deleted %d; plan %+v",
			res.Done, res.Verified, res.Terminated, res.Reverified, res.Deleted, tot)
	}
	if res.Cuts != tot.Cuts-cutsPastTermination(p) || res.Resumes < res.Cuts || res.Retries != 0 {
		t.Errorf("cuts %d (plan %d), resumes %d, retries %d (%v)", res.Cuts, tot.Cuts, res.Resumes, res.Retries, res.RetryErrors)
	}
	if res.Sent < res.Bytes || res.Patches < tot.Files-tot.ByKind[Empty].Files {
		t.Errorf("sent %d for %d stored, %d PATCHes", res.Sent, res.Bytes, res.Patches)
	}
	if len(res.Status.Samples) == 0 || res.RAM().Peak < 10 || res.Server.CPU < 0 {
		t.Errorf("%d status samples, RAM %+v", len(res.Status.Samples), res.RAM())
	}
	for _, m := range []string{http.MethodPost, http.MethodPatch, http.MethodHead, http.MethodGet, http.MethodDelete} {
		if methods[m] == 0 {
			t.Errorf("no %s", m)
		}
	}
	for _, want := range []string{"Bearer home-ana", "Bearer guest-ana/wedding", "Bearer guest-ben/team-offsite"} {
		if !auth[want] {
			t.Errorf("no request with %q", want)
		}
	}
	table := res.Table(p, Meta{Command: "go test", LoadStart: "1 2 3", LoadEnd: "4 5 6"})
	for _, want := range []string{"| **failures** | **0** |", "**peak RSS**", "seed", "go test"} {
		if !strings.Contains(strings.ToLower(table), strings.ToLower(want)) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	t.Log("\n" + table + "\n" + res.Comparison())
}

// cutsPastTermination counts the planned cuts a client never reaches:
// at or past the offset its file is terminated at.
func cutsPastTermination(p Plan) int {
	n := 0
	for _, f := range p.Files {
		for _, c := range f.Cuts {
			if f.Term == TerminatesMid && c >= f.TerminateAt {
				n++
			}
		}
	}
	return n
}

// A 503 or a download cut short is retried and counted; a byte changed
// in a download, a 500 and an offset short of the bytes sent are
// failures, each of its file.
func TestRunFaults(t *testing.T) {
	p, err := NewPlan(8, tinyMix)
	if err != nil {
		t.Fatal(err)
	}
	// Five files that are neither cut nor terminated, of more than 100
	// bytes, one of them a guest's.
	var plain []*File
	guest := -1
	for i := range p.Files {
		f := &p.Files[i]
		if len(f.Cuts) == 0 && f.Term == NotTerminated && f.Data.Size > 100 {
			if f.Share != nil && guest < 0 {
				guest = len(plain)
			}
			plain = append(plain, f)
		}
	}
	if len(plain) < 6 || guest < 0 {
		t.Fatalf("seed 8 has %d plain files (guest %d)", len(plain), guest)
	}
	plain[0], plain[guest] = plain[guest], plain[0]
	fail500, busy, lose, short, flip := plain[0].Name, plain[1].Name, plain[2].Name, plain[3].Name, plain[4].Name
	// A plain file's PATCH interrupted (400 ERR_UPLOAD_INTERRUPTED) with
	// no request of its own broken before: a failure. A cut file's
	// second PATCH, the one after its first cut, interrupted: the late
	// cut request's doing, resumed.
	stray := plain[5].Name
	var cut string
	for i := range p.Files {
		if f := &p.Files[i]; len(f.Cuts) > 0 && f.Term == NotTerminated && !f.Whole {
			cut = f.Name
			break
		}
	}
	if cut == "" {
		t.Fatal("seed 8 has no cut file sent in several PATCHes")
	}
	var cutPatches atomic.Int64
	interrupt := func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		http.Error(w, "ERR_UPLOAD_INTERRUPTED: upload has been interrupted by another request for this upload resource", http.StatusBadRequest)
	}

	fs := newFakeServer(t)
	var mu sync.Mutex
	fired := map[string]bool{}
	once := func(name string) bool { // whether name's fault fires now
		mu.Lock()
		defer mu.Unlock()
		if fired[name] {
			return false
		}
		fired[name] = true
		return true
	}
	fs.fault = func(w http.ResponseWriter, r *http.Request) bool {
		name := fs.name(r)
		if r.Method == http.MethodPatch && (name == stray && once(name) || name == cut && cutPatches.Add(1) == 2) {
			interrupt(w, r)
			return true
		}
		if r.Method == http.MethodPatch && (name == fail500 || name == busy || name == lose) && once(name) {
			io.Copy(io.Discard, r.Body) // the body arrives whole (the file is not cut)
			switch name {
			case fail500:
				http.Error(w, "ERR_INTERNAL", http.StatusInternalServerError)
			case busy:
				http.Error(w, "ERR_SERVER_SHUTDOWN", http.StatusServiceUnavailable)
			case lose:
				w.Header().Set("Upload-Offset", r.Header.Get("Upload-Offset")) // stored none of it
				w.Header().Set("Tus-Resumable", "1.0.0")
				w.WriteHeader(http.StatusNoContent)
			}
			return true
		}
		if r.Method == http.MethodGet && (name == short || name == flip) && once(name) {
			if name == short {
				fs.mux.ServeHTTP(&cutWriter{ResponseWriter: w, left: 100}, r)
			} else {
				fs.mux.ServeHTTP(&flipWriter{ResponseWriter: w}, r)
			}
			return true
		}
		return false
	}
	cfg := fs.config(t, p)
	cfg.MaxFailures = 100
	res := run(t, cfg)
	if retries := fmt.Sprint(res.RetryErrors); res.Retries != 2 || !strings.Contains(retries, "503") || !strings.Contains(retries, "after 100 of") {
		t.Errorf("%d retries (%v), want the 503 and the short download", res.Retries, res.RetryErrors)
	}
	if res.Interrupted != 1 {
		t.Errorf("%d interrupted PATCHes resumed, want 1 (the cut file's)", res.Interrupted)
	}
	want := map[string]string{fail500: "status 500", lose: "server reports offset", flip: "SHA-256 differs", stray: "ERR_UPLOAD_INTERRUPTED"}
	if len(res.Failures) != len(want) || !res.Failed() || res.Done != len(p.Files)-len(want) {
		t.Fatalf("failures %+v, want %d; %d done", res.Failures, len(want), res.Done)
	}
	for _, f := range res.Failures {
		if w, ok := want[f.Name]; !ok || !strings.Contains(f.Error, w) {
			t.Errorf("failure %+v: want %q", f, w)
		}
	}
}

// flipWriter changes the first byte of a 200's body (a download that is
// not what was uploaded).
type flipWriter struct {
	http.ResponseWriter
	status int
	done   bool
}

func (f *flipWriter) WriteHeader(code int) {
	f.status = code
	f.ResponseWriter.WriteHeader(code)
}

func (f *flipWriter) Write(p []byte) (int, error) {
	if (f.status == 0 || f.status == http.StatusOK) && len(p) > 0 && !f.done {
		f.done = true
		q := append([]byte(nil), p...)
		q[0] ^= 0xff
		return f.ResponseWriter.Write(q)
	}
	return f.ResponseWriter.Write(p)
}

// cutWriter ends the connection of a 200 after left bytes of its body.
type cutWriter struct {
	http.ResponseWriter
	status int
	left   int
}

func (c *cutWriter) WriteHeader(code int) {
	c.status = code
	c.ResponseWriter.WriteHeader(code)
}

func (c *cutWriter) Write(p []byte) (int, error) {
	if (c.status == 0 || c.status == http.StatusOK) && len(p) > c.left {
		c.ResponseWriter.Write(p[:c.left])
		c.ResponseWriter.(http.Flusher).Flush() // the headers and those bytes reach the client
		panic(http.ErrAbortHandler)
	}
	c.left -= len(p)
	return c.ResponseWriter.Write(p)
}

// A server that never stops failing: the retries end, and so does the run.
func TestRunGivesUp(t *testing.T) {
	p, err := NewPlan(9, tinyMix)
	if err != nil {
		t.Fatal(err)
	}
	fs := newFakeServer(t)
	fs.fault = func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodPost {
			http.Error(w, "ERR_LOCK_UNAVAILABLE", http.StatusServiceUnavailable)
			return true
		}
		return false
	}
	cfg := fs.config(t, p)
	cfg.MaxFailures = 2
	cfg.Clients = 2
	res := run(t, cfg)
	if len(res.Failures) < 2 || len(res.Pending) == 0 || !strings.Contains(res.Failures[0].Error, "still failing after 5 retries") {
		t.Errorf("failures %v, %d pending", res.Failures, len(res.Pending))
	}
}
