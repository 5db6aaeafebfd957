package hooks

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tus/tusd/v2/pkg/handler"
)

func TestDraftVersion(t *testing.T) {
	on := &Policy{cfg: Config{EnableExperimentalProtocol: true}}
	off := &Policy{}
	for v, want := range map[string]string{"3": "3", "4": "4", "5": "5", "6": "6", "": "", "2": "", "7": "", " 6": "", "6,6": ""} {
		h := http.Header{"Upload-Draft-Interop-Version": {v}}
		if got := on.draftVersion(h); got != want {
			t.Errorf("draftVersion(%q) = %q, want %q", v, got, want)
		}
		if got := off.draftVersion(h); got != "" {
			t.Errorf("draftVersion(%q) with the protocol off = %q, want tus 1.0", v, got)
		}
	}
}

// TestDraftHeadHeaders: the headers of tusd's draft HEAD, per interop
// version, and tusd's Upload-Limit.
func TestDraftHeadHeaders(t *testing.T) {
	for _, tc := range []struct {
		v       string
		maxSize int64
		fi      handler.FileInfo
		want    map[string]string // "" : absent
	}{
		{"6", 0, handler.FileInfo{Size: 10, Offset: 4}, map[string]string{
			"Upload-Complete": "?0", "Upload-Incomplete": "", "Upload-Length": "10", "Upload-Limit": "min-size=0,max-size=10"}},
		{"4", 0, handler.FileInfo{Size: 10, Offset: 10}, map[string]string{
			"Upload-Complete": "?1", "Upload-Length": "10", "Upload-Limit": "min-size=0,max-size=10"}},
		{"3", 0, handler.FileInfo{Size: 10, Offset: 4}, map[string]string{
			"Upload-Incomplete": "?1", "Upload-Complete": ""}},
		{"3", 0, handler.FileInfo{Size: 10, Offset: 10}, map[string]string{"Upload-Incomplete": "?0"}},
		{"5", 0, handler.FileInfo{SizeIsDeferred: true, Offset: 4}, map[string]string{
			"Upload-Complete": "?0", "Upload-Length": "", "Upload-Limit": "min-size=0"}},
		{"6", 1 << 20, handler.FileInfo{Size: 10, Offset: 4}, map[string]string{"Upload-Limit": "min-size=0,max-size=1048576"}},
		{"6", 1 << 20, handler.FileInfo{SizeIsDeferred: true}, map[string]string{"Upload-Limit": "min-size=0,max-size=1048576"}},
	} {
		p := &Policy{cfg: Config{EnableExperimentalProtocol: true, MaxSize: tc.maxSize}}
		h := http.Header{}
		p.draftHeadHeaders(h, tc.v, tc.fi)
		if got := h.Get("Upload-Draft-Interop-Version"); got != tc.v {
			t.Errorf("v%s %+v: Upload-Draft-Interop-Version %q", tc.v, tc.fi, got)
		}
		for k, want := range tc.want {
			if got := h.Get(k); got != want {
				t.Errorf("v%s %+v, MaxSize %d: %s = %q, want %q", tc.v, tc.fi, tc.maxSize, k, got, want)
			}
		}
	}
}

// TestDispositionWriterInformational: an informational answer before the
// final one (such as tusd's 104) goes out as it is, and the final answer
// still has its Content-Disposition rewritten.
func TestDispositionWriterInformational(t *testing.T) {
	rec := httptest.NewRecorder()
	var w http.ResponseWriter = &dispositionWriter{ResponseWriter: rec}
	w.Header().Set("Location", "x")
	w.WriteHeader(http.StatusEarlyHints)
	w.Header().Set("Content-Disposition", `attachment;filename="../a\r\n.txt"`)
	w.WriteHeader(http.StatusOK)
	if got, want := rec.Header().Get("Content-Disposition"), `attachment; filename="a.txt"; filename*=UTF-8''a.txt`; got != want {
		t.Errorf("Content-Disposition after a 103: %q, want %q", got, want)
	}
}
