package hooks_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	tushooks "github.com/tus/tusd/v2/pkg/hooks"
	tushttp "github.com/tus/tusd/v2/pkg/hooks/http"

	"github.com/tusvault/tusvault/internal/tusclient"
)

// hookCall is one request the hook server received.
type hookCall struct {
	Type   string
	Raw    []byte
	Header http.Header
	Event  struct {
		Upload struct {
			ID       string
			Size     int64
			Offset   int64
			MetaData map[string]string
			Storage  map[string]string
		}
		HTTPRequest struct {
			Method, URI string
			Header      http.Header
		}
	}
}

// hookServer is an external HTTP hook endpoint on loopback. Its answer
// depends on the upload's "hook" metadata: "reject", "reject403",
// "change" (pre-create) and "stop" (post-receive).
type hookServer struct {
	mu    sync.Mutex
	calls []hookCall
	srv   *httptest.Server
}

func newHookServer(t *testing.T) *hookServer {
	hs := &hookServer{}
	hs.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var c hookCall
		if err := json.Unmarshal(raw, &c); err != nil {
			t.Errorf("hook payload: %v", err)
		}
		c.Raw, c.Header = raw, r.Header.Clone()
		hs.mu.Lock()
		hs.calls = append(hs.calls, c)
		hs.mu.Unlock()
		res := map[string]any{}
		switch mode := c.Event.Upload.MetaData["hook"]; {
		case c.Type == "pre-create" && mode == "reject":
			res["RejectUpload"] = true
		case c.Type == "pre-create" && mode == "reject403":
			res["RejectUpload"] = true
			res["HTTPResponse"] = map[string]any{"StatusCode": 403, "Body": "not today\n"}
		case c.Type == "pre-create" && mode == "change":
			res["HTTPResponse"] = map[string]any{"Header": map[string]string{"X-Hook": "seen"}}
			res["ChangeFileInfo"] = map[string]any{
				"ID":       "evil/elsewhere",
				"Storage":  map[string]string{"Route": "home", "Owner": "mallory"},
				"MetaData": map[string]string{"filename": "renamed.txt", "hook": "change"},
			}
		case c.Type == "post-receive" && mode == "stop":
			res["StopUpload"] = true
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(res)
	}))
	t.Cleanup(hs.srv.Close)
	return hs
}

// find returns the calls of type typ about upload id (any id when "").
func (hs *hookServer) find(typ, id string) []hookCall {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	var out []hookCall
	for _, c := range hs.calls {
		if c.Type == typ && (id == "" || c.Event.Upload.ID == id) {
			out = append(out, c)
		}
	}
	return out
}

// wait polls until a call of type typ about id arrived (post-* hooks are
// asynchronous).
func (hs *hookServer) wait(t *testing.T, typ, id string) hookCall {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if cs := hs.find(typ, id); len(cs) > 0 {
			return cs[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s hook for %s", typ, id)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestExternalHooks(t *testing.T) {
	hs := newHookServer(t)
	ext := &tushttp.HttpHook{
		Endpoint: hs.srv.URL, MaxRetries: 1, Backoff: 10 * time.Millisecond,
		ForwardHeaders: []string{"X-Trace"}, Timeout: 10 * time.Second, SizeLimit: 64 << 10,
	}
	e := newEnv(t, options{
		external: ext, progress: 20 * time.Millisecond,
		events: []tushooks.HookType{tushooks.HookPreCreate, tushooks.HookPostCreate, tushooks.HookPostReceive, tushooks.HookPostFinish, tushooks.HookPostTerminate},
	})
	ctx := context.Background()
	carol := e.guest(t, "carol", "trip")
	gc := client(bearer(carol))
	gc.Header.Set("X-Trace", "trace-42")

	t.Run("pre-create sees the routed id; post-finish the stored info", func(t *testing.T) {
		data := testData(3000)
		u, err := gc.Create(ctx, e.URL, int64(len(data)), map[string]string{"filename": "a.txt"})
		if err != nil {
			t.Fatal(err)
		}
		id := e.id(t, u)
		pre := hs.wait(t, "pre-create", id)
		st := pre.Event.Upload.Storage
		if st["Route"] != "guest" || st["Owner"] != "carol" || st["Share"] != "trip" {
			t.Errorf("pre-create Storage %v", st)
		}
		if pre.Header.Get("X-Trace") != "trace-42" {
			t.Errorf("forwarded header X-Trace = %q", pre.Header.Get("X-Trace"))
		}
		if err := gc.Upload(ctx, u, data, []int{1000}); err != nil {
			t.Fatal(err)
		}
		fin := hs.wait(t, "post-finish", id)
		info := readInfo(t, filepath.Join(e.Dir, filepath.FromSlash(id+".info")))
		want := map[string]string{
			"Route": "guest", "Owner": "carol", "Share": "trip", "Key": id, "Type": "disk",
			"Tag": base64.StdEncoding.EncodeToString(info.Enc.Tag),
		}
		for k, v := range want {
			if got := fin.Event.Upload.Storage[k]; got != v || v == "" {
				t.Errorf("post-finish Storage[%s] = %q, want %q", k, got, v)
			}
		}
		if fin.Event.Upload.Size != int64(len(data)) || fin.Event.Upload.Offset != int64(len(data)) {
			t.Errorf("post-finish size %d, offset %d", fin.Event.Upload.Size, fin.Event.Upload.Offset)
		}
		hs.wait(t, "post-create", id)
		hs.wait(t, "post-receive", id)
	})

	t.Run("pre-create may change metadata, not the id or storage", func(t *testing.T) {
		resp := post(t, e, carol, 5, map[string]string{"filename": "orig.txt", "hook": "change"})
		if resp.Status != 201 || resp.Header.Get("X-Hook") != "seen" {
			t.Fatalf("POST: %d, X-Hook %q (%q)", resp.Status, resp.Header.Get("X-Hook"), resp.Body)
		}
		id := e.id(t, resp.Header.Get("Location"))
		if !strings.HasPrefix(id, "guest/carol/trip/") {
			t.Fatalf("the hook moved the upload to %q", id)
		}
		info := readInfo(t, filepath.Join(e.Dir, filepath.FromSlash(id+".info")))
		if info.Storage["Route"] != "guest" || info.Storage["Owner"] != "carol" {
			t.Errorf("the hook changed Storage: %v", info.Storage)
		}
		head := do(t, http.MethodHead, e.URL+id, bearer(carol), nil, nil)
		meta, _ := tusclient.DecodeMetadata(head.Header.Get("Upload-Metadata"))
		if meta["filename"] != "renamed.txt" {
			t.Errorf("metadata after the hook: %v", meta)
		}
	})

	t.Run("pre-create rejects", func(t *testing.T) {
		before := infoFiles(t, e.Dir, "")
		r := post(t, e, carol, 5, map[string]string{"hook": "reject"})
		if r.Status != http.StatusBadRequest || !strings.HasPrefix(r.Body, "ERR_UPLOAD_REJECTED: ") {
			t.Errorf("rejected creation: %d %q", r.Status, r.Body)
		}
		r = post(t, e, carol, 5, map[string]string{"hook": "reject403"})
		if r.Status != http.StatusForbidden || r.Body != "not today\n" {
			t.Errorf("rejected creation with a response: %d %q", r.Status, r.Body)
		}
		if after := infoFiles(t, e.Dir, ""); len(after) != len(before) {
			t.Errorf("rejected creations stored uploads: %v", after)
		}
	})

	t.Run("our refusal comes first", func(t *testing.T) {
		n := len(hs.find("pre-create", ""))
		if r := post(t, e, "not-a-token", 5, nil); r.Status != 401 {
			t.Errorf("POST with a bad token: %d", r.Status)
		}
		if r := post(t, e, carol, -1, map[string]string{"hook": "x"}); r.Status != 201 {
			t.Errorf("deferred POST: %d %q", r.Status, r.Body)
		}
		if got := len(hs.find("pre-create", "")); got != n+1 {
			t.Errorf("the hook saw %d pre-create events, want %d (only the accepted one)", got-n, 1)
		}
	})

	t.Run("post-receive stops an upload", func(t *testing.T) {
		const size = 1 << 20
		u, err := gc.Create(ctx, e.URL, size, map[string]string{"hook": "stop"})
		if err != nil {
			t.Fatal(err)
		}
		id := e.id(t, u)
		pr, pw := io.Pipe()
		go func() {
			chunk := bytes.Repeat([]byte("s"), 16<<10)
			for sent := 0; sent < size; sent += len(chunk) {
				if _, err := pw.Write(chunk); err != nil {
					return
				}
				time.Sleep(10 * time.Millisecond)
			}
			pw.Close()
		}()
		req, _ := http.NewRequest(http.MethodPatch, u, pr)
		req.ContentLength = size
		req.Header.Set("Tus-Resumable", "1.0.0")
		req.Header.Set("Authorization", bearer(carol))
		req.Header.Set("Content-Type", tusclient.ContentTypeOffset)
		req.Header.Set("Upload-Offset", "0")
		resp, err := http.DefaultClient.Do(req)
		pr.CloseWithError(io.ErrClosedPipe)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.HasPrefix(string(body), "ERR_UPLOAD_STOPPED: ") {
			t.Fatalf("stopped PATCH: %d %q", resp.StatusCode, body)
		}
		if r := do(t, http.MethodHead, u, bearer(carol), nil, nil); r.Status != http.StatusNotFound {
			t.Errorf("HEAD after the stop: %d, want 404", r.Status)
		}
		for k := range snapshot(t, e.Dir) {
			if strings.Contains(k, id) || strings.Contains(k, id[strings.LastIndex(id, "/")+1:]) {
				t.Errorf("file of the stopped upload left: %s", k)
			}
		}
		hs.wait(t, "post-terminate", id)
	})

	t.Run("no key material in any payload", func(t *testing.T) {
		kek, err := e.Keyring.KEK(e.Keyring.Primary)
		if err != nil {
			t.Fatal(err)
		}
		secrets := []string{
			`"Enc"`, "WrappedDEK", "MacState", "wrapped-dek", "Segments",
			base64.StdEncoding.EncodeToString(kek), base64.RawURLEncoding.EncodeToString(kek), hex.EncodeToString(kek),
		}
		hs.mu.Lock()
		calls := append([]hookCall(nil), hs.calls...)
		hs.mu.Unlock()
		if len(calls) < 8 {
			t.Fatalf("only %d hook calls recorded", len(calls))
		}
		for _, c := range calls {
			for _, s := range secrets {
				if bytes.Contains(c.Raw, []byte(s)) {
					t.Errorf("%s payload holds %q", c.Type, s)
				}
			}
		}
		// Nothing of .info beyond Storage either: the sealed metadata
		// stays sealed.
		for _, c := range hs.find("post-finish", "") {
			for k := range c.Event.Upload.Storage {
				switch k {
				case "Type", "Bucket", "Key", "Route", "Owner", "Share", "Tag", "Created":
				default:
					t.Errorf("post-finish Storage has %q", k)
				}
			}
		}
	})
}

// TestHookHandlerEvents: the event list always holds pre-create, and the
// user's events only when there is an external handler.
func TestHookHandlerEvents(t *testing.T) {
	e := newEnv(t, options{})
	_, events := e.Policy.HookHandler(nil, tushooks.AvailableHooks, e.Store)
	if len(events) != 1 || events[0] != tushooks.HookPreCreate {
		t.Errorf("without an external handler: %v", events)
	}
	_, events = e.Policy.HookHandler(&tushttp.HttpHook{}, []tushooks.HookType{tushooks.HookPostFinish}, e.Store)
	if len(events) != 2 || events[0] != tushooks.HookPreCreate || events[1] != tushooks.HookPostFinish {
		t.Errorf("with post-finish: %v", events)
	}
}
