package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tusvault/tusvault/internal/tusclient"
)

// rawRequest sends a request built by the test (headers exactly as given
// besides Tus-Resumable) and returns the status and body.
func rawRequest(t *testing.T, c *tusclient.Client, ctx context.Context, method, target string, hdr map[string]string, body io.Reader, size int64) (int, string) {
	t.Helper()
	req, err := c.NewRequest(ctx, method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[http.CanonicalHeaderKey(k)] = []string{v}
	}
	if body != nil {
		req.ContentLength = size
		if size < 0 {
			req.TransferEncoding = []string{"chunked"}
		}
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Errorf("%s %s: %v", method, target, err)
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, string(b)
}

// onlyReader hides the concrete type of a reader so that its size is
// unknown to net/http (forcing chunked encoding).
type onlyReader struct{ io.Reader }

func TestBadInput(t *testing.T) {
	ctx := testCtx(t, 60*time.Second)
	dir := t.TempDir()
	const maxSize = 1048576
	s := startServer(t, dir, "-max-size", fmt.Sprint(maxSize))
	c := newClient()

	const size = 300000
	const first = 100000
	data := randomBytes(6001, size)
	u, err := c.Create(ctx, s.Endpoint, size, map[string]string{"filename": "bad.bin"})
	if err != nil {
		t.Fatal(err)
	}
	id := uploadID(t, u)
	if _, err := c.Patch(ctx, u, 0, bytes.NewReader(data[:first]), first); err != nil {
		t.Fatal(err)
	}
	if len(uploadFiles(t, dir, id)) == 0 {
		t.Fatalf("no files named %s* under %s", id, dir)
	}

	patchHdr := func(off int64) map[string]string {
		return map[string]string{"Content-Type": tusclient.ContentTypeOffset, "Upload-Offset": fmt.Sprint(off)}
	}
	// check runs one bad request and verifies its status (and body
	// substring, if any), that the upload's files are byte-identical, that
	// its offset did not move and that no new upload was created.
	check := func(name string, wantStatus int, wantBody string, do func() (int, string)) {
		t.Run(name, func(t *testing.T) {
			before := uploadFiles(t, dir, id)
			infos := countInfos(t, dir)
			status, body := do()
			if status != wantStatus {
				t.Errorf("%s: status %d, want %d; body %q", name, status, wantStatus, body)
			} else if wantBody != "" && !strings.Contains(body, wantBody) {
				t.Errorf("%s: body %q lacks %q", name, body, wantBody)
			}
			if off, _, err := c.Head(ctx, u); err != nil || off != first {
				t.Errorf("%s: HEAD afterwards = offset %d, %v; want %d", name, off, err, first)
			}
			if d := sameFiles(before, uploadFiles(t, dir, id)); d != "" {
				t.Errorf("%s: the stored upload changed: %s", name, d)
			}
			if n := countInfos(t, dir); n != infos {
				t.Errorf("%s: %d .info files before, %d after (a rejected request created an upload)", name, infos, n)
			}
		})
	}

	check("wrong Upload-Offset", http.StatusConflict, "", func() (int, string) {
		return rawRequest(t, c, ctx, http.MethodPatch, u, patchHdr(first+1), bytes.NewReader(data[first+1:first+101]), 100)
	})
	check("Upload-Offset 0 on a started upload", http.StatusConflict, "", func() (int, string) {
		return rawRequest(t, c, ctx, http.MethodPatch, u, patchHdr(0), bytes.NewReader(data[:100]), 100)
	})
	check("Upload-Length over -max-size", http.StatusRequestEntityTooLarge, "", func() (int, string) {
		return rawRequest(t, c, ctx, http.MethodPost, s.Endpoint, map[string]string{"Upload-Length": fmt.Sprint(maxSize + 1)}, nil, 0)
	})
	check("Content-Length beyond the declared length", http.StatusRequestEntityTooLarge, "", func() (int, string) {
		n := int64(size - first + 1)
		return rawRequest(t, c, ctx, http.MethodPatch, u, patchHdr(first), bytes.NewReader(randomBytes(6002, int(n))), n)
	})
	for _, md := range []string{"filename !!!notbase64", "a b c", "filename " + strings.Repeat("=", 4) + "x"} {
		check(fmt.Sprintf("Upload-Metadata %q", md), http.StatusBadRequest, "", func() (int, string) {
			return rawRequest(t, c, ctx, http.MethodPost, s.Endpoint, map[string]string{"Upload-Length": "10", "Upload-Metadata": md}, nil, 0)
		})
	}
	for _, l := range []string{"-1", "abc", ""} {
		check(fmt.Sprintf("Upload-Length %q", l), http.StatusBadRequest, "", func() (int, string) {
			return rawRequest(t, c, ctx, http.MethodPost, s.Endpoint, map[string]string{"Upload-Length": l}, nil, 0)
		})
	}
	// tusd answers a wrong Content-Type with 400 ERR_INVALID_CONTENT_TYPE
	// (tus 1.0 suggests 415); tusvault keeps tusd's answer.
	check("PATCH without Content-Type", http.StatusBadRequest, "ERR_INVALID_CONTENT_TYPE", func() (int, string) {
		return rawRequest(t, c, ctx, http.MethodPatch, u, map[string]string{"Upload-Offset": fmt.Sprint(first)}, bytes.NewReader(data[first:first+100]), 100)
	})
	check("PATCH with Content-Type application/octet-stream", http.StatusBadRequest, "ERR_INVALID_CONTENT_TYPE", func() (int, string) {
		return rawRequest(t, c, ctx, http.MethodPatch, u, map[string]string{"Upload-Offset": fmt.Sprint(first), "Content-Type": "application/octet-stream"}, bytes.NewReader(data[first:first+100]), 100)
	})
	// An unknown id of the same shape as the real one (public/<rand>).
	dirPart, rnd := path.Split(id)
	unknownID := dirPart + rnd[len(rnd)-1:] + rnd[:len(rnd)-1]
	if unknownID == id {
		unknownID = dirPart + strings.Repeat("0", len(rnd))
	}
	unknown := strings.TrimSuffix(u, id) + unknownID
	check("HEAD of an unknown id", http.StatusNotFound, "", func() (int, string) {
		return rawRequest(t, c, ctx, http.MethodHead, unknown, nil, nil, 0)
	})
	check("PATCH of an unknown id", http.StatusNotFound, "", func() (int, string) {
		return rawRequest(t, c, ctx, http.MethodPatch, unknown, patchHdr(0), bytes.NewReader(data[:100]), 100)
	})

	// A truncated body: Content-Length 1000, 500 bytes sent, connection
	// closed. The server may keep the 500 bytes or nothing.
	t.Run("truncated body", func(t *testing.T) {
		conn, err := net.DialTimeout("tcp", s.Addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		path := strings.TrimPrefix(u, "http://"+s.Addr)
		req := fmt.Sprintf("PATCH %s HTTP/1.1\r\nHost: %s\r\nTus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\nUpload-Offset: %d\r\nContent-Length: 1000\r\n\r\n", path, s.Addr, first)
		conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if _, err := conn.Write(append([]byte(req), data[first:first+500]...)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
		conn.(*net.TCPConn).CloseWrite()
		t.Logf("response to the truncated PATCH: %q", readStatusLine(conn, 5*time.Second))
		conn.Close()

		// The lock may take a moment to be released: bounded retries.
		var off int64
		for k := 0; ; k++ {
			off, _, err = c.Head(ctx, u)
			if err == nil || k >= 50 {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("HEAD after the truncated PATCH: %v", err)
		}
		t.Logf("offset after the truncated PATCH: %d", off)
		if off != first && off != first+500 {
			t.Fatalf("offset after a truncated PATCH (500 of 1000 bytes at %d): %d; want %d or %d", first, off, first, first+500)
		}
	})

	// Finish the upload: it must be byte-exact after all of the above.
	if err := c.Resume(ctx, u, data, []int{77777}); err != nil {
		t.Fatalf("finishing the upload: %v", err)
	}
	checkGetFull(t, c, ctx, u, data)
	checkDecrypt(t, s, id, data)
}

func TestTerminate(t *testing.T) {
	ctx := testCtx(t, 60*time.Second)
	dir := t.TempDir()
	s := startServer(t, dir)
	c := newClient()
	cases := []struct {
		name string
		size int64
		sent int64
	}{
		{"partial upload with a stored part and a tail", 8 * MiB, 6*MiB + 5},
		{"finished upload", 6*MiB + 1, 6*MiB + 1},
		{"empty partial upload", 1000, 0},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := randomBytes(uint64(7000+i), int(tc.size))
			u, err := c.Create(ctx, s.Endpoint, tc.size, map[string]string{"filename": "gone.bin"})
			if err != nil {
				t.Fatal(err)
			}
			id := uploadID(t, u)
			if tc.sent > 0 {
				if err := c.Upload(ctx, u, data[:tc.sent], []int{4*MiB + 3}); err != nil {
					t.Fatal(err)
				}
			}
			before := uploadFiles(t, dir, id)
			if len(before) == 0 {
				t.Fatalf("no files named %s* under %s before DELETE", id, dir)
			}
			t.Logf("files before DELETE: %d", len(before))
			req, _ := c.NewRequest(ctx, http.MethodDelete, u, nil)
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNoContent {
				t.Fatalf("DELETE: status %d, want 204", resp.StatusCode)
			}
			if _, _, err := c.Head(ctx, u); tusclient.Status(err) != http.StatusNotFound {
				t.Errorf("HEAD after DELETE: %v; want 404", err)
			}
			if status, _, _, err := c.Get(ctx, u, ""); err != nil || status != http.StatusNotFound {
				t.Errorf("GET after DELETE: status %d, %v; want 404", status, err)
			}
			if left := uploadFiles(t, dir, id); len(left) > 0 {
				t.Errorf("files left under %s after DELETE: %v", dir, left)
			}
			if left := uploadFiles(t, s.Tmp, id); len(left) > 0 {
				t.Errorf("files left under %s after DELETE: %v", s.Tmp, left)
			}
		})
	}
}

func TestTamperedCiphertextIsRejected(t *testing.T) {
	ctx := testCtx(t, 60*time.Second)
	dir := t.TempDir()
	s := startServer(t, dir)
	c := newClient()
	const size = 6*MiB + 11
	data := randomBytes(8001, size)
	u, err := c.Create(ctx, s.Endpoint, size, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Upload(ctx, u, data, []int{2 * MiB}); err != nil {
		t.Fatal(err)
	}
	id := uploadID(t, u)
	checkDecrypt(t, s, id, data)

	// Flip one bit of the final ciphertext object.
	obj := filepath.Join(dir, id) // the final object
	b, err := readWhole(obj)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != size {
		t.Fatalf("final object %s has %d bytes, want %d (no expansion)", obj, len(b), size)
	}
	b[3*MiB+5] ^= 0x01
	if err := writeWhole(obj, b); err != nil {
		t.Fatal(err)
	}

	for _, toFile := range []bool{true, false} {
		out, err := decrypt(t, s, id, toFile)
		if err == nil {
			t.Errorf("decrypt (to file: %v) of a tampered upload exited 0", toFile)
		}
		if len(out) > 0 {
			t.Errorf("decrypt (to file: %v) of a tampered upload output %d bytes", toFile, len(out))
		}
	}
	status, body, _, err := c.Get(ctx, u, "")
	if err == nil && status == http.StatusOK {
		t.Errorf("full GET of a tampered upload ended cleanly (%d bytes, equal to the original: %v); want an aborted body",
			len(body), bytes.Equal(body, data))
	}
	// A ranged GET away from the flipped byte is unauthenticated by design
	// and still decrypts.
	status, body, _, err = c.Get(ctx, u, "bytes=0-99")
	if err != nil || status != http.StatusPartialContent || !bytes.Equal(body, data[:100]) {
		t.Errorf("ranged GET of an unaffected range: status %d, %v, equal %v", status, err, bytes.Equal(body, data[:100]))
	}
}
