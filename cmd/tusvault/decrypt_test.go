package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tus/tusd/v2/pkg/handler"

	"github.com/tusvault/tusvault/store"
	"github.com/tusvault/tusvault/store/crypt"
)

// finishedUpload stores data as the finished upload id in a new upload dir
// (with its keyring) through the store itself, as a server would, and
// returns the dir.
func finishedUpload(t *testing.T, id string, data []byte) string {
	t.Helper()
	dir := t.TempDir()
	kr, err := crypt.NewKeyring()
	if err != nil {
		t.Fatal(err)
	}
	if err := kr.Save(filepath.Join(dir, "keyring.json")); err != nil {
		t.Fatal(err)
	}
	storeUpload(t, storageFlags{UploadDir: dir}, id, data, int64(len(data)))
	return dir
}

// storeUpload writes data as upload id of the given size to the storage sf
// selects (its keyring must exist), through the store as a server would;
// the upload is finished when data is all of it.
func storeUpload(t *testing.T, sf storageFlags, id string, data []byte, size int64) {
	t.Helper()
	ctx := context.Background()
	st, _, err := sf.openStore(ctx, noEnv, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	up, err := st.NewUpload(ctx, handler.FileInfo{ID: id, Size: size})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := up.WriteChunk(ctx, 0, bytes.NewReader(data)); err != nil || n != int64(len(data)) {
		t.Fatalf("WriteChunk: %d, %v", n, err)
	}
	if int64(len(data)) < size {
		return
	}
	if err := up.FinishUpload(ctx); err != nil {
		t.Fatal(err)
	}
}

const testID = "0123456789abcdef0123456789abcdef"

var testData = []byte("the quick brown fox jumps over the lazy dog, encrypted\n")

func TestDecryptToStdoutAndFile(t *testing.T) {
	dir := finishedUpload(t, testID, testData)

	out, _, err := runCmd(t, "decrypt", "-upload-dir", dir, testID)
	if err != nil {
		t.Fatal(err)
	}
	if out != string(testData) {
		t.Errorf("stdout %q", out)
	}

	// The flags may follow the id.
	file := filepath.Join(t.TempDir(), "plain.txt")
	out, _, err = runCmd(t, "decrypt", testID, "-upload-dir", dir, "-o", file)
	if err != nil {
		t.Fatal(err)
	}
	if out != "" {
		t.Errorf("stdout %q with -o", out)
	}
	got, err := os.ReadFile(file)
	if err != nil || !bytes.Equal(got, testData) {
		t.Fatalf("file %q, %v", got, err)
	}
	if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %#o, want 0600", fi.Mode().Perm())
	}
	assertOnlyFiles(t, filepath.Dir(file), "plain.txt")
}

func TestDecryptTagMismatch(t *testing.T) {
	dir := finishedUpload(t, testID, testData)
	// Flip one ciphertext bit of the data object.
	obj := filepath.Join(dir, testID)
	ct, err := os.ReadFile(obj)
	if err != nil {
		t.Fatal(err)
	}
	ct[3] ^= 1
	if err := os.WriteFile(obj, ct, 0o600); err != nil {
		t.Fatal(err)
	}
	want := "decrypt: " + testID + ": tag mismatch, refusing to output"

	out, _, err := runCmd(t, "decrypt", "-upload-dir", dir, testID)
	if err == nil || err.Error() != want || !errors.Is(err, store.ErrTagMismatch) {
		t.Fatalf("got %v, want %q", err, want)
	}
	if out != "" {
		t.Errorf("wrote %q to stdout", out)
	}

	outDir := t.TempDir()
	file := filepath.Join(outDir, "plain.txt")
	_, _, err = runCmd(t, "decrypt", "-upload-dir", dir, "-o", file, testID)
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
	assertOnlyFiles(t, outDir)

	// An existing file is left alone.
	if err := os.WriteFile(file, []byte("before"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err = runCmd(t, "decrypt", "-upload-dir", dir, "-o", file, testID); err == nil {
		t.Fatal("no error")
	}
	if b, _ := os.ReadFile(file); string(b) != "before" {
		t.Errorf("existing file now %q", b)
	}
	assertOnlyFiles(t, outDir, "plain.txt")
}

func TestDecryptUnknownUpload(t *testing.T) {
	dir := finishedUpload(t, testID, testData)
	outDir := t.TempDir()
	_, _, err := runCmd(t, "decrypt", "-upload-dir", dir, "-o", filepath.Join(outDir, "x"), "ffffffffffffffffffffffffffffffff")
	if err == nil || !strings.HasPrefix(err.Error(), "decrypt: ffffffffffffffffffffffffffffffff: ") {
		t.Fatalf("got %v", err)
	}
	assertOnlyFiles(t, outDir)
}

func TestDecryptNeedsUploadDirAndKeyring(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	if _, _, err := runCmd(t, "decrypt", "-upload-dir", missing, testID); err == nil {
		t.Error("no error for a missing upload dir")
	}
	if _, err := os.Stat(missing); err == nil {
		t.Error("decrypt created the upload dir")
	}
	empty := t.TempDir()
	if _, _, err := runCmd(t, "decrypt", "-upload-dir", empty, testID); err == nil || !strings.Contains(err.Error(), "no keyring") {
		t.Errorf("got %v, want no keyring", err)
	}
}

func TestKeysRewrap(t *testing.T) {
	dir := finishedUpload(t, testID, testData)
	rot, _, err := runCmd(t, "keys", "rotate", "-upload-dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := runCmd(t, "keys", "rewrap", "-upload-dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := "Re-wrapped 1 uploads under key " + strings.TrimSpace(rot) + "."; strings.TrimSpace(out) != want {
		t.Errorf("got %q, want %q", out, want)
	}
	info, err := os.ReadFile(filepath.Join(dir, testID+".info"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(info), strings.TrimSpace(rot)) {
		t.Error(".info does not name the new kid")
	}
	if out, _, err = runCmd(t, "decrypt", "-upload-dir", dir, testID); err != nil || out != string(testData) {
		t.Fatalf("decrypt after rewrap: %q, %v", out, err)
	}
	// Nothing left to re-wrap.
	if out, _, err = runCmd(t, "keys", "rewrap", "-upload-dir", dir); err != nil || !strings.HasPrefix(out, "Re-wrapped 0 uploads") {
		t.Errorf("second rewrap: %q, %v", out, err)
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out")
	boom := errors.New("boom")
	err := writeFileAtomic(path, func(w io.Writer) error {
		w.Write(bytes.Repeat([]byte("x"), 100<<10)) // more than the buffer
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
	assertOnlyFiles(t, dir)

	if err := writeFileAtomic(path, func(w io.Writer) error {
		_, err := io.WriteString(w, "ok")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "ok" {
		t.Errorf("content %q", b)
	}
	assertOnlyFiles(t, dir, "out")
}

// assertOnlyFiles checks that dir holds exactly the named entries.
func assertOnlyFiles(t *testing.T, dir string, names ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	if strings.Join(got, ",") != strings.Join(names, ",") {
		t.Errorf("%s holds %q, want %q", dir, got, names)
	}
}
