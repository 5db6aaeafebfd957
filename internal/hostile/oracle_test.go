package hostile

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tusvault/tusvault/hooks"
)

// writer is what a token may legitimately change (the oracle of check,
// written from the README's access table, independent of the policy):
// PATCH and DELETE on its uploads, PATCH only on its unfinished uploads
// within the resume grace, and new uploads under its create prefix.
type writer struct {
	write, patchOnly []string
	create           string
}

var writers = [numTokens]writer{
	tokAlice:      {write: []string{upPartial, upFinished, upPart, upDeferred, upEmpty}, create: "home/alice/"},
	tokBob:        {write: []string{upBob}, create: "home/bob/"},
	tokGuest:      {write: []string{upGuest, upGuestFin}, create: "guest/alice/trip/"},
	tokOtherShare: {create: "guest/alice/other/"},
	tokAliceGrace: {patchOnly: []string{upPartial, upPart, upDeferred}},
	tokGuestGrace: {patchOnly: []string{upGuest}},
}

// documented5xx are the 5xx answers a hostile request may get: none
// (in process nothing times out and the backend never fails).
var documented5xx = map[int]bool{}

// check verifies the properties of one served request and puts the
// stored files back as they were: the status is below 500 (or a
// documented 5xx), nothing is left in the spool or the disk backend's
// temp dir, and every stored file that changed belongs to an upload the
// request could legitimately write (see legitimate). It returns the
// changes found.
func (s *stack) check(tb testing.TB, r request, resp response) changes {
	tb.Helper()
	if resp.Status >= 500 && !documented5xx[resp.Status] {
		tb.Errorf("%s %q: status %d: %q", r.Method, r.Target, resp.Status, resp.Body)
	}
	if f := s.spoolFiles(); len(f) > 0 {
		tb.Errorf("%s %q: files left in the spool: %v", r.Method, r.Target, f)
	}
	c := s.diff(tb)
	if c.empty() {
		return c
	}
	defer s.restore(tb, c)
	ok, why := s.legitimate(resp, c)
	if !ok {
		tb.Errorf("%s %q (auth %d, header %q) answered %d %q altered stored files: %s (%s)",
			r.Method, r.Target, r.Auth, r.Header, resp.Status, resp.Body, c, why)
	}
	return c
}

var linkQuery = regexp.MustCompile(`(^|&)` + hooks.LinkParam + `(=|&|$)`)

// legitimate decides whether changes c may follow from the request
// answered resp, from the README's access table (writers) and the request
// as the server read it; the policy is not consulted. Only an unambiguous request
// writes: one Authorization, at most one of each tus header, and
// Upload-Length and Upload-Offset in digits.
func (s *stack) legitimate(resp response, c changes) (bool, string) {
	req := resp.Parsed
	for _, rel := range c.added {
		if strings.HasPrefix(rel, ".tusvault/tmp/") {
			return false, "a temp file was left behind"
		}
	}
	if req == nil {
		return false, "the request did not parse"
	}
	for _, name := range singleHeaders {
		if len(req.Header.Values(name)) > 1 {
			return false, "an ambiguous request: " + name + " given twice"
		}
	}
	for _, name := range []string{"Upload-Length", "Upload-Offset"} {
		// An empty value is no value to tusd.
		if v := req.Header.Values(name); len(v) == 1 && v[0] != "" && !digits(v[0]) {
			return false, name + " is not a number"
		}
	}
	if linkQuery.MatchString(req.URL.RawQuery) {
		return false, "a request with a download link"
	}
	tok := s.tokenOf(req.Header.Get("Authorization"))
	w := writers[tok]
	method := req.Method
	if o := req.Header.Get("X-HTTP-Method-Override"); method == http.MethodPost && o != "" {
		method = o
	}
	if !strings.HasPrefix(req.URL.Path, basePath) && req.URL.Path != strings.TrimSuffix(basePath, "/") || unclean(req.URL.Path) {
		return false, "not a clean upload path"
	}
	id := strings.Trim(strings.TrimPrefix(req.URL.Path, strings.TrimSuffix(basePath, "/")), "/")
	if id == "" {
		return s.legitimateCreation(w, method, resp, c)
	}
	var name string
	for _, n := range fixtureNames {
		if s.ids[n] == id {
			name = n
		}
	}
	switch {
	case name == "":
		return false, "not a fixture upload"
	case method == http.MethodPatch && (slices.Contains(w.write, name) || slices.Contains(w.patchOnly, name)):
	case method == http.MethodDelete && slices.Contains(w.write, name):
	default:
		return false, fmt.Sprintf("token %d may not %s upload %s", tok, method, name)
	}
	for _, rel := range slices.Concat(c.changed, c.added, c.removed) {
		if !filesOf(rel, id, s.mpids[name]) {
			return false, rel + " is not a file of " + name
		}
	}
	return true, ""
}

// tokenOf is the token of the fixed set an Authorization value carries
// (tokNone for any other), read more leniently than the policy reads it:
// the oracle may only allow more than the policy, never less.
func (s *stack) tokenOf(authorization string) int {
	f := strings.Fields(authorization)
	if len(f) != 2 || !strings.EqualFold(f[0], "Bearer") {
		return tokNone
	}
	for i, raw := range s.raw {
		if raw != "" && f[1] == raw {
			return i
		}
	}
	return tokNone
}

// legitimateCreation: a POST of a live token answered 201 adds the
// files of uploads under the token's prefix, and changes nothing else.
func (s *stack) legitimateCreation(w writer, method string, resp response, c changes) (bool, string) {
	req := resp.Parsed
	switch {
	case method != http.MethodPost || w.create == "":
		return false, "not a creation by a live token"
	case len(c.changed) > 0 || len(c.removed) > 0:
		return false, "a creation changed existing files"
	case keptCreation(req, resp):
	case resp.Status != http.StatusCreated:
		return false, "a refused creation stored files"
	}
	type upload struct{ id, mpid string }
	var created []upload
	for _, rel := range c.added {
		if id, ok := strings.CutSuffix(rel, ".info"); ok && strings.HasPrefix(rel, w.create) {
			b, err := os.ReadFile(filepath.Join(s.dir, filepath.FromSlash(rel)))
			var info struct{ MultipartID string }
			if err != nil || json.Unmarshal(b, &info) != nil {
				return false, "unreadable " + rel
			}
			created = append(created, upload{id, info.MultipartID})
		}
	}
	if len(created) != 1 {
		return false, fmt.Sprintf("%d uploads created", len(created))
	}
	for _, rel := range c.added {
		if !filesOf(rel, created[0].id, created[0].mpid) {
			return false, rel + " is not a file of the new upload " + created[0].id
		}
	}
	return true, ""
}

// keptCreation: a creation with an upload whose body was cut short (400
// ERR_UNEXPECTED_EOF) or, chunked, ran past the length (413) keeps the
// upload with the bytes that arrived, up to the length, as a PATCH does
// (documented: README, "What a 204 means").
func keptCreation(r *http.Request, resp response) bool {
	if r.Header.Get("Content-Type") != "application/offset+octet-stream" && r.Header.Get("Upload-Draft-Interop-Version") == "" {
		return false
	}
	switch {
	case resp.Status == http.StatusBadRequest && strings.HasPrefix(resp.Body, "ERR_UNEXPECTED_EOF"):
		return true
	case resp.Status == http.StatusRequestEntityTooLarge && r.ContentLength < 0:
		return true
	}
	return false
}

// singleHeaders are the headers a request may carry once.
var singleHeaders = []string{
	"Authorization", "Upload-Length", "Upload-Offset", "Upload-Defer-Length", "Upload-Metadata",
	"Upload-Concat", "Tus-Resumable", "Content-Type", "X-Http-Method-Override",
	"Upload-Draft-Interop-Version", "Upload-Complete", "Upload-Incomplete",
}

// digits: ASCII digits only, within int64.
func digits(s string) bool {
	if strings.Trim(s, "0123456789") != "" {
		return false
	}
	_, err := strconv.ParseInt(s, 10, 64)
	return err == nil
}

// unclean reports whether net/http's mux would redirect p to a
// cleaned path.
func unclean(p string) bool {
	return strings.Contains(p, "//") || strings.Contains(p, "/./") || strings.Contains(p, "/../") ||
		strings.HasSuffix(p, "/.") || strings.HasSuffix(p, "/..")
}

func openFDs() int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(entries)
}

// settle waits, bounded, until the goroutines and open file descriptors
// are back to at most g and fds, and reports whether they are.
func settle(g, fds int, within time.Duration) (gotG, gotFDs int, ok bool) {
	deadline := time.Now().Add(within)
	for {
		gotG, gotFDs = runtime.NumGoroutine(), openFDs()
		if gotG <= g && gotFDs <= fds {
			return gotG, gotFDs, true
		}
		if time.Now().After(deadline) {
			return gotG, gotFDs, false
		}
		time.Sleep(5 * time.Millisecond)
	}
}
