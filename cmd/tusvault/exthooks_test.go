package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	tushooks "github.com/tus/tusd/v2/pkg/hooks"

	"github.com/tusvault/tusvault/hooks"
	"github.com/tusvault/tusvault/internal/tusclient"
)

func TestParseHookEvents(t *testing.T) {
	all := tushooks.AvailableHooks
	for in, want := range map[string][]tushooks.HookType{
		"":                         all,
		" ":                        all,
		defaultHookEvents:          {"pre-create", "post-create", "post-receive", "post-terminate", "post-finish"},
		"post-finish":              {"post-finish"},
		" pre-create , pre-finish": {"pre-create", "pre-finish"},
		"post-finish,post-finish":  {"post-finish"},
		"pre-terminate":            {"pre-terminate"},
	} {
		got, err := parseHookEvents(in)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("parseHookEvents(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"post-finish,", "bogus", "pre-create,post_finish", "POST-FINISH"} {
		if _, err := parseHookEvents(in); err == nil {
			t.Errorf("parseHookEvents(%q): accepted", in)
		}
	}
}

func TestHookFlagsRejected(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-hooks-enabled-events", "pre-create,bogus"}, `unknown hook event "bogus"`},
		{[]string{"-hooks-http", "http://127.0.0.1:1/", "-hooks-dir", "."}, "exclude each other"},
		{[]string{"-hooks-grpc", "127.0.0.1:1", "-hooks-plugin", "p"}, "exclude each other"},
		{[]string{"-hooks-http", "127.0.0.1:1/hook"}, "-hooks-http"},
		{[]string{"-hooks-http", "ftp://user:s3cr3t@host/"}, "-hooks-http"},
		{[]string{"-hooks-http-retry", "-1"}, "-hooks-http-retry"},
		{[]string{"-hooks-http-timeout", "0s"}, "-hooks-http-timeout"},
		{[]string{"-hooks-http-size-limit", "0"}, "-hooks-http-size-limit"},
		{[]string{"-hooks-grpc-backoff", "-1s"}, "-hooks-grpc-backoff"},
		{[]string{"-hooks-grpc-secure"}, "-hooks-grpc-server-tls-certificate"},
		{[]string{"-progress-hooks-interval", "0s"}, "-progress-hooks-interval"},
	} {
		_, err := parseConfig(tt.args, noEnv)
		if err == nil {
			t.Errorf("%q: accepted", tt.args)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, tt.want) || strings.Contains(msg, "\n") || strings.Contains(msg, "s3cr3t") {
			t.Errorf("%q: error %q, want one line naming %q", tt.args, msg, tt.want)
		}
	}
	c, err := parseConfig([]string{"-hooks-http", "https://hooks.example/tus", "-hooks-http-forward-headers", "X-A, Authorization",
		"-hooks-enabled-events", "post-finish", "-progress-hooks-interval", "250ms"}, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.events(), []tushooks.HookType{"post-finish"}) || c.ProgressHooksInterval != 250*time.Millisecond ||
		!slices.Equal(headerList(c.HooksHTTPForwardHeaders), []string{"X-A", "Authorization"}) {
		t.Errorf("config: %+v", c.hookFlags)
	}
}

func TestServeBadHookBackends(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	notExec := filepath.Join(dir, "plugin")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"-hooks-dir", filepath.Join(dir, "none")},
		{"-hooks-dir", notExec},
		{"-hooks-plugin", notExec},
		{"-hooks-plugin", filepath.Join(dir, "none")},
	} {
		argv := append([]string{"tusvault", "-host", "127.0.0.1", "-port", "0", "-upload-dir", t.TempDir()}, args...)
		err := run(context.Background(), argv, noEnv, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), args[0]) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: got %v, want one line naming %s", args, err, args[0])
		}
	}
}

// hookEvent is the part of tusd's hook request the test reads.
type hookEvent struct {
	Type  string
	Event struct {
		Upload struct {
			ID       string
			Size     int64
			Offset   int64
			MetaData map[string]string
			Storage  map[string]string
		}
	}
	raw    string
	header http.Header
}

// hookRecorder is an external HTTP hook endpoint on loopback that rejects
// uploads whose metadata says hook=reject.
type hookRecorder struct {
	mu     sync.Mutex
	events []hookEvent
	srv    *httptest.Server
}

func newHookRecorder(t *testing.T) *hookRecorder {
	h := &hookRecorder{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var ev hookEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Errorf("hook request: %v", err)
		}
		ev.raw, ev.header = string(raw), r.Header.Clone()
		h.mu.Lock()
		h.events = append(h.events, ev)
		h.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if ev.Type == "pre-create" && ev.Event.Upload.MetaData["hook"] == "reject" {
			io.WriteString(w, `{"RejectUpload": true}`)
			return
		}
		io.WriteString(w, `{}`)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// wait returns the events once one of type typ arrived (or after 10s).
func (h *hookRecorder) wait(t *testing.T, typ string) []hookEvent {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		h.mu.Lock()
		evs := slices.Clone(h.events)
		h.mu.Unlock()
		if slices.ContainsFunc(evs, func(e hookEvent) bool { return e.Type == typ }) || time.Now().After(deadline) {
			return evs
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// An external HTTP hook sees the routed pre-create event and the stored
// post-finish event, and may reject an upload; events not enabled are not
// sent.
func TestServeHTTPHooks(t *testing.T) {
	t.Parallel()
	rec := newHookRecorder(t)
	s := startServer(t, "-hooks-http", rec.srv.URL+"/tus", "-hooks-enabled-events", "pre-create, post-finish",
		"-hooks-http-forward-headers", "X-Trace", "-hooks-http-retry", "0")
	out := s.stdout.String()
	for _, want := range []string{"Using '" + rec.srv.URL + "/tus' as the endpoint for hooks", "Enabled hook events: pre-create, post-finish"} {
		if !strings.Contains(out, want) {
			t.Errorf("startup output lacks %q", want)
		}
	}
	secret, err := hooks.LoadSecretFile(filepath.Join(s.dir, "auth.secret"), hooks.SecretRaw)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c := tusclient.Client{Header: bearer(t, secret, hooks.Claims{Subject: "alice"})}
	c.Header.Set("X-Trace", "trace-1")

	if _, err := c.Create(ctx, s.url, 10, map[string]string{"hook": "reject"}); tusclient.Status(err) != http.StatusBadRequest {
		t.Errorf("rejected by the hook: %v, want 400", err)
	}
	u, err := c.Create(ctx, s.url, int64(len(testData)), map[string]string{"filename": "a.txt"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Upload(ctx, u, testData, []int{5}); err != nil {
		t.Fatal(err)
	}
	id := strings.TrimPrefix(u, s.url)
	evs := rec.wait(t, "post-finish")
	var types []string
	for _, e := range evs {
		types = append(types, e.Type)
	}
	if !slices.Equal(types, []string{"pre-create", "pre-create", "post-finish"}) {
		t.Fatalf("hook events %q, want pre-create (rejected), pre-create, post-finish", types)
	}
	pre, fin := evs[1], evs[2]
	if pre.Event.Upload.ID != id || !strings.HasPrefix(id, "home/alice/") || pre.Event.Upload.Storage["Route"] != "home" ||
		pre.Event.Upload.Storage["Owner"] != "alice" || pre.Event.Upload.MetaData["filename"] != "a.txt" {
		t.Errorf("pre-create event: %+v", pre.Event.Upload)
	}
	if pre.header.Get("X-Trace") != "trace-1" {
		t.Errorf("X-Trace not forwarded: %v", pre.header)
	}
	up := fin.Event.Upload
	if up.ID != id || up.Size != int64(len(testData)) || up.Offset != up.Size || up.Storage["Route"] != "home" || up.Storage["Tag"] == "" {
		t.Errorf("post-finish event: %+v", up)
	}
	for k := range up.Storage {
		if !slices.Contains([]string{"Type", "Bucket", "Key", "Route", "Owner", "Share", "Tag", "Created"}, k) {
			t.Errorf("post-finish Storage carries %q", k)
		}
	}
	// The rejected upload left nothing behind: one upload stored.
	var infos int
	filepath.WalkDir(s.dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".info") {
			infos++
		}
		return nil
	})
	if infos != 1 {
		t.Errorf("%d uploads stored, want 1", infos)
	}
}
