package jsclient

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tusvault/tusvault/internal/backendtest"
)

const (
	fileSize  = 24 << 20
	chunkSize = 2 << 20  // tus-js-client's chunkSize: every PATCH acknowledges an offset
	throttle  = 16 << 20 // bytes per second of the first Upload instance
	// killAfter: the server is killed once it acknowledged this much, one
	// part (5 MiB) stored and more in the encrypted tail, while the next
	// PATCH streams.
	killAfter = 6 << 20
)

// TestResumeAfterKill: tus-js-client uploads a 24 MiB file; the server
// is SIGKILLed mid-PATCH once it acknowledged 6 MiB and restarted on the
// same port and upload dir; a second Upload finds the upload in the shared
// FileUrlStorage and resumes it at no less than the acknowledged offset,
// and the stored upload is the file, byte for byte (GET with the bearer
// token, and tusvault decrypt). Once in tus 1.0, once in the IETF draft.
func TestResumeAfterKill(t *testing.T) {
	node := requireNode(t)
	data := backendtest.RandomBytes(9, fileSize)
	file := filepath.Join(t.TempDir(), "video.bin")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		protocol string
		flags    []string
	}{
		{"tus-v1", nil},
		{"ietf-draft-05", []string{"-enable-experimental-protocol"}},
	} {
		t.Run(tc.protocol, func(t *testing.T) { resumeAfterKill(t, node, file, data, tc.protocol, tc.flags) })
	}
}

func resumeAfterKill(t *testing.T, node, file string, data []byte, protocol string, flags []string) {
	dir := filepath.Join(t.TempDir(), "data")
	s := startServer(t, dir, "0", flags...)
	n := startNode(t, node, nodeConfig{
		Endpoint: s.Endpoint, File: file, Token: s.Token, Protocol: protocol,
		Storage: filepath.Join(t.TempDir(), "tus-urls.json"), ChunkSize: chunkSize, Throttle: throttle,
	})

	// The first Upload, until the kill ends it.
	var (
		fingerprint, uploadURL string
		acked                  int64
		killed                 bool
	)
	for done := false; !done; {
		e := n.next()
		switch e.Event {
		case "fingerprint":
			fingerprint = e.Fingerprint
		case "created":
			uploadURL = e.URL
		case "response":
			checkProtocol(t, protocol, e)
		case "chunk":
			acked = e.offset()
			if !killed && acked >= killAfter {
				s.kill()
				killed = true
			}
		case "success":
			t.Fatalf("the first upload finished before the kill (acknowledged %d)", acked)
		case "error":
			if !killed {
				t.Fatalf("the first upload failed before the kill: %s", e.Message)
			}
			if e.Method != http.MethodPatch {
				t.Errorf("the kill ended a %s, want a PATCH in progress (%s)", e.Method, e.Message)
			}
			done = true
		}
	}
	if fingerprint == "" || !strings.HasPrefix(uploadURL, s.Endpoint+"home/dev/") {
		t.Fatalf("fingerprint %q, upload URL %q (want under %shome/dev/)", fingerprint, uploadURL, s.Endpoint)
	}

	// The same port and upload dir; the token of the first start (the
	// secret in the upload dir is kept).
	s2 := startServer(t, dir, s.Port, flags...)
	if s2.Endpoint != s.Endpoint {
		t.Fatalf("restarted at %s, want %s", s2.Endpoint, s.Endpoint)
	}
	n.resume()
	var resumedAt int64 = -1
	for done := false; !done; {
		e := n.next()
		switch e.Event {
		case "previous":
			if e.Count != 1 || e.UploadURL != uploadURL || e.Fingerprint != fingerprint {
				t.Fatalf("findPreviousUploads: %d uploads, first %q, fingerprint %q; want 1, %q, %q",
					e.Count, e.UploadURL, e.Fingerprint, uploadURL, fingerprint)
			}
		case "response":
			checkProtocol(t, protocol, e)
			if e.Method == http.MethodHead && resumedAt < 0 {
				resumedAt = e.offset()
				if e.Status/100 != 2 || resumedAt < acked || resumedAt >= fileSize {
					t.Fatalf("HEAD after the restart: %d at offset %d; want 2xx at %d to %d", e.Status, resumedAt, acked, fileSize-1)
				}
			}
			if e.Method == http.MethodPost {
				t.Fatal("the resumed Upload created a new upload")
			}
		case "success":
			if e.URL != uploadURL {
				t.Fatalf("the resumed upload finished at %q, want %q", e.URL, uploadURL)
			}
			done = true
		}
	}
	n.wait()
	if resumedAt < 0 {
		t.Fatal("the resumed Upload sent no HEAD")
	}
	t.Logf("%s: killed with %d bytes acknowledged, resumed at %d", protocol, acked, resumedAt)

	want := sha256.Sum256(data)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uploadURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	got, err := io.Copy(h, resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || !bytes.Equal(h.Sum(nil), want[:]) {
		t.Errorf("GET: %d, %d bytes (%v), sha256 %x; want 200, %d bytes, sha256 %x", resp.StatusCode, got, err, h.Sum(nil), fileSize, want)
	}
	// tus-js-client's metadata was stored in either protocol.
	if cd := resp.Header.Get("Content-Disposition"); !strings.Contains(cd, `filename="video.bin"`) {
		t.Errorf("GET Content-Disposition %q: the filename metadata was not stored", cd)
	}

	id := strings.TrimPrefix(uploadURL, s.Endpoint)
	cmd := exec.CommandContext(ctx, binPath, "decrypt", "-upload-dir", dir, id)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = 5 * time.Second
	var stderr bytes.Buffer
	dh := sha256.New()
	cmd.Stdout, cmd.Stderr = dh, &stderr
	if err := cmd.Run(); err != nil || !bytes.Equal(dh.Sum(nil), want[:]) {
		t.Errorf("tusvault decrypt %s: %v, sha256 %x, want %x; stderr: %s", id, err, dh.Sum(nil), want, stderr.String())
	}
	if n := countInfos(t, filepath.Join(dir, "home")); n != 1 {
		t.Errorf("%d uploads stored, want the one resumed", n)
	}
}

// checkProtocol checks that the server answered in the client's protocol:
// tus 1.0 answers carry Tus-Resumable; the draft's do not, and tusd's
// answers to a creation and a HEAD carry Upload-Draft-Interop-Version
// (6 for draft -05) instead.
func checkProtocol(t *testing.T, protocol string, e event) {
	t.Helper()
	want := event{TusResumable: "1.0.0"}
	if protocol == "ietf-draft-05" {
		want = event{}
		if e.Method == http.MethodPost || e.Method == http.MethodHead {
			want.Interop = "6"
		}
	}
	if e.TusResumable != want.TusResumable || e.Interop != want.Interop {
		t.Errorf("%s answer to a %s: Tus-Resumable %q, Upload-Draft-Interop-Version %q; want %q, %q",
			protocol, e.Method, e.TusResumable, e.Interop, want.TusResumable, want.Interop)
	}
}

// countInfos returns the number of .info files under dir.
func countInfos(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), ".info") {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
