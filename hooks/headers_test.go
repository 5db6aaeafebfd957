package hooks_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/tusvault/tusvault/hooks"
	"github.com/tusvault/tusvault/internal/tusclient"
)

func TestParseDigits(t *testing.T) {
	for s, want := range map[string]int64{"0": 0, "10": 10, "007": 7, "9223372036854775807": 1<<63 - 1} {
		if n, ok := hooks.ParseDigits(s); !ok || n != want {
			t.Errorf("ParseDigits(%q) = %d, %v; want %d", s, n, ok, want)
		}
	}
	for _, s := range []string{"", "+10", "-0", "-1", " 1", "1 ", "1 0", "0x10", "1e3", "1_000", "10.0", "١٠", "9223372036854775808"} {
		if n, ok := hooks.ParseDigits(s); ok {
			t.Errorf("ParseDigits(%q) = %d, true", s, n)
		}
	}
}

// TestAmbiguousHeaders: a request carrying a tus header, the token, the
// content type or the method override twice is 400 ERR_DUPLICATE_HEADER,
// and an Upload-Length or Upload-Offset that is not plain digits is 400
// with tusd's code (tusd took "+10" and "-0"), before tusd sees them:
// nothing is stored and no upload created.
func TestAmbiguousHeaders(t *testing.T) {
	e := newEnv(t, options{})
	alice, bob := e.home(t, "alice"), e.home(t, "bob")
	u := e.create(t, alice, 100, nil)
	if _, err := client(bearer(alice)).Patch(t.Context(), u, 0, bytes.NewReader(testData(40)), 40); err != nil {
		t.Fatal(err)
	}
	deferred := e.create(t, alice, -1, nil)
	patch := func(off ...string) http.Header {
		return http.Header{"Content-Type": {tusclient.ContentTypeOffset}, "Upload-Offset": off}
	}
	body := []byte("0123456789")
	for _, tc := range []struct {
		name, method, target, auth string
		header                     http.Header
		body                       []byte
		want                       int
		code                       string
	}{
		{"two Upload-Length", http.MethodPost, e.URL, bearer(alice), http.Header{"Upload-Length": {"10", "20"}}, nil, 400, "ERR_DUPLICATE_HEADER"},
		{"two Upload-Offset", http.MethodPatch, u, bearer(alice), patch("40", "40"), body, 400, "ERR_DUPLICATE_HEADER"},
		{"two Authorization", http.MethodPatch, u, bearer(alice), http.Header{"Content-Type": {tusclient.ContentTypeOffset},
			"Upload-Offset": {"40"}, "Authorization": {bearer(bob), bearer(alice)}}, body, 400, "ERR_DUPLICATE_HEADER"},
		{"two Content-Type", http.MethodPatch, u, bearer(alice), http.Header{"Content-Type": {tusclient.ContentTypeOffset, "text/plain"},
			"Upload-Offset": {"40"}}, body, 400, "ERR_DUPLICATE_HEADER"},
		{"two Upload-Metadata", http.MethodPost, e.URL, bearer(alice), http.Header{"Upload-Length": {"10"},
			"Upload-Metadata": {"filename YQ==", "filename Yg=="}}, nil, 400, "ERR_DUPLICATE_HEADER"},
		{"two method overrides", http.MethodPost, u, bearer(alice), http.Header{"X-Http-Method-Override": {"HEAD", "DELETE"}}, nil, 400, "ERR_DUPLICATE_HEADER"},
		{"two Tus-Resumable", http.MethodPost, e.URL, bearer(alice), http.Header{"Upload-Length": {"10"}, "Tus-Resumable": {"1.0.0", "1.0.0"}}, nil, 400, "ERR_DUPLICATE_HEADER"},
		{"Upload-Length +10", http.MethodPost, e.URL, bearer(alice), http.Header{"Upload-Length": {"+10"}}, nil, 400, "ERR_INVALID_UPLOAD_LENGTH"},
		{"Upload-Length -0", http.MethodPost, e.URL, bearer(alice), http.Header{"Upload-Length": {"-0"}}, nil, 400, "ERR_INVALID_UPLOAD_LENGTH"},
		{"Upload-Offset +40", http.MethodPatch, u, bearer(alice), patch("+40"), body, 400, "ERR_INVALID_OFFSET"},
		{"Upload-Offset +40 by override", http.MethodPost, u, bearer(alice), http.Header{"X-Http-Method-Override": {"PATCH"},
			"Content-Type": {tusclient.ContentTypeOffset}, "Upload-Offset": {"+40"}}, body, 400, "ERR_INVALID_OFFSET"},
		{"declared length +20", http.MethodPatch, deferred, bearer(alice), http.Header{"Content-Type": {tusclient.ContentTypeOffset},
			"Upload-Offset": {"0"}, "Upload-Length": {"+20"}}, body, 400, "ERR_INVALID_UPLOAD_LENGTH"},
		// tusd refused this one too, but only after creating the upload,
		// with no Location in its answer.
		{"creation with a body past its length", http.MethodPost, e.URL, bearer(alice), http.Header{"Upload-Length": {"5"},
			"Content-Type": {tusclient.ContentTypeOffset}}, body, 413, "ERR_UPLOAD_SIZE_EXCEEDED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t, e.Dir)
			r := do(t, tc.method, tc.target, tc.auth, tc.header, tc.body)
			if r.Status != tc.want || !strings.HasPrefix(r.Body, tc.code+": ") {
				t.Errorf("%d %q, want %d %s", r.Status, r.Body, tc.want, tc.code)
			}
			if d := diffSnapshots(before, snapshot(t, e.Dir)); len(d) > 0 {
				t.Errorf("stored files changed: %v", d)
			}
		})
	}
	// The same requests, unambiguous, go through.
	if r := do(t, http.MethodPatch, u, bearer(alice), patch("40"), body); r.Status != http.StatusNoContent {
		t.Errorf("PATCH: %d %q", r.Status, r.Body)
	}
	if r := do(t, http.MethodPost, e.URL, bearer(alice), http.Header{"Upload-Length": {"0010"}}, nil); r.Status != http.StatusCreated {
		t.Errorf("POST with leading zeros: %d %q", r.Status, r.Body)
	}
}
