package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/tus/tusd/v2/pkg/handler"

	"github.com/tusvault/tusvault/internal/backendtest"
	"github.com/tusvault/tusvault/internal/v2tamper"
	"github.com/tusvault/tusvault/store"
	"github.com/tusvault/tusvault/store/crypt"
)

// storeInPieces writes data as the finished upload id to the storage sf
// selects, one request (one segment) per piece and the rest in a last
// one, through the store as a server would.
func storeInPieces(t *testing.T, sf storageFlags, id string, data []byte, pieces ...int) {
	t.Helper()
	ctx := context.Background()
	st, _, err := sf.openStore(ctx, noEnv, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.NewUpload(ctx, handler.FileInfo{ID: id, Size: int64(len(data))}); err != nil {
		t.Fatal(err)
	}
	var off int64
	for i := 0; off < int64(len(data)); i++ {
		n := int64(len(data)) - off
		if i < len(pieces) {
			n = min(n, int64(pieces[i]))
		}
		up, err := st.GetUpload(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if k, err := up.WriteChunk(ctx, off, bytes.NewReader(data[off:off+n])); err != nil || k != n {
			t.Fatalf("WriteChunk of %d bytes at %d: %d, %v", n, off, k, err)
		}
		off += n
		if off == int64(len(data)) {
			if err := up.FinishUpload(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// `tusvault decrypt` of a v2 upload altered in any of the ways v2tamper
// lists (data, tag objects, .info, swapped chunks, a chunk of another
// upload, objects cut short or missing) fails and writes nothing: not to
// stdout, and no file (nor temporary file) for -o. The upload spans three
// parts and five segments; undone, it decrypts again.
func TestDecryptV2Tampered(t *testing.T) {
	dir := t.TempDir()
	kr, err := crypt.NewKeyring()
	if err != nil {
		t.Fatal(err)
	}
	if err := kr.Save(filepath.Join(dir, "keyring.json")); err != nil {
		t.Fatal(err)
	}
	sf := storageFlags{UploadDir: dir}
	const otherID = "fedcba9876543210fedcba9876543210"
	data := backendtest.RandomBytes(1, 11<<20+17)
	pieces := []int{100000, 3 << 20, 3<<20 + 12345, 1}
	storeInPieces(t, sf, testID, data, pieces...)
	storeInPieces(t, sf, otherID, backendtest.RandomBytes(2, len(data)), pieces...)
	up, cases, snap, err := v2tamper.Prepare(dir, testID, otherID)
	if err != nil {
		t.Fatal(err)
	}
	decrypts := func() bool {
		t.Helper()
		out, _, err := runCmd(t, "decrypt", "-upload-dir", dir, testID)
		return err == nil && out == string(data)
	}
	if !decrypts() {
		t.Fatal("the upload does not decrypt before any alteration")
	}
	want := "decrypt: " + testID + ": tag mismatch, refusing to output"
	for _, c := range cases {
		if err := c.Apply(); err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		out, _, err := runCmd(t, "decrypt", "-upload-dir", dir, testID)
		if err == nil || out != "" {
			t.Errorf("%s: stdout got %d bytes, %v; want nothing and an error", c.Name, len(out), err)
		} else if !c.Missing && (err.Error() != want || !errors.Is(err, store.ErrTagMismatch)) {
			t.Errorf("%s: %v, want %q", c.Name, err, want)
		}
		outDir := t.TempDir()
		if _, _, err := runCmd(t, "decrypt", "-upload-dir", dir, "-o", filepath.Join(outDir, "plain.bin"), testID); err == nil {
			t.Errorf("%s: decrypt -o succeeded", c.Name)
		}
		assertOnlyFiles(t, outDir)
		if err := up.Restore(snap); err != nil {
			t.Fatal(err)
		}
	}
	if !decrypts() {
		t.Fatal("the upload does not decrypt once restored")
	}
}
