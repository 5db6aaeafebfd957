package promtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/tusvault/tusvault/internal/backendtest"
	"github.com/tusvault/tusvault/internal/testenv"
	"github.com/tusvault/tusvault/internal/tusclient"
)

const (
	uploadSize   = 12 << 20         // bytes of each upload: 3 parts of 5 MiB (the last 2 MiB)
	uploadRate   = 4 << 20          // bytes per second each client sends: a PATCH spans 3 scrapes
	dataTimeout  = 30 * time.Second // for the panels' data once the uploads are done
	pollInterval = time.Second
)

// Range the tests give $__rate_interval: Grafana's minimum, 4 scrape
// intervals, for range queries stepping by the scrape interval; a minute
// for instant ones.
const (
	rangeRateInterval   = "4s"
	instantRateInterval = "1m"
)

// panelsWithData are the panels that must show data after the uploads,
// by title; each of their queries must return a series with a number.
var panelsWithData = []string{
	"Upload throughput",
	"Active uploads by route",
	"RAM used vs limit",
	"Limiter saturation",
	"Parts waiting for a limiter slot",
	"Limiter wait p95",
	"Part upload latency",
}

// Every expression of the dashboard, and every variable query's selector,
// is accepted by Prometheus, as an instant and as a range query, with the
// variables at Grafana's All. Needs no metrics: it checks the PromQL.
func TestDashboardQueriesParse(t *testing.T) {
	d := loadDashboard(t)
	a := startPrometheus(t, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	end := time.Now()
	start := end.Add(-5 * time.Minute)

	// The harness sees a refusal: what it reports below is Prometheus's.
	var ae *apiError
	if _, err := a.query(ctx, `sum(rate(up[$__rate_interval]))`, end); !errors.As(err, &ae) || ae.Type != "bad_data" {
		t.Fatalf("an uninterpolated query: %v, want a bad_data refusal", err)
	}

	vars := map[string]string{}
	for _, v := range d.Variables {
		switch v.Type {
		case "datasource":
			vars[v.Name] = "prometheus"
		case "query":
			if _, err := variableValues(ctx, a, v, vars, start, end); err != nil {
				t.Errorf("variable %s: %v", v.Name, err)
			}
			vars[v.Name] = ".+" // All
		default:
			t.Errorf("variable %s of type %s: the test knows datasource and query variables only", v.Name, v.Type)
		}
	}
	for _, q := range d.Queries {
		if _, err := evalInstant(ctx, a, q, vars, start, end); err != nil {
			t.Errorf("%v: %v", q, err)
		}
		if _, err := evalRange(ctx, a, q, vars, start, end); err != nil {
			t.Errorf("%v: %v", q, err)
		}
	}
	t.Logf("%d queries and %d variables accepted by Prometheus", len(d.Queries), len(d.Variables))
}

// Prometheus scrapes a real tusvault every second while clients upload on
// the home and the guest route; then the variables list the instance and
// the throughput, active uploads, RAM, limiter and part latency panels
// show data, every query being accepted.
func TestDashboardAgainstTusvault(t *testing.T) {
	d := loadDashboard(t)
	for _, title := range panelsWithData {
		if len(d.titled(title)) == 0 {
			t.Fatalf("%s has no panel titled %q: update panelsWithData", dashboardFile, title)
		}
	}
	prometheusBinary(t) // skip before starting anything
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	s := startTusvault(t, t.TempDir())
	checkMetricsEndpoint(t, ctx, s)
	a := startPrometheus(t, []string{s.Addr})
	awaitUp(t, ctx, a)

	start := time.Now()
	runUploads(t, ctx, s)
	done := time.Now()
	t.Logf("uploads took %v", done.Sub(start).Round(time.Millisecond))
	start = start.Add(-2 * scrapeInterval)

	// The variables, filled in as a user selecting this instance would.
	vars := map[string]string{}
	want := map[string]string{"job": jobName, "instance": s.Addr}
	for _, v := range d.Variables {
		switch v.Type {
		case "datasource":
			vars[v.Name] = "prometheus"
		case "query":
			vals, err := variableValues(ctx, a, v, vars, start, time.Now())
			if err != nil {
				t.Fatalf("variable %s: %v", v.Name, err)
			}
			w, ok := want[v.Name]
			if !ok {
				t.Fatalf("variable %s: the test knows job and instance only", v.Name)
			}
			if !contains(vals, w) {
				t.Errorf("variable %s lists %q, want %q among them", v.Name, vals, w)
			}
			vars[v.Name] = regexValue(w)
		default:
			t.Fatalf("variable %s of type %s: the test knows datasource and query variables only", v.Name, v.Type)
		}
	}

	// Wait for every panel of panelsWithData to show data.
	var problems []string
	deadline := time.Now().Add(dataTimeout)
	for {
		problems = dataProblems(ctx, a, d, vars, start, time.Now())
		if len(problems) == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(pollInterval)
	}
	for _, p := range problems {
		t.Error(p)
	}

	// Every query is accepted; those without data are listed.
	end := time.Now()
	var empty []string
	for _, q := range d.Queries {
		if _, err := evalInstant(ctx, a, q, vars, start, end); err != nil {
			t.Errorf("%v: %v", q, err)
		}
		rs, err := evalRange(ctx, a, q, vars, start, end)
		if err != nil {
			t.Errorf("%v: %v", q, err)
		} else if !anyNumber(rs) {
			empty = append(empty, q.String())
		}
	}
	if len(empty) > 0 {
		t.Logf("queries without data after the uploads (metrics that move only on other events, such as sweeps, tag failures or backend errors): %s", strings.Join(empty, ", "))
	}
}

// dataProblems evaluates the queries of panelsWithData from start to end
// and says what is missing: a query without a series with a number;
// throughput that never rose above 0; a route without active uploads.
func dataProblems(ctx context.Context, a *api, d *dashboard, vars map[string]string, start, end time.Time) []string {
	var problems []string
	for _, title := range panelsWithData {
		for _, q := range d.titled(title) {
			rs, err := evalRange(ctx, a, q, vars, start, end)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%v: %v", q, err))
				continue
			}
			if !anyNumber(rs) {
				problems = append(problems, fmt.Sprintf("%v: no data for %s", q, q.Expr))
				continue
			}
			switch title {
			case "Upload throughput":
				if maxOf(rs) <= 0 {
					problems = append(problems, fmt.Sprintf("%v: throughput never above 0 during the uploads: %s", q, q.Expr))
				}
			case "Active uploads by route":
				for _, route := range []string{"home", "guest"} {
					if m := maxOf(withLabel(rs, "route", route)); !(m > 0) {
						problems = append(problems, fmt.Sprintf("%v: no active upload seen on route %s (max %v) during the uploads", q, route, m))
					}
				}
			}
		}
	}
	return problems
}

// ---- evaluation ----

func evalInstant(ctx context.Context, a *api, q panelQuery, vars map[string]string, start, end time.Time) ([]series, error) {
	expr, err := interpolate(q.Expr, withBuiltins(vars, instantRateInterval, end.Sub(start)))
	if err != nil {
		return nil, err
	}
	rs, err := a.query(ctx, expr, end)
	if err != nil {
		return nil, fmt.Errorf("instant query %s: %w", expr, err)
	}
	return rs, nil
}

func evalRange(ctx context.Context, a *api, q panelQuery, vars map[string]string, start, end time.Time) ([]series, error) {
	if q.Instant { // Grafana runs it once, at the end of the range
		return evalInstant(ctx, a, q, vars, start, end)
	}
	expr, err := interpolate(q.Expr, withBuiltins(vars, rangeRateInterval, end.Sub(start)))
	if err != nil {
		return nil, err
	}
	rs, err := a.queryRange(ctx, expr, start, end, scrapeInterval)
	if err != nil {
		return nil, fmt.Errorf("range query %s: %w", expr, err)
	}
	return rs, nil
}

// withBuiltins adds Grafana's global variables to vars: $__rate_interval,
// $__interval (the step) and $__range.
func withBuiltins(vars map[string]string, rateInterval string, rng time.Duration) map[string]string {
	out := map[string]string{
		"__rate_interval": rateInterval,
		"__interval":      fmt.Sprintf("%ds", int(scrapeInterval.Seconds())),
		"__range":         fmt.Sprintf("%ds", max(int(rng.Seconds()), 1)),
	}
	for k, v := range vars {
		out[k] = v
	}
	return out
}

// variableValues evaluates a label_values query variable, the variables
// before it filled in, and returns the values it lists.
func variableValues(ctx context.Context, a *api, v variable, vars map[string]string, start, end time.Time) ([]string, error) {
	selector, label, err := parseLabelValues(v.Query)
	if err != nil {
		return nil, err
	}
	if selector == "" {
		return a.labelValues(ctx, label, start, end)
	}
	selector, err = interpolate(selector, vars)
	if err != nil {
		return nil, err
	}
	sets, err := a.labelSets(ctx, selector, start, end)
	if err != nil {
		return nil, fmt.Errorf("series %s: %w", selector, err)
	}
	seen := map[string]bool{}
	var vals []string
	for _, s := range sets {
		if x, ok := s[label]; ok && !seen[x] {
			seen[x] = true
			vals = append(vals, x)
		}
	}
	sort.Strings(vals)
	return vals, nil
}

func anyNumber(rs []series) bool {
	for _, s := range rs {
		if s.hasNumber() {
			return true
		}
	}
	return false
}

// maxOf is the largest number in rs, or NaN.
func maxOf(rs []series) float64 {
	var m float64
	found := false
	for _, s := range rs {
		if x := s.max(); !math.IsNaN(x) && (!found || x > m) {
			m, found = x, true
		}
	}
	if !found {
		return math.NaN()
	}
	return m
}

func withLabel(rs []series, name, value string) []series {
	var out []series
	for _, s := range rs {
		if s.Metric[name] == value {
			out = append(out, s)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ---- tusvault side ----

// checkMetricsEndpoint fails the test at once when tusvault serves no
// Prometheus metrics at /metrics.
func checkMetricsEndpoint(t *testing.T, ctx context.Context, s *tusvault) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.Addr+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := newHTTPClient().Do(req)
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte("tusvault_")) {
		t.Fatalf("GET http://%s/metrics: status %d and no tusvault_ metrics in %d bytes: this tusvault exposes no metrics", s.Addr, resp.StatusCode, len(body))
	}
}

// awaitUp waits until Prometheus scraped the target successfully.
func awaitUp(t *testing.T, ctx context.Context, a *api) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		rs, err := a.query(ctx, `up{job="`+jobName+`"}`, time.Now())
		if err == nil && maxOf(rs) == 1 {
			return
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("Prometheus did not scrape tusvault successfully within 20s (up: %v, %v)", rs, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func newHTTPClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     30 * time.Second,
	}}
}

func withToken(tok string) *tusclient.Client {
	return &tusclient.Client{HTTP: newHTTPClient(), Header: http.Header{"Authorization": {"Bearer " + tok}}}
}

// runUploads uploads uploadSize bytes four times at once, twice on the
// home route and twice on the guest route, each client sending at
// uploadRate; then reads one back (decryption) and sends one POST without
// a token (an auth refusal).
func runUploads(t *testing.T, ctx context.Context, s *tusvault) {
	t.Helper()
	data := backendtest.RandomBytes(1, uploadSize)
	home, guest := withToken(s.HomeToken), withToken(s.GuestToken)
	clients := []struct {
		c     *tusclient.Client
		route string // the upload URL's path prefix after /files/
	}{{home, "home/dev/"}, {home, "home/dev/"}, {guest, "guest/dev/demo/"}, {guest, "guest/dev/demo/"}}
	urls := make([]string, len(clients))
	g, gctx := errgroup.WithContext(ctx)
	for i, cl := range clients {
		g.Go(func() error {
			u, err := cl.c.Create(gctx, s.Endpoint, uploadSize, map[string]string{"filename": fmt.Sprintf("promtest-%d.bin", i)})
			if err != nil {
				return fmt.Errorf("upload %d: %w", i, err)
			}
			if !strings.HasPrefix(u, s.Endpoint+cl.route) {
				return fmt.Errorf("upload %d at %s, want under %s%s", i, u, s.Endpoint, cl.route)
			}
			off, err := cl.c.Patch(gctx, u, 0, &pacedReader{data: data, rate: uploadRate}, uploadSize)
			if err != nil {
				return fmt.Errorf("upload %d: %w", i, err)
			}
			if off != uploadSize {
				return fmt.Errorf("upload %d: offset %d after the PATCH, want %d", i, off, uploadSize)
			}
			urls[i] = u
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	status, body, _, err := home.Get(ctx, urls[0], "")
	if err != nil || status != http.StatusOK || !bytes.Equal(body, data) {
		t.Fatalf("GET %s: status %d, %d bytes, %v; want 200 and the %d bytes uploaded", urls[0], status, len(body), err, len(data))
	}
	anon := &tusclient.Client{HTTP: newHTTPClient()}
	if _, err := anon.Create(ctx, s.Endpoint, 10, nil); tusclient.Status(err) != http.StatusUnauthorized {
		t.Fatalf("POST without a token: %v, want 401", err)
	}
}

// pacedReader reads data at about rate bytes per second: a slow client,
// so that each PATCH spans several scrapes. It sleeps before a read until
// the bytes before it are due; the whole takes len(data)/rate.
type pacedReader struct {
	data  []byte
	rate  int // bytes per second
	off   int
	start time.Time
}

func (r *pacedReader) Read(p []byte) (int, error) {
	if r.off == len(r.data) {
		return 0, io.EOF
	}
	if r.start.IsZero() {
		r.start = time.Now()
	}
	due := r.start.Add(time.Duration(float64(r.off) / float64(r.rate) * float64(time.Second)))
	if d := time.Until(due); d > 0 {
		time.Sleep(d)
	}
	n := copy(p[:min(len(p), 64<<10)], r.data[r.off:])
	r.off += n
	return n, nil
}

func TestPacedReader(t *testing.T) {
	data := backendtest.RandomBytes(2, 300<<10)
	start := time.Now()
	got, err := io.ReadAll(&pacedReader{data: data, rate: 1 << 20}) // ~0.3 s
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes, %v; want the %d bytes", len(got), err, len(data))
	}
	if el := time.Since(start); el < 200*time.Millisecond {
		t.Errorf("300 KiB at 1 MiB/s took %v, want about 0.3s", el)
	}
}

// ---- the shipped Prometheus config ----

// deploy/prometheus.yml passes promtool's check, as shipped and with its
// commented bearer-token block enabled.
func TestShippedPrometheusConfig(t *testing.T) {
	promtool := promtoolBinary(t)
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, "deploy", "prometheus.yml")
	shipped, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	check := func(what, file string) {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, promtool, "check", "config", file).CombinedOutput()
		if err != nil {
			t.Errorf("promtool check config (%s): %v\n%s", what, err, out)
		}
	}
	check("as shipped", path)

	dir := t.TempDir()
	token := filepath.Join(dir, "status.token")
	if err := os.WriteFile(token, []byte("secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	withAuth, err := enableAuthorization(string(shipped), token)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	f := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(f, []byte(withAuth), 0o600); err != nil {
		t.Fatal(err)
	}
	check("bearer token enabled", f)
}

// enableAuthorization uncomments the "# authorization:" block of a
// Prometheus config (the lines after it commented at the same
// indentation) and points its credentials_file at tokenFile.
func enableAuthorization(config, tokenFile string) (string, error) {
	lines := strings.Split(config, "\n")
	found, indent := false, ""
	for i, l := range lines {
		trimmed := strings.TrimLeft(l, " ")
		lead := l[:len(l)-len(trimmed)]
		switch {
		case !found && trimmed == "# authorization:":
			found, indent = true, lead
			lines[i] = lead + "authorization:"
		case found && indent != "" && lead == indent && strings.HasPrefix(trimmed, "#   "):
			body := strings.TrimPrefix(trimmed, "# ")
			if k, _, ok := strings.Cut(strings.TrimSpace(body), ":"); ok && k == "credentials_file" {
				body = "  credentials_file: " + tokenFile
			}
			lines[i] = lead + body
		case found:
			indent = "" // the block ended
		}
	}
	if !found {
		return "", errors.New("no commented authorization: block")
	}
	return strings.Join(lines, "\n"), nil
}

func TestEnableAuthorization(t *testing.T) {
	in := "scrape_configs:\n  - job_name: x\n    # A comment.\n    # authorization:\n    #   type: Bearer\n    #   credentials_file: /etc/x.token\n  - job_name: y\n"
	want := "scrape_configs:\n  - job_name: x\n    # A comment.\n    authorization:\n      type: Bearer\n      credentials_file: /tmp/t\n  - job_name: y\n"
	got, err := enableAuthorization(in, "/tmp/t")
	if err != nil || got != want {
		t.Errorf("got %q, %v\nwant %q", got, err, want)
	}
	if _, err := enableAuthorization("scrape_configs: []\n", "/tmp/t"); err == nil {
		t.Error("a config without the block was accepted")
	}
}
