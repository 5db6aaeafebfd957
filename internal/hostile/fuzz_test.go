package hostile

import (
	"net/http"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tusvault/tusvault/hooks"
)

// fuzzHeaders are the request headers FuzzRequest sends: the ones tusd,
// the policy, the store and the API read, and the framing ones. Other
// lines of the fuzzer's header text are dropped.
var fuzzHeaders = append(hooks.SingleHeaders[:], "Range", "If-Range", "Content-Length", "Transfer-Encoding",
	"Content-Disposition", "Origin", "X-Request-Id", "Forwarded", "X-Forwarded-Host", "X-Forwarded-Proto")

// leakSlack is how many goroutines or open files FuzzRequest lets come
// and go before it waits for them to settle.
const leakSlack = 16

// FuzzRequest sends a request made of the fuzzer's method, request-target
// (placeholders such as {A} name the fixture's uploads, see makeFixture),
// token (one of the fixed set), header lines (from fuzzHeaders) and body
// through the whole stack in process, and checks what TestHostileRequests
// checks but the status itself: no panic, no 5xx, no file left in the
// spool or the backend's temp dir, no stored file changed unless the
// request was a legitimate write of the token's own upload, and no
// goroutine or file descriptor left behind. The stored files are put back
// after each request, so every input meets the same fixture. The seed
// corpus is the table of TestHostileRequests.
func FuzzRequest(f *testing.F) {
	for _, tc := range hostileCases {
		f.Add(tc.req.Method, tc.req.Target, uint8(tc.req.Auth), strings.Join(tc.req.Header, "\n"), tc.req.Body)
	}
	s := newStack(f)
	g0, fds0, _ := settle(0, 0, 0)
	f.Fuzz(func(t *testing.T, method, target string, auth uint8, header string, body []byte) {
		r := request{Method: method, Target: target, Auth: int(auth % numTokens), Header: fuzzLines(header), Body: body}
		s.check(t, r, s.serve(t, r))
		if runtime.NumGoroutine() > g0+leakSlack || openFDs() > fds0+leakSlack {
			if g, fds, ok := settle(g0+leakSlack, fds0+leakSlack, 3*time.Second); !ok {
				t.Fatalf("%s %q: %d goroutines (%d at the start), %d open files (%d) after 3s", method, target, g, g0, fds, fds0)
			}
		}
	})
}

// fuzzLines keeps the lines of text naming one of fuzzHeaders.
func fuzzLines(text string) []string {
	var lines []string
	for line := range strings.SplitSeq(text, "\n") {
		name, _, ok := strings.Cut(line, ":")
		if ok && slices.Contains(fuzzHeaders, http.CanonicalHeaderKey(strings.TrimSpace(name))) {
			lines = append(lines, line)
		}
	}
	return lines
}
