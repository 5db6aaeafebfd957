package hooks_test

import (
	"mime"
	"net/http"
	"testing"
)

// TestDownloadDisposition: the Content-Disposition of a GET is built from
// the sanitized file name, keeping tusd's inline/attachment choice.
func TestDownloadDisposition(t *testing.T) {
	e := newEnv(t, options{})
	alice := e.home(t, "alice")
	for _, tc := range []struct {
		filename, filetype, want, wantName string
	}{
		{
			"../../etc/passwd\r\nX: y\".txt", "text/plain",
			`inline; filename="passwdX: y.txt"; filename*=UTF-8''passwdX%3A%20y.txt`, "passwdX: y.txt",
		},
		{
			"résumé 日本.pdf", "application/pdf",
			`attachment; filename="r_sum_ __.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%E6%97%A5%E6%9C%AC.pdf`, "résumé 日本.pdf",
		},
		{
			`..\\..\\boot.ini`, "text/html", // tusd never shows HTML inline
			`attachment; filename="boot.ini"; filename*=UTF-8''boot.ini`, "boot.ini",
		},
		{
			"\u202eexe.png", "image/png",
			`inline; filename="exe.png"; filename*=UTF-8''exe.png`, "exe.png",
		},
	} {
		u := e.upload(t, alice, []byte("content"), map[string]string{"filename": tc.filename, "filetype": tc.filetype})
		r := do(t, http.MethodGet, u, bearer(alice), nil, nil)
		if r.Status != http.StatusOK || r.Body != "content" {
			t.Fatalf("GET %q: %d %q", tc.filename, r.Status, r.Body)
		}
		if got := r.Header.Values("Content-Disposition"); len(got) != 1 || got[0] != tc.want {
			t.Errorf("filename %q: Content-Disposition %q, want %q", tc.filename, got, tc.want)
		}
		if _, params, err := mime.ParseMediaType(r.Header.Get("Content-Disposition")); err != nil || params["filename"] != tc.wantName {
			t.Errorf("filename %q: a browser would save %q (%v)", tc.filename, params["filename"], err)
		}
		if r.Header.Get("X") != "" {
			t.Errorf("filename %q injected a header", tc.filename)
		}
	}
	// No filename: tusd's bare kind stays.
	u := e.upload(t, alice, []byte("x"), nil)
	if r := do(t, http.MethodGet, u, bearer(alice), nil, nil); r.Header.Get("Content-Disposition") != "attachment" {
		t.Errorf("no filename: %q", r.Header.Get("Content-Disposition"))
	}
	// The share owner's download of a guest upload is sanitized too.
	g := e.upload(t, e.guest(t, "alice", "inbox"), []byte("g"), map[string]string{"filename": "a/b\"c.txt"})
	if r := do(t, http.MethodGet, g, bearer(alice), nil, nil); r.Header.Get("Content-Disposition") != `attachment; filename="bc.txt"; filename*=UTF-8''bc.txt` {
		t.Errorf("guest upload: %q", r.Header.Get("Content-Disposition"))
	}
}
