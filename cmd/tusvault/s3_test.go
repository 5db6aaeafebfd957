package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tusvault/tusvault/hooks"
	"github.com/tusvault/tusvault/internal/s3server"
	"github.com/tusvault/tusvault/internal/tusclient"
)

// s3Env points the AWS SDK's default chain at srv's credentials and
// region, and away from the developer's own AWS settings. The SDK reads the
// process environment, so tests that call it cannot run in parallel.
func s3Env(t *testing.T, srv *s3server.Server) {
	t.Helper()
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":           srv.AccessKey,
		"AWS_SECRET_ACCESS_KEY":       srv.SecretKey,
		"AWS_SESSION_TOKEN":           "",
		"AWS_REGION":                  srv.Region,
		"AWS_DEFAULT_REGION":          "",
		"AWS_PROFILE":                 "",
		"AWS_CONFIG_FILE":             filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_ENDPOINT_URL":            "",
		"AWS_ENDPOINT_URL_S3":         "",
	} {
		t.Setenv(k, v)
	}
}

// newKeyring runs `tusvault keys init` and returns the keyring's path.
func newKeyring(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keyring.json")
	if _, _, err := runCmd(t, "keys", "init", "-keyring", path); err != nil {
		t.Fatal(err)
	}
	return path
}

// plaintext is recognizable data: a marker repeated, then random bytes.
func plaintext(t *testing.T, n int) []byte {
	t.Helper()
	b := bytes.Repeat([]byte("TUSVAULT-PLAINTEXT-MARKER-"), n/26+1)[:n]
	rand.Read(b[n/2:])
	return b
}

// readTree returns the contents of every regular file under dir, by path
// relative to dir.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestServeS3(t *testing.T) {
	srv := s3server.Start(t)
	s3Env(t, srv)
	keyring := newKeyring(t)
	secretFile := filepath.Join(t.TempDir(), "auth.secret")
	secret, err := hooks.CreateSecretFile(secretFile)
	if err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "-s3-bucket", srv.Bucket, "-s3-endpoint", srv.Endpoint, "-keyring", keyring, "-s3-part-size", "5242880",
		"-auth-secret-file", secretFile)

	out := s.stdout.String()
	for _, want := range []string{
		fmt.Sprintf("Using S3 bucket '%s' at endpoint %s as storage (credentials from the AWS default chain).", srv.Bucket, srv.Endpoint),
		"in-memory locker", "Redis",
		"Using 5.00MB parts",
		"spooled in '" + filepath.Join(s.dir, ".tusvault", "spool") + "'",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("startup output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, srv.SecretKey) || strings.Contains(out, srv.AccessKey) {
		t.Error("startup output shows the credentials")
	}
	if strings.Contains(out, "directory storage") {
		t.Error("startup output names the directory storage")
	}
	if _, err := os.Stat(filepath.Join(s.dir, "keyring.json")); err == nil {
		t.Error("a keyring was created in the upload dir")
	}

	// An upload of two parts, metadata included, and back.
	data := plaintext(t, 6<<20)
	ctx := context.Background()
	c := tusclient.Client{Header: bearer(t, secret, hooks.Claims{Subject: "alice"})}
	u, err := c.Create(ctx, s.url, int64(len(data)), map[string]string{"filename": "secret-report.pdf"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Upload(ctx, u, data, []int{1 << 20, 2 << 20}); err != nil {
		t.Fatal(err)
	}
	status, body, _, err := c.Get(ctx, u, "")
	if err != nil || status != 200 || !bytes.Equal(body, data) {
		t.Fatalf("GET: %d, %d bytes, %v", status, len(body), err)
	}

	// The bucket holds the data object and its .info, and only ciphertext.
	id := strings.TrimPrefix(u, s.url)
	if !strings.HasPrefix(id, "home/alice/") {
		t.Errorf("upload id %q, want home/alice/<id>", id)
	}
	files := readTree(t, filepath.Join(srv.Dir, srv.Bucket))
	if obj, ok := files[id]; !ok || len(obj) != len(data) {
		t.Errorf("object %s: present %v, %d bytes, want %d", id, ok, len(obj), len(data))
	}
	if _, ok := files[id+".info"]; !ok {
		t.Errorf("no object %s.info among %d files", id, len(files))
	}
	for name, b := range files {
		if bytes.Contains(b, []byte("TUSVAULT-PLAINTEXT")) || bytes.Contains(b, data[len(data)-64:]) || bytes.Contains(b, []byte("secret-report")) {
			t.Errorf("%s holds plaintext", name)
		}
	}
}

func TestServeS3MissingBucketFailsFast(t *testing.T) {
	srv := s3server.Start(t)
	s3Env(t, srv)
	keyring := newKeyring(t)
	start := time.Now()
	err := run(context.Background(), []string{"tusvault", "-host", "127.0.0.1", "-port", "0", "-upload-dir", t.TempDir(),
		"-keyring", keyring, "-s3-bucket", "no-such-bucket-here", "-s3-endpoint", srv.Endpoint, "-auth=none"}, noEnv, io.Discard, io.Discard)
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("failed after %v", d)
	}
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), `bucket "no-such-bucket-here" not found`) {
		t.Fatalf("got %v, want one line naming the bucket", err)
	}
	t.Log(err)
}

func TestServeS3UnreachableFailsFast(t *testing.T) {
	// Nothing listens on the port: no S3 server, and no credentials needed
	// to find that out.
	port, err := s3server.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	s3Env(t, &s3server.Server{AccessKey: "AKIDEXAMPLE", SecretKey: "not-a-secret", Region: "us-east-1"})
	keyring := newKeyring(t)
	endpoint := fmt.Sprintf("http://127.0.0.1:%d", port)
	start := time.Now()
	err = run(context.Background(), []string{"tusvault", "-host", "127.0.0.1", "-port", "0", "-upload-dir", t.TempDir(),
		"-keyring", keyring, "-s3-bucket", "bucket", "-s3-endpoint", endpoint, "-auth=none"}, noEnv, io.Discard, io.Discard)
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("failed after %v", d)
	}
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "cannot reach endpoint "+endpoint) {
		t.Fatalf("got %v, want one line naming the endpoint", err)
	}
	if strings.Contains(err.Error(), "not-a-secret") {
		t.Error("the error shows the secret")
	}
	t.Log(err)
}

func TestServeS3NeedsAnExistingKeyring(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var stdout syncBuffer
	// The keyring is checked before the bucket: no S3 server needed.
	err := run(context.Background(), []string{"tusvault", "-host", "127.0.0.1", "-port", "0", "-upload-dir", dir,
		"-s3-bucket", "bucket", "-s3-endpoint", "http://127.0.0.1:1", "-auth=none"}, noEnv, &stdout, io.Discard)
	path := filepath.Join(dir, "keyring.json")
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "no keyring at "+path) ||
		!strings.Contains(err.Error(), "tusvault keys init -keyring "+path) {
		t.Fatalf("got %v, want one line telling how to create the keyring", err)
	}
	if _, err := os.Stat(path); err == nil {
		t.Error("a keyring was created")
	}
	if strings.Contains(stdout.String(), "WARNING: created a new keyring") {
		t.Error("warned about a new keyring")
	}
}

func TestDecryptAndRewrapS3(t *testing.T) {
	srv := s3server.Start(t)
	s3Env(t, srv)
	keyring := newKeyring(t)
	sf := storageFlags{UploadDir: t.TempDir(), Keyring: keyring, S3Bucket: srv.Bucket, S3Endpoint: srv.Endpoint, S3ObjectPrefix: "pre/"}
	data := plaintext(t, 11<<20) // three parts
	storeUpload(t, sf, testID, data, int64(len(data)))
	if _, err := os.Stat(filepath.Join(srv.Dir, srv.Bucket, "pre", testID)); err != nil {
		t.Fatalf("object under the prefix: %v", err)
	}

	s3Args := []string{"-keyring", keyring, "-s3-bucket", srv.Bucket, "-s3-endpoint", srv.Endpoint, "-s3-object-prefix", "pre/"}
	out, _, err := runCmd(t, append(append([]string{"decrypt"}, s3Args...), testID)...)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal([]byte(out), data) {
		t.Fatalf("decrypt: %d bytes, want %d", len(out), len(data))
	}
	file := filepath.Join(t.TempDir(), "plain")
	if _, _, err := runCmd(t, append(append([]string{"decrypt", testID, "-o", file}, s3Args...), "-s3-log-api-calls")...); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(file); !bytes.Equal(b, data) {
		t.Fatal("decrypt -o: wrong plaintext")
	}

	// Rotate, then re-wrap the upload in the bucket.
	kid, _, err := runCmd(t, "keys", "rotate", "-keyring", keyring)
	if err != nil {
		t.Fatal(err)
	}
	out, _, err = runCmd(t, append([]string{"keys", "rewrap"}, s3Args...)...)
	if err != nil || strings.TrimSpace(out) != "Re-wrapped 1 uploads under key "+strings.TrimSpace(kid)+"." {
		t.Fatalf("rewrap: %q, %v", out, err)
	}
	if out, _, err = runCmd(t, append(append([]string{"decrypt"}, s3Args...), testID)...); err != nil || !bytes.Equal([]byte(out), data) {
		t.Fatalf("decrypt after rewrap: %d bytes, %v", len(out), err)
	}

	// cleanup removes a stale unfinished upload from the bucket (versitygw
	// reports a file's mtime as its object's LastModified) and keeps the
	// finished one.
	storeUpload(t, sf, staleID, data[:1000], 2000)
	info := filepath.Join(srv.Dir, srv.Bucket, "pre", staleID+".info")
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(info, old, old); err != nil {
		t.Fatal(err)
	}
	out, _, err = runCmd(t, append([]string{"cleanup", "-expire-after", "1h"}, s3Args...)...)
	if err != nil || !strings.HasPrefix(out, "Removed 1 expired uploads, ") || !strings.HasSuffix(out, "\n"+staleID+"\n") {
		t.Fatalf("cleanup: %q, %v", out, err)
	}
	if _, err := os.Stat(info); !os.IsNotExist(err) {
		t.Errorf("stale .info in the bucket: %v", err)
	}
	if _, err := os.Stat(filepath.Join(srv.Dir, srv.Bucket, "pre", testID)); err != nil {
		t.Errorf("finished upload: %v", err)
	}
}
