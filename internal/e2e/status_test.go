package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// procRSS reads VmRSS of process pid in MiB.
func procRSS(t *testing.T, pid int) float64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.Fields(rest)[0], 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb / 1024
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// statusGet GETs a side route of s with the bearer token tok ("" none).
func statusGet(t *testing.T, s *server, path, tok string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+s.Addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// GET /upload/ram-status during an upload reports real readings: RSS
// close to /proc's, free = limit − used, the limiter within its slots and
// the upload active; -status-token-file guards it and /metrics.
func TestRAMStatusDuringUpload(t *testing.T) {
	ctx := testCtx(t, 60*time.Second)
	dir := t.TempDir()
	tokFile := filepath.Join(t.TempDir(), "status.token")
	const tok = "status-0123456789abcdef"
	if err := os.WriteFile(tokFile, []byte(tok+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, dir, "-status-token-file", tokFile, "-ram-limit-mb", "512")
	for _, path := range []string{"/upload/ram-status", "/metrics"} {
		if status, _ := statusGet(t, s, path, ""); status != http.StatusUnauthorized {
			t.Fatalf("%s without the token: %d, want 401", path, status)
		}
		if status, _ := statusGet(t, s, path, "wrong-"+tok); status != http.StatusUnauthorized {
			t.Fatalf("%s with a wrong token: %d, want 401", path, status)
		}
	}
	if status, _ := statusGet(t, s, "/healthz", ""); status != http.StatusOK {
		t.Fatalf("healthz: %d", status)
	}

	c := newClient()
	data := randomBytes(6301, 12<<20)
	u, err := c.Create(ctx, s.Endpoint, int64(len(data)), nil)
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	feed := feedSlowly(pw, data, 256<<10, 20*time.Millisecond)
	defer feed.Stop()
	res := asyncPatch(ctx, c, u, 0, pr, int64(len(data)))
	feed.waitWritten(6<<20, 20*time.Second)

	var st struct {
		Used     float64  `json:"ram_used_mb"`
		Limit    float64  `json:"ram_limit_mb"`
		Free     float64  `json:"ram_free_mb"`
		Heap     float64  `json:"go_heap_mb"`
		MemLimit *float64 `json:"go_memlimit_mb"`
		Spool    float64  `json:"spool_disk_mb"`
		Slots    int      `json:"limiter_slots"`
		InUse    int      `json:"limiter_in_use"`
		Waiting  int      `json:"limiter_waiting"`
		Active   int      `json:"active_uploads"`
		Uptime   float64  `json:"uptime_s"`
	}
	status, body := statusGet(t, s, "/upload/ram-status", tok)
	rss := procRSS(t, s.cmd.Process.Pid)
	if status != http.StatusOK {
		t.Fatalf("ram-status: %d %s", status, body)
	}
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatalf("ram-status %s: %v", body, err)
	}
	switch {
	case st.Used <= 0 || math.Abs(st.Used-rss) > 0.3*rss:
		t.Errorf("ram_used_mb %.1f, /proc says %.1f MiB", st.Used, rss)
	case st.Limit != 512 || math.Abs(st.Free-(st.Limit-st.Used)) > 0.11:
		t.Errorf("limit %.1f, free %.1f, used %.1f", st.Limit, st.Free, st.Used)
	case st.MemLimit == nil || math.Abs(*st.MemLimit-0.8*512) > 0.11:
		t.Errorf("go_memlimit_mb %v, want 80%% of 512", st.MemLimit)
	case st.Slots != 4 || st.InUse < 0 || st.InUse > st.Slots || st.Waiting < 0:
		t.Errorf("limiter %d/%d, %d waiting", st.InUse, st.Slots, st.Waiting)
	case st.Active != 1 || st.Heap <= 0 || st.Uptime <= 0 || st.Spool < 0 || st.Spool > 10:
		t.Errorf("active %d, heap %.1f, uptime %.1f, spool %.1f", st.Active, st.Heap, st.Uptime, st.Spool)
	}
	if r := <-res; r.err != nil {
		t.Fatal(r.err)
	}
	status, body = statusGet(t, s, "/metrics", tok)
	if status != http.StatusOK || !strings.Contains(string(body), "tusvault_part_bytes_total 1.2582912e+07") ||
		!strings.Contains(string(body), `tusvault_uploads_finished_total{route="public"} 1`) ||
		!strings.Contains(string(body), "tusd_bytes_received 1.2582912e+07") {
		t.Errorf("metrics after the upload: %d\n%s", status, body)
	}
}

// Each finished request phase is one log line with the upload id, the
// route, the bytes and the duration; no line after startup (whose links
// carry development tokens by design) holds the token or the file name.
func TestRequestPhasesLogged(t *testing.T) {
	ctx := testCtx(t, 60*time.Second)
	s := startServerAuth(t, t.TempDir())
	home := homeLinkLine.FindStringSubmatch(s.out.String())
	if home == nil {
		t.Fatal("no home link")
	}
	tok := home[2]
	c := withToken(tok)
	const name = "holiday-secret-name.jpg"
	data := randomBytes(6401, 6<<20)
	u, err := c.Create(ctx, s.Endpoint, int64(len(data)), map[string]string{"filename": name})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Upload(ctx, u, data, []int{1 << 20}); err != nil {
		t.Fatal(err)
	}
	checkGetFull(t, c, ctx, u, data)
	id := uploadID(t, u)

	phase := func(msg string) *regexp.Regexp {
		return regexp.MustCompile(`(msg|event)="` + msg + `" id=` + regexp.QuoteMeta(id) + ` route=home .*(bytes|size)=\d+.* duration=\d`)
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, msg := range []string{"patch stored", "upload assembled", "download served"} {
		for !phase(msg).MatchString(s.out.String()) {
			if time.Now().After(deadline) {
				t.Fatalf("no %q line with id, route, bytes and duration for %s", msg, id)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	_, after, _ := strings.Cut(s.out.String(), "You can now upload files to")
	for _, part := range append(strings.Split(tok, "."), name) {
		if len(part) >= 8 && strings.Contains(after, part) {
			t.Errorf("the server's log holds %q (token or file name)", part)
		}
	}
}
