package e2e

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tusvault/tusvault/internal/s3server"
	"github.com/tusvault/tusvault/store/crypt"
)

// s3Env is a versitygw bucket and a keyring that S3 servers share.
type s3Env struct {
	srv     *s3server.Server
	keyring string
}

// newS3Env starts versitygw, creates a keyring file and puts the
// credentials where the AWS SDK of the tusvault process finds them.
func newS3Env(t *testing.T) *s3Env {
	t.Helper()
	srv := s3server.Start(t)
	t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey)
	t.Setenv("AWS_REGION", srv.Region)
	kr, err := crypt.NewKeyring()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "keyring.json")
	if err := kr.Save(path); err != nil {
		t.Fatal(err)
	}
	return &s3Env{srv: srv, keyring: path}
}

// start runs tusvault on the bucket; dir holds only the spool.
func (e *s3Env) start(t *testing.T, dir string, extra ...string) *server {
	t.Helper()
	flags := []string{"-s3-bucket", e.srv.Bucket, "-s3-endpoint", e.srv.Endpoint, "-keyring", e.keyring}
	s := startServer(t, dir, append(flags, extra...)...)
	s.ObjDir = filepath.Join(e.srv.Dir, e.srv.Bucket)
	s.Storage = append(s.Storage, flags...)
	return s
}

// On S3, a SIGKILL of tusvault mid-PATCH then a resume on a fresh process
// gives the exact bytes and a valid tag; decrypt reads from S3; and none of
// the raw objects in versitygw's directory holds plaintext or the name.
func TestS3ResumeAfterSIGKILLAndAtRest(t *testing.T) {
	ctx := testCtx(t, 120*time.Second)
	env := newS3Env(t)
	dir := t.TempDir()
	s := env.start(t, dir)
	c := newClient()
	const size = 20 * MiB
	data := recognisable(7001, "The S3 provider must never read this sentence, nor the name. ", size)
	u, err := c.Create(ctx, s.Endpoint, size, map[string]string{"filename": secretName, "filetype": "image/jpeg"})
	if err != nil {
		t.Fatal(err)
	}
	id := uploadID(t, u)

	seen := killMidPatch(t, s, c, ctx, u, data, 12*MiB)

	s2 := env.start(t, dir)
	u2 := strings.Replace(u, s.Addr, s2.Addr, 1)
	off, _, err := c.Head(ctx, u2)
	if err != nil {
		t.Fatalf("HEAD after restart: %v", err)
	}
	t.Logf("offset after restart: %d (client had written %d)", off, seen.written)
	if off > seen.written {
		t.Fatalf("offset %d is past the %d bytes the client sent", off, seen.written)
	}
	if off < 5*MiB {
		t.Errorf("offset %d after restart: the parts confirmed before the kill were lost", off)
	}

	// A second upload left half-done, so that a tail object exists too.
	half := recognisable(7002, "Half-finished upload text that S3 must not see either. ", 8*MiB)
	uHalf, err := c.Create(ctx, s2.Endpoint, int64(len(half)), map[string]string{"filename": secretName})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Patch(ctx, uHalf, 0, bytes.NewReader(half[:6*MiB+3]), 6*MiB+3); err != nil {
		t.Fatal(err)
	}

	if err := c.UploadFrom(ctx, u2, data, off, []int{3*MiB + 1}); err != nil {
		t.Fatalf("resuming at %d: %v", off, err)
	}
	checkGetFull(t, c, ctx, u2, data)
	checkDecrypt(t, s2, id, data)
	if info := readInfo(t, s2.ObjDir, id); len(info.Enc.Tag) != 32 {
		t.Errorf("finished upload's .info has a %d-byte Tag, want 32", len(info.Enc.Tag))
	}

	ix := newPlaintextIndex(map[string][]byte{"resumed": data, "half-done": half})
	files, total := scanAtRest(t, ix, env.srv.Dir, dir, s2.Tmp)
	t.Logf("scanned %d files, %d bytes under versitygw's root and the spool", files, total)
	if total < size {
		t.Errorf("scanned only %d bytes; the stored ciphertext alone is %d", total, size)
	}
}
