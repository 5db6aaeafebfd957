package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tusvault/tusvault/hooks"
	"github.com/tusvault/tusvault/internal/sysmem"
	"github.com/tusvault/tusvault/store"
	"github.com/tusvault/tusvault/store/crypt"
	"github.com/tusvault/tusvault/store/disk"
	"github.com/tusvault/tusvault/web"
)

// flaky fails every Head while down is set.
type flaky struct {
	store.Backend
	down atomic.Bool
}

func (f *flaky) Head(ctx context.Context, key string) (store.ObjectInfo, error) {
	if f.down.Load() {
		return store.ObjectInfo{}, errors.New("dial tcp: connection refused (bucket secret-bucket)")
	}
	return f.Backend.Head(ctx, key)
}

type env struct {
	srv     *httptest.Server
	backend *flaky
	store   *store.Store
}

func newEnv(t *testing.T, token string) *env {
	t.Helper()
	b, err := disk.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	kr, err := crypt.NewKeyring()
	if err != nil {
		t.Fatal(err)
	}
	fb := &flaky{Backend: b}
	st, err := store.New(store.Config{Backend: fb, Keyring: kr, SpoolDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	v, err := hooks.NewVerifier(hooks.AuthConfig{Secret: []byte(strings.Repeat("k", 32))})
	if err != nil {
		t.Fatal(err)
	}
	p, err := hooks.New(hooks.Config{Auth: v, Uploads: st})
	if err != nil {
		t.Fatal(err)
	}
	r, err := web.New(web.Config{
		Store: st, Policy: p, Limit: sysmem.Limit{Bytes: 512 << 20, Source: "test"},
		StatusToken: token, MetricsPath: "/metrics", PprofPath: "/debug/pprof/",
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	r.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &env{srv: srv, backend: fb, store: st}
}

func get(t *testing.T, url, auth string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestRAMStatus(t *testing.T) {
	e := newEnv(t, "")
	status, body := get(t, e.srv.URL+web.RAMStatusPath, "")
	if status != http.StatusOK {
		t.Fatalf("ram-status: %d %q", status, body)
	}
	var s map[string]any
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"ram_used_mb", "ram_limit_mb", "ram_free_mb", "go_heap_mb", "go_memlimit_mb",
		"spool_disk_mb", "tail_cache_disk_mb", "limiter_slots", "limiter_in_use", "limiter_waiting", "active_uploads", "uptime_s"} {
		if _, ok := s[k]; !ok {
			t.Errorf("ram-status lacks %s: %s", k, body)
		}
	}
	used, limit, free := s["ram_used_mb"].(float64), s["ram_limit_mb"].(float64), s["ram_free_mb"].(float64)
	if used <= 0 || limit != 512 || free < limit-used-0.11 || free > limit-used+0.11 || s["limiter_slots"].(float64) != 4 {
		t.Errorf("ram-status %s", body)
	}
}

// The status token guards the RAM status, the metrics and pprof, never
// health and readiness.
func TestStatusToken(t *testing.T) {
	const tok = "0123456789abcdef0123"
	e := newEnv(t, tok)
	for _, path := range []string{web.RAMStatusPath, "/metrics", "/debug/pprof/"} {
		for _, auth := range []string{"", "Bearer wrong-token-wrong-token", "Basic " + tok} {
			if status, body := get(t, e.srv.URL+path, auth); status != http.StatusUnauthorized || strings.Contains(body, tok) {
				t.Errorf("%s with %q: %d %q, want 401", path, auth, status, body)
			}
		}
		if status, _ := get(t, e.srv.URL+path, "Bearer "+tok); status != http.StatusOK {
			t.Errorf("%s with the token: %d", path, status)
		}
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if status, _ := get(t, e.srv.URL+path, ""); status != http.StatusOK {
			t.Errorf("%s without a token: %d", path, status)
		}
	}
}

// Named profiles are served under the pprof path (not the index page in
// their place), and an unknown name is 404.
func TestPprofProfiles(t *testing.T) {
	e := newEnv(t, "")
	for _, name := range []string{"heap?gc=1", "goroutine", "allocs"} {
		status, body := get(t, e.srv.URL+"/debug/pprof/"+name, "")
		if status != http.StatusOK || !strings.HasPrefix(body, "\x1f\x8b") {
			t.Errorf("%s: %d, %d bytes starting %q; want a gzipped profile", name, status, len(body), body[:min(len(body), 16)])
		}
	}
	if status, body := get(t, e.srv.URL+"/debug/pprof/", ""); status != http.StatusOK || !strings.Contains(body, "Types of profiles available") {
		t.Errorf("index: %d %q", status, body[:min(len(body), 80)])
	}
	if status, _ := get(t, e.srv.URL+"/debug/pprof/no-such-profile", ""); status != http.StatusNotFound {
		t.Errorf("unknown profile: %d, want 404", status)
	}
}

// /readyz follows the object store; its body names no backend detail.
func TestReadyz(t *testing.T) {
	e := newEnv(t, "")
	if status, body := get(t, e.srv.URL+"/readyz", ""); status != http.StatusOK || body != "ready\n" {
		t.Fatalf("readyz: %d %q", status, body)
	}
	e.backend.down.Store(true)
	status, body := get(t, e.srv.URL+"/readyz", "")
	if status != http.StatusServiceUnavailable || strings.Contains(body, "secret-bucket") {
		t.Fatalf("readyz with the store down: %d %q", status, body)
	}
	if status, _ := get(t, e.srv.URL+"/healthz", ""); status != http.StatusOK {
		t.Fatalf("healthz with the store down: %d", status)
	}
	e.backend.down.Store(false)
	if status, _ := get(t, e.srv.URL+"/readyz", ""); status != http.StatusOK {
		t.Fatalf("readyz after recovery: %d", status)
	}
}

// The metrics hold tusvault's series with their bounded labels.
func TestMetrics(t *testing.T) {
	e := newEnv(t, "")
	e.store.Ready(context.Background())
	status, body := get(t, e.srv.URL+"/metrics", "")
	if status != http.StatusOK {
		t.Fatalf("metrics: %d", status)
	}
	for _, want := range []string{
		"tusvault_limiter_slots 4", "tusvault_limiter_in_use 0", "tusvault_limiter_waiting 0",
		"tusvault_limiter_wait_seconds_bucket{le=\"0.001\"} 0", "tusvault_part_upload_seconds_count 0",
		"tusvault_part_bytes_total 0", "tusvault_encrypted_bytes_total 0", "tusvault_decrypted_bytes_total 0",
		`tusvault_backend_requests_total{op="head",outcome="not_found"} 1`,
		`tusvault_backend_request_seconds_count{op="head"} 1`,
		"tusvault_spool_bytes 0", "tusvault_tail_cache_bytes 0", "tusvault_tail_cache_files 0",
		"tusvault_tail_cache_hits_total 0", "tusvault_tail_cache_misses_total 0", "tusvault_tail_fetched_bytes_total 0",
		`tusvault_uploads_active{route="guest"} 0`,
		`tusvault_uploads_finished_total{route="home"} 0`, `tusvault_auth_refusals_total{reason="bad_signature"} 0`,
		"tusvault_tag_failures_total 0", "tusvault_sweep_removed_total 0", "tusvault_sweep_completed_total 0",
		"tusvault_ram_used_bytes ", `tusvault_ram_limit_bytes{source="test"} 5.36870912e+08`,
		"go_goroutines ", "process_resident_memory_bytes ", "tusd_connections_open ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
