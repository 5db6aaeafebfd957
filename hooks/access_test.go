package hooks_test

import (
	"context"
	"crypto/ed25519"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tus/tusd/v2/pkg/handler"

	"github.com/tusvault/tusvault/hooks"
	"github.com/tusvault/tusvault/internal/tusclient"
)

var methods = [5]string{"POST", "HEAD", "PATCH", "GET", "DELETE"}

// TestAccessMatrix sends every method with every kind of credential to a
// home upload (alice's) and to a guest upload (share trip of carol), each
// cell on a fresh upload, and checks the status; a refused request must
// leave every file under the upload directory byte-identical.
func TestAccessMatrix(t *testing.T) {
	e := newEnv(t, options{})
	now := time.Now()
	wrongKey := mustSigner(t, randomBytes(t, 32), nil, testAudience)
	wrongAud := mustSigner(t, e.Secret, nil, "someone-else")
	alice := e.home(t, "alice")
	carolTrip := e.guest(t, "carol", "trip")

	creds := map[string]string{
		"no token": "",
		"garbage":  "Bearer garbage",
		"expired beyond grace": bearer(handToken("HS256", e.Secret, map[string]any{
			"sub": "alice", "iss": testIssuer, "aud": testAudience,
			"iat": now.Add(-50 * time.Hour).Unix(), "exp": now.Add(-25 * time.Hour).Unix(),
		})),
		"wrong signature": bearer(mint(t, wrongKey, hooks.Claims{Subject: "alice"}, time.Hour)),
		"alg none": bearer(handToken("none", nil, map[string]any{
			"sub": "alice", "iss": testIssuer, "aud": testAudience,
			"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		})),
		"wrong audience":                 bearer(mint(t, wrongAud, hooks.Claims{Subject: "alice"}, time.Hour)),
		"home owner":                     bearer(alice),
		"other home user":                bearer(e.home(t, "bob")),
		"guest of the share":             bearer(carolTrip),
		"guest of another share":         bearer(e.guest(t, "carol", "party")),
		"guest of another owner's share": bearer(e.guest(t, "dave", "trip")),
		"owner of the share":             bearer(e.home(t, "carol")),
	}
	type row struct {
		who  string
		want [5]int // POST, HEAD, PATCH, GET, DELETE
	}
	deny := [5]int{401, 401, 401, 401, 401}
	unauthenticated := []row{
		{"no token", deny}, {"garbage", deny}, {"expired beyond grace", deny},
		{"wrong signature", deny}, {"alg none", deny}, {"wrong audience", deny},
	}
	homeTable := append(unauthenticated[:len(unauthenticated):len(unauthenticated)],
		row{"home owner", [5]int{201, 200, 204, 200, 204}},
		row{"other home user", [5]int{201, 404, 404, 404, 404}},
		row{"guest of the share", [5]int{201, 404, 404, 404, 404}},
		row{"guest of another share", [5]int{201, 404, 404, 404, 404}},
		row{"guest of another owner's share", [5]int{201, 404, 404, 404, 404}},
		row{"owner of the share", [5]int{201, 404, 404, 404, 404}},
	)
	guestTable := append(unauthenticated[:len(unauthenticated):len(unauthenticated)],
		row{"home owner", [5]int{201, 404, 404, 404, 404}},
		row{"other home user", [5]int{201, 404, 404, 404, 404}},
		row{"guest of the share", [5]int{201, 200, 204, 403, 204}},
		row{"guest of another share", [5]int{201, 404, 404, 404, 404}},
		row{"guest of another owner's share", [5]int{201, 404, 404, 404, 404}},
		row{"owner of the share", [5]int{201, 200, 403, 200, 403}},
	)
	for _, table := range []struct {
		name    string
		creator string
		rows    []row
	}{{"home upload", alice, homeTable}, {"guest upload", carolTrip, guestTable}} {
		for _, r := range table.rows {
			for i, m := range methods {
				t.Run(table.name+"/"+r.who+"/"+m, func(t *testing.T) {
					auth := creds[r.who]
					data := testData(20)
					var u string
					if m == http.MethodGet {
						u = e.upload(t, table.creator, data, map[string]string{"filename": "f.bin"})
					} else {
						u = e.create(t, table.creator, 20, nil)
						if _, err := client(bearer(table.creator)).Patch(context.Background(), u, 0, strings.NewReader(string(data[:10])), 10); err != nil {
							t.Fatal(err)
						}
					}
					id := e.id(t, u)
					before := snapshot(t, e.Dir)
					if _, ok := before[id+".info"]; !ok {
						t.Fatalf("no %s.info under the upload dir", id)
					}
					resp := tusRequest(t, e, m, u, auth, 10)
					if resp.Status != r.want[i] {
						t.Fatalf("%s by %s: status %d, want %d (body %q)", m, r.who, resp.Status, r.want[i], resp.Body)
					}
					if resp.Status < 400 {
						if m == http.MethodGet && resp.Body != string(data) {
							t.Fatalf("GET returned %q", resp.Body)
						}
						return
					}
					if diff := diffSnapshots(before, snapshot(t, e.Dir)); len(diff) > 0 {
						t.Fatalf("refused %s by %s changed files: %v", m, r.who, diff)
					}
					checkRefusal(t, m, resp, auth)
				})
			}
		}
	}
}

// checkRefusal checks that a refusal looks like tusd's and gives nothing
// away.
func checkRefusal(t *testing.T, method string, resp response, auth string) {
	t.Helper()
	if got := resp.Header.Get("Tus-Resumable"); got != "1.0.0" {
		t.Errorf("Tus-Resumable %q", got)
	}
	if resp.Status == http.StatusUnauthorized && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("401 without a Bearer challenge: %q", resp.Header.Get("WWW-Authenticate"))
	}
	if method == http.MethodHead {
		return
	}
	if !strings.HasPrefix(resp.Body, "ERR_") || !strings.HasSuffix(resp.Body, "\n") || !strings.Contains(resp.Body, ": ") {
		t.Errorf("body %q is not a tus-style error", resp.Body)
	}
	if tok, ok := strings.CutPrefix(auth, "Bearer "); ok && len(tok) > 8 && strings.Contains(resp.Body, tok[len(tok)-8:]) {
		t.Errorf("body %q echoes the token", resp.Body)
	}
}

// TestResumeGrace is the grace matrix: a token that expired within the
// grace may HEAD and PATCH the unfinished uploads it could act on as
// uploader, and nothing else: not DELETE, not create, not download, and
// nothing on a finished upload. Past the grace it is refused.
func TestResumeGrace(t *testing.T) {
	e := newEnv(t, options{grace: 3 * time.Hour})
	ctx := context.Background()
	data := testData(3000)
	for _, tc := range []struct {
		name, tok, strangerTok string
	}{
		{"home", mint(t, e.Signer, hooks.Claims{Subject: "alice"}, time.Hour), mint(t, e.Signer, hooks.Claims{Subject: "bob"}, time.Hour)},
		{"guest", mint(t, e.Signer, hooks.Claims{Kind: hooks.KindGuest, Owner: "carol", Share: "trip"}, time.Hour),
			mint(t, e.Signer, hooks.Claims{Kind: hooks.KindGuest, Owner: "carol", Share: "party"}, time.Hour)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.shift.Store(0)
			c := client(bearer(tc.tok))
			u := e.create(t, tc.tok, int64(len(data)), nil)
			if _, err := c.Patch(ctx, u, 0, strings.NewReader(string(data[:1000])), 1000); err != nil {
				t.Fatal(err)
			}
			other := e.create(t, tc.tok, 10, nil) // unfinished, for DELETE
			done := e.create(t, tc.tok, 5, nil)   // finished before the token expired
			if err := c.Upload(ctx, done, []byte("12345"), nil); err != nil {
				t.Fatal(err)
			}
			expired := func(what string, m, target string, off int64) {
				t.Helper()
				if r := tusRequest(t, e, m, target, bearer(tc.tok), off); r.Status != http.StatusUnauthorized ||
					(m != http.MethodHead && !strings.HasPrefix(r.Body, "ERR_TOKEN_EXPIRED")) {
					t.Fatalf("%s %s within grace: %d %q, want 401 ERR_TOKEN_EXPIRED", m, what, r.Status, r.Body)
				}
			}

			e.shift.Store(int64(2 * time.Hour)) // expired an hour ago: within grace
			if off, _, err := c.Head(ctx, u); err != nil || off != 1000 {
				t.Fatalf("HEAD within grace: offset %d, %v", off, err)
			}
			if err := c.UploadFrom(ctx, u, data, 1000, []int{1000}); err != nil {
				t.Fatalf("PATCH within grace: %v", err)
			}
			// Now finished: the grace is over for it.
			for _, m := range []string{http.MethodHead, http.MethodPatch, http.MethodGet, http.MethodDelete} {
				expired("the upload it finished", m, u, int64(len(data)))
				expired("an upload finished before", m, done, 5)
			}
			expired("an unfinished upload", http.MethodDelete, other, 0)
			if _, err := c.Create(ctx, e.URL, 10, nil); tusclient.Status(err) != http.StatusUnauthorized {
				t.Fatalf("POST within grace: %v, want 401", err)
			}
			// Another account's expired token resumes nothing.
			if r := do(t, http.MethodHead, other, bearer(tc.strangerTok), nil, nil); r.Status != http.StatusUnauthorized {
				t.Fatalf("HEAD by a stranger's expired token: %d, want 401", r.Status)
			}

			e.shift.Store(int64(5 * time.Hour)) // expired 4 h ago: past the 3 h grace
			for _, m := range []string{http.MethodHead, http.MethodPatch, http.MethodDelete} {
				if r := tusRequest(t, e, m, other, bearer(tc.tok), 0); r.Status != http.StatusUnauthorized {
					t.Fatalf("%s past the grace: %d, want 401", m, r.Status)
				}
			}
			// A live token may do everything.
			e.shift.Store(0)
			if err := c.Delete(ctx, other); err != nil {
				t.Fatalf("DELETE with a live token: %v", err)
			}
			if off, _, err := c.Head(ctx, u); err != nil || off != int64(len(data)) {
				t.Fatalf("HEAD with a live token: offset %d, %v", off, err)
			}
		})
	}
}

// TestStrangerCannotInterruptPatch: requests refused by the policy never
// reach tusd's locker, so they cannot make a running PATCH release its
// lock; nor can the share owner's HEAD and GET of a guest's upload, which
// are answered without the lock. The uploader's own HEAD, which tusd
// serves, does interrupt (the control: that is how a client resumes).
func TestStrangerCannotInterruptPatch(t *testing.T) {
	e := newEnv(t, options{})
	alice, bob := e.home(t, "alice"), e.home(t, "bob")
	const size = 256 << 10
	data := testData(size)

	run := func(t *testing.T, during func(u string)) (status int, offset string) {
		return runPatch(t, e, alice, data, during)
	}
	t.Run("strangers", func(t *testing.T) {
		status, off := run(t, func(u string) {
			for _, auth := range []string{bearer(bob), "", bearer(e.guest(t, "alice", "x"))} {
				for _, m := range []string{http.MethodHead, http.MethodGet, http.MethodDelete} {
					if r := do(t, m, u, auth, nil, nil); r.Status != 404 && r.Status != 401 {
						t.Errorf("%s by a stranger during PATCH: %d", m, r.Status)
					}
				}
			}
		})
		if status != http.StatusNoContent || off != strconv.Itoa(size) {
			t.Fatalf("PATCH ended with %d, offset %q; want 204 at %d", status, off, size)
		}
	})
	t.Run("share owner", func(t *testing.T) {
		guest := e.guest(t, "alice", "trip")
		status, off := runPatch(t, e, guest, data, func(u string) {
			r := do(t, http.MethodHead, u, bearer(alice), nil, nil)
			if r.Status != http.StatusOK || r.Header.Get("Upload-Offset") != "0" || r.Header.Get("Upload-Length") != strconv.Itoa(size) ||
				r.Header.Get("Tus-Resumable") != "1.0.0" || r.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("owner HEAD during the guest's PATCH: %d, headers %v", r.Status, r.Header)
			}
			if r := do(t, http.MethodGet, u, bearer(alice), nil, nil); r.Status != http.StatusLocked || !strings.HasPrefix(r.Body, "ERR_UPLOAD_LOCKED") {
				t.Errorf("owner GET during the guest's PATCH: %d %q, want 423", r.Status, r.Body)
			}
		})
		if status != http.StatusNoContent || off != strconv.Itoa(size) {
			t.Fatalf("guest PATCH ended with %d, offset %q; want 204 at %d", status, off, size)
		}
	})
	t.Run("owner (control)", func(t *testing.T) {
		status, off := run(t, func(u string) {
			if r := do(t, http.MethodHead, u, bearer(alice), nil, nil); r.Status != http.StatusOK {
				t.Errorf("owner HEAD during PATCH: %d", r.Status)
			}
		})
		if status == http.StatusNoContent && off == strconv.Itoa(size) {
			t.Fatal("the owner's HEAD did not interrupt the PATCH: the test cannot see interruptions")
		}
	})
}

// runPatch creates an upload of data with tok and sends it in one PATCH
// that pauses after a quarter, while tusd holds the lock, to run during.
// It returns the PATCH's status and Upload-Offset.
func runPatch(t *testing.T, e *env, tok string, data []byte, during func(u string)) (status int, offset string) {
	size := len(data)
	u := e.create(t, tok, int64(size), nil)
	pr, pw := io.Pipe()
	req, err := http.NewRequest(http.MethodPatch, u, pr)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(size)
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("Authorization", bearer(tok))
	req.Header.Set("Content-Type", tusclient.ContentTypeOffset)
	req.Header.Set("Upload-Offset", "0")
	type result struct {
		resp *http.Response
		err  error
	}
	res := make(chan result, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		res <- result{resp, err}
	}()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if _, err := pw.Write(data[:size/4]); err != nil {
			return
		}
		time.Sleep(300 * time.Millisecond) // tusd holds the lock by now
		during(u)
		time.Sleep(100 * time.Millisecond)
		pw.Write(data[size/4:])
		pw.Close()
	}()
	r := <-res
	pr.CloseWithError(io.ErrClosedPipe) // unblock the writer if the server gave up
	wg.Wait()
	if r.err != nil {
		return -1, ""
	}
	io.Copy(io.Discard, r.resp.Body)
	r.resp.Body.Close()
	return r.resp.StatusCode, r.resp.Header.Get("Upload-Offset")
}

// TestMethodOverride: X-HTTP-Method-Override on a POST is the method
// tusd acts on, and so the one authorized.
func TestMethodOverride(t *testing.T) {
	e := newEnv(t, options{})
	carolTrip, bob := e.guest(t, "carol", "trip"), e.home(t, "bob")
	u := e.upload(t, carolTrip, []byte("hello"), nil)
	over := func(m string) http.Header { return http.Header{"X-Http-Method-Override": {m}} }
	if r := do(t, http.MethodPost, u, bearer(bob), over("DELETE"), nil); r.Status != http.StatusNotFound {
		t.Fatalf("POST+override DELETE by a stranger: %d", r.Status)
	}
	if r := do(t, http.MethodPost, u, bearer(carolTrip), over("GET"), nil); r.Status != http.StatusForbidden || !strings.HasPrefix(r.Body, "ERR_GUEST_CANNOT_DOWNLOAD") {
		t.Fatalf("POST+override GET by the guest: %d %q", r.Status, r.Body)
	}
	if r := do(t, http.MethodPost, u, bearer(carolTrip), over("DELETE"), nil); r.Status != http.StatusNoContent {
		t.Fatalf("POST+override DELETE by the guest: %d %q", r.Status, r.Body)
	}
	// An unknown method on an upload is refused before tusd.
	if r := do(t, "PUT", u, bearer(carolTrip), nil, nil); r.Status != http.StatusMethodNotAllowed {
		t.Fatalf("PUT: %d", r.Status)
	}
	// A path tusd reads as the same id is checked as that id.
	if r := do(t, http.MethodHead, u+"/", bearer(bob), nil, nil); r.Status != http.StatusNotFound {
		t.Fatalf("HEAD with a trailing slash by a stranger: %d", r.Status)
	}
}

// TestCorsOnRefusals: the middleware's own answers carry tusd's CORS
// headers for an allowed origin, so browsers can read them.
func TestCorsOnRefusals(t *testing.T) {
	cors := handler.DefaultCorsConfig
	e := newEnv(t, options{cors: &cors})
	h := http.Header{"Origin": {"https://app.example"}}
	r := do(t, http.MethodHead, e.URL+"home/alice/"+strings.Repeat("a", 32), "", h, nil)
	if r.Status != http.StatusUnauthorized || r.Header.Get("Access-Control-Allow-Origin") != "https://app.example" ||
		!strings.Contains(r.Header.Get("Access-Control-Expose-Headers"), "Upload-Offset") {
		t.Fatalf("refusal: %d, headers %v", r.Status, r.Header)
	}
	if r := do(t, http.MethodOptions, e.URL+"home/alice/"+strings.Repeat("a", 32), "", h, nil); r.Status != http.StatusOK {
		t.Fatalf("OPTIONS preflight without a token: %d", r.Status)
	}
}

// TestEdDSA: with an Ed25519 public key configured, EdDSA tokens work and
// HS256 ones do not.
func TestEdDSA(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, options{edPriv: priv, edPub: pub})
	alice := e.home(t, "alice")
	u := e.upload(t, alice, []byte("signed with ed25519"), nil)
	if r := do(t, http.MethodGet, u, bearer(alice), nil, nil); r.Status != http.StatusOK || r.Body != "signed with ed25519" {
		t.Fatalf("GET by the owner: %d %q", r.Status, r.Body)
	}
	hs := mint(t, mustSigner(t, randomBytes(t, 32), nil, testAudience), hooks.Claims{Subject: "alice"}, time.Hour)
	if r := do(t, http.MethodGet, u, bearer(hs), nil, nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("GET with an HS256 token: %d", r.Status)
	}
}
