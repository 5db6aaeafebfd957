package browser

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tusvault/tusvault/internal/s3server"
	"github.com/tusvault/tusvault/internal/testenv"
)

const (
	partSize     = 5 << 20 // -part-size of every test server
	startTimeout = 20 * time.Second
	stopTimeout  = 10 * time.Second
	nodeTimeout  = 2 * time.Minute // one scenario script, Chromium included
	outputLimit  = 4 << 20         // server output kept (log lines are read back)
)

var (
	binPath string // the tusvault binary built by TestMain
	repo    string // the repository root
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	root, err := testenv.RepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "browser:", err)
		return 1
	}
	repo = root
	tmp, err := os.MkdirTemp("", "tusvault-browser-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "browser:", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	binPath = filepath.Join(tmp, "tusvault")
	if err := testenv.BuildTusvault(binPath, nil); err != nil {
		fmt.Fprintln(os.Stderr, "browser:", err)
		return 1
	}
	return m.Run()
}

// tools are what the scenarios run with.
type tools struct {
	node, chromium string
}

// requireBrowser returns node and Chromium once they and web/node_modules
// are there. Without them the test fails in CI with the one command that
// fixes it, and is skipped elsewhere.
func requireBrowser(t *testing.T) tools {
	t.Helper()
	missing := func(msg string) {
		t.Helper()
		if testenv.InCI() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is missing: install it (Debian: apt-get install -y nodejs npm), then run npm ci --prefix web")
	}
	for _, pkg := range []string{"playwright-core", "@axe-core/playwright", "@uppy/core"} {
		if _, err := os.Stat(filepath.Join(repo, "web", "node_modules", pkg, "package.json")); err != nil {
			missing("web/node_modules is missing: run npm ci --prefix web (make test does)")
		}
	}
	chromium := os.Getenv("TUSVAULT_CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		missing(fmt.Sprintf("Chromium is missing at %s: install it with apt-get install -y chromium (make test does, as root), or set TUSVAULT_CHROMIUM", chromium))
	}
	return tools{node: node, chromium: chromium}
}

// ---- the server ----

var readyLine = regexp.MustCompile(`You can now upload files to: (http://[^\s"]+/files/)`)

// server is one tusvault process logging JSON lines.
type server struct {
	t        *testing.T
	Base     string // http://127.0.0.1:PORT, no trailing slash
	Addr     string // 127.0.0.1:PORT
	Endpoint string // Base + /files/
	secret   []byte // the HS256 key tokens are signed with

	cmd    *exec.Cmd
	out    *testenv.TailBuffer
	exited chan struct{}
	state  *os.ProcessState
}

// backend starts a tusvault on its storage.
type backend struct {
	name  string
	start func(t *testing.T) *server
}

var backends = []backend{
	{"disk", func(t *testing.T) *server {
		dir := filepath.Join(t.TempDir(), "data")
		return startServer(t, filepath.Join(dir, "auth.secret"), nil, "-upload-dir", dir)
	}},
	{"s3", func(t *testing.T) *server {
		s3 := s3server.Start(t)
		dir := t.TempDir()
		keyring := filepath.Join(dir, "keyring.json")
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		if out, err := exec.CommandContext(ctx, binPath, "keys", "init", "-keyring", keyring).CombinedOutput(); err != nil {
			t.Fatalf("tusvault keys init: %v\n%s", err, out)
		}
		secret := filepath.Join(dir, "auth.secret")
		if err := os.WriteFile(secret, []byte(hex.EncodeToString(randomBytes(32))+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		env := []string{"AWS_ACCESS_KEY_ID=" + s3.AccessKey, "AWS_SECRET_ACCESS_KEY=" + s3.SecretKey, "AWS_REGION=" + s3.Region}
		return startServer(t, secret, env, "-upload-dir", filepath.Join(dir, "data"),
			"-s3-bucket", s3.Bucket, "-s3-endpoint", s3.Endpoint, "-keyring", keyring, "-auth-secret-file", secret)
	}},
}

// startServer starts tusvault on a free loopback port and waits for its
// upload URL line; secretPath is the token secret it uses (read once it
// is ready: on the disk it creates the file itself).
func startServer(t *testing.T, secretPath string, env []string, extra ...string) *server {
	t.Helper()
	args := append([]string{"-host", "127.0.0.1", "-port", "0", "-part-size", fmt.Sprint(partSize), "-log-format", "json"}, extra...)
	s := &server{t: t, out: &testenv.TailBuffer{Max: outputLimit}, exited: make(chan struct{})}
	s.cmd = exec.Command(binPath, args...)
	s.cmd.Env = append(os.Environ(), env...)
	s.cmd.Stdout = s.out
	s.cmd.Stderr = s.out
	s.cmd.WaitDelay = 5 * time.Second
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("starting tusvault: %v", err)
	}
	go func() {
		s.cmd.Wait()
		s.state = s.cmd.ProcessState
		close(s.exited)
	}()
	t.Cleanup(func() {
		testenv.StopProcess(s.cmd.Process, s.exited, stopTimeout)
		if t.Failed() {
			t.Logf("tusvault %s output (exit: %v):\n%s", strings.Join(args, " "), s.state, s.out.String())
		}
	})
	deadline := time.Now().Add(startTimeout)
	for {
		if m := readyLine.FindStringSubmatch(s.out.String()); m != nil {
			s.Endpoint = m[1]
			break
		}
		select {
		case <-s.exited:
			t.Fatalf("tusvault %s exited before it was ready (%v); output:\n%s", strings.Join(args, " "), s.state, s.out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("tusvault %s not ready after %v; output:\n%s", strings.Join(args, " "), startTimeout, s.out.String())
		}
	}
	u, err := url.Parse(s.Endpoint)
	if err != nil || u.Hostname() != "127.0.0.1" {
		t.Fatalf("tusvault announced %q", s.Endpoint)
	}
	s.Addr = u.Host
	s.Base = "http://" + u.Host
	b, err := os.ReadFile(secretPath)
	if err != nil {
		t.Fatal(err)
	}
	s.secret = bytes.TrimSpace(b)
	return s
}

// mint signs claims (iat added) as the host application would.
func (s *server) mint(claims jwt.MapClaims) string {
	s.t.Helper()
	if _, ok := claims["iat"]; !ok {
		claims["iat"] = time.Now().Unix()
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(s.secret)
	if err != nil {
		s.t.Fatal(err)
	}
	return tok
}

// home is a home token for sub, valid for an hour.
func (s *server) home(sub string) string {
	return s.mint(jwt.MapClaims{"sub": sub, "exp": time.Now().Add(time.Hour).Unix()})
}

// patch is one "patch stored" log line of the server.
type patch struct {
	ID     string `json:"id"`
	Offset int64  `json:"offset"`
	Bytes  int64  `json:"bytes"`
	OK     bool   `json:"ok"`
}

// patches returns the PATCHes the server logged for the upload id, in
// order.
func (s *server) patches(id string) []patch {
	var out []patch
	sc := bufio.NewScanner(strings.NewReader(s.out.String()))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var line struct {
			Msg string `json:"msg"`
			patch
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "patch stored" && line.ID == id {
			out = append(out, line.patch)
		}
	}
	return out
}

// checkPatches checks that the upload id of size bytes was sent in at
// least minPatches PATCHes, the first from 0 and each of the others
// where the one before ended (never from 0 again), and that they add up
// to the whole file.
func (s *server) checkPatches(t *testing.T, id string, size int64, minPatches int) []patch {
	t.Helper()
	ps := s.patches(id)
	if len(ps) < minPatches {
		t.Fatalf("%d PATCHes logged for %s, want at least %d: %+v", len(ps), id, minPatches, ps)
	}
	var end int64
	for i, p := range ps {
		if p.Offset != end || (i > 0 && p.Offset == 0) {
			t.Errorf("PATCH %d of %s starts at %d, want %d (where the one before ended): %+v", i, id, p.Offset, end, ps)
		}
		end = p.Offset + p.Bytes
	}
	if end != size {
		t.Errorf("the PATCHes of %s end at %d, want %d: %+v", id, end, size, ps)
	}
	return ps
}

// idOf is the upload id of a tus upload URL (its path after /files/).
func idOf(t *testing.T, uploadURL string) string {
	t.Helper()
	u, err := url.Parse(uploadURL)
	if err != nil {
		t.Fatalf("upload URL %q: %v", uploadURL, err)
	}
	_, id, ok := strings.Cut(u.Path, "/files/")
	if !ok || id == "" {
		t.Fatalf("upload URL %q is not under /files/", uploadURL)
	}
	return id
}

// get fetches path on the server directly (not through the proxy), with
// the token when one is given.
func (s *server) get(t *testing.T, path, token string) (int, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.Base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode, b
}

// listed is one upload of GET /api/uploads.
type listed struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Route    string `json:"route"`
	Share    string `json:"share"`
	Offset   int64  `json:"offset"`
	Finished bool   `json:"finished"`
	Download string `json:"download"`
}

func (s *server) uploads(t *testing.T, token string) []listed {
	t.Helper()
	status, body := s.get(t, "/api/uploads?limit=200", token)
	var page struct{ Uploads []listed }
	if status != http.StatusOK || json.Unmarshal(body, &page) != nil {
		t.Fatalf("GET /api/uploads: %d %s", status, body)
	}
	return page.Uploads
}

// ---- the scenario scripts ----

// event is one line a scenario prints.
type event struct {
	Event    string `json:"event"`
	Message  string `json:"message"`
	URL      string `json:"url"`
	Download string `json:"download"`
	State    string `json:"state"`
	Name     string `json:"name"`
	File     string `json:"file"`
	Minor    []string
}

// artifactsDir is where a backend's screenshots go.
func artifactsDir(backend string) string {
	dir := os.Getenv("TUSVAULT_BROWSER_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(repo, "web", "test", "artifacts")
	}
	return filepath.Join(dir, backend)
}

// runScenario runs `node test/SCRIPT CONFIG` in web/ and returns its
// events; onEvent sees each as it comes. It fails the test when the
// script reports a failure, exits non-zero or outlasts nodeTimeout.
func runScenario(t *testing.T, tl tools, script string, cfg map[string]any, onEvent func(event)) []event {
	t.Helper()
	cfg["profile"] = t.TempDir() // a fresh Chromium --user-data-dir
	cfg["chromium"] = tl.chromium
	cfg["timeoutMs"] = nodeTimeout.Milliseconds()
	arg, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), nodeTimeout+15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, tl.node, filepath.Join("test", script), string(arg))
	cmd.Dir = filepath.Join(repo, "web")
	cmd.Env = append(os.Environ(), "TMPDIR="+t.TempDir())
	stderr := &testenv.TailBuffer{Max: outputLimit}
	cmd.Stderr = stderr
	cmd.WaitDelay = 5 * time.Second
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) } // Chromium too
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting node: %v", err)
	}
	var events []event
	var lines strings.Builder
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		lines.Write(sc.Bytes())
		lines.WriteByte('\n')
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			e = event{Event: "unparsed", Message: sc.Text()}
		}
		events = append(events, e)
		if onEvent != nil {
			onEvent(e)
		}
	}
	err = cmd.Wait()
	// Chromium's helpers, should any outlive the script.
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	var failure string
	for _, e := range events {
		if e.Event == "failure" {
			failure = e.Message
		}
	}
	if failure != "" || err != nil || len(events) == 0 || events[len(events)-1].Event != "result" {
		t.Fatalf("%s: %s (exit: %v)\nstdout:\n%s\nstderr:\n%s", script, failure, err, lines.String(), stderr.String())
	}
	for _, e := range events {
		switch e.Event {
		case "audit":
			if len(e.Minor) > 0 {
				t.Logf("%s: axe, %q: minor: %v", script, e.State, e.Minor)
			}
		case "screenshot":
			t.Logf("%s: screenshot %s", script, e.File)
		}
	}
	return events
}

// find returns the first event named name.
func find(t *testing.T, events []event, name string) event {
	t.Helper()
	for _, e := range events {
		if e.Event == name {
			return e
		}
	}
	t.Fatalf("no %q event in %+v", name, events)
	return event{}
}

// ---- files ----

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// writeFile writes data to dir/name and returns the path.
func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
