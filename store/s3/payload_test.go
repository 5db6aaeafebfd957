package s3_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tusvault/tusvault/internal/backendtest"
	"github.com/tusvault/tusvault/internal/s3server"
	"github.com/tusvault/tusvault/store"
)

// hashedBody is a body that knows its SHA-256 (as store.HashedBody) and
// counts the bytes read from it.
type hashedBody struct {
	*io.SectionReader
	sum  []byte
	read atomic.Int64
}

func (b *hashedBody) PayloadSHA256() []byte { return b.sum }

func (b *hashedBody) Read(p []byte) (int, error) {
	n, err := b.SectionReader.Read(p)
	b.read.Add(int64(n))
	return n, err
}

func newHashedBody(data, sum []byte) *hashedBody {
	return &hashedBody{SectionReader: io.NewSectionReader(bytes.NewReader(data), 0, int64(len(data))), sum: sum}
}

// sigHeaders records the X-Amz-Content-Sha256 header of every PUT.
type sigHeaders struct {
	next http.RoundTripper
	mu   sync.Mutex
	got  []string
}

func (s *sigHeaders) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPut {
		s.mu.Lock()
		s.got = append(s.got, r.Header.Get("X-Amz-Content-Sha256"))
		s.mu.Unlock()
	}
	return s.next.RoundTrip(r)
}

// Over plain HTTP the backend signs the SHA-256 a body brings (read once,
// to send it) and the server checks it; a wrong one fails the upload, so
// the hash is really the one signed. Bodies without one are hashed by the
// SDK as before.
func TestPresetPayloadHash(t *testing.T) {
	srv := s3server.Start(t)
	ctx := t.Context()
	rec := &sigHeaders{next: http.DefaultTransport}
	cfg := config(srv, srv.Bucket)
	cfg.HTTPClient = &http.Client{Transport: rec}
	cfg.MaxAttempts = 1
	b := newBackend(t, cfg)
	if !b.HashesPayloads() {
		t.Fatal("HashesPayloads() = false over plain HTTP")
	}
	data := backendtest.RandomBytes(7, backendtest.MinPartSize)
	sum := sha256.Sum256(data)
	id, err := b.CreateMultipart(ctx, "k", nil)
	if err != nil {
		t.Fatal(err)
	}
	body := newHashedBody(data, sum[:])
	part, err := b.UploadPart(ctx, "k", id, 1, body, int64(len(data)))
	if err != nil {
		t.Fatalf("UploadPart with the right hash: %v", err)
	}
	if n := body.read.Load(); n != int64(len(data)) {
		t.Errorf("%d bytes read from the body, want %d (sent once, not hashed again)", n, len(data))
	}
	bad := sha256.Sum256([]byte("other bytes"))
	if _, err := b.UploadPart(ctx, "k", id, 2, newHashedBody(data[:100], bad[:]), 100); err == nil {
		t.Error("UploadPart with a wrong hash succeeded: the preset hash is not the one signed")
	}
	plain := bytes.NewReader(data[:100])
	p2, err := b.UploadPart(ctx, "k", id, 2, plain, 100)
	if err != nil {
		t.Fatalf("UploadPart without a hash: %v", err)
	}
	if err := b.CompleteMultipart(ctx, "k", id, []store.Part{part, p2}); err != nil {
		t.Fatal(err)
	}
	if got := backendtest.Get(t, b, "k", 0, -1); !bytes.Equal(got, append(data[:len(data):len(data)], data[:100]...)) {
		t.Error("object differs from its parts")
	}
	small := sha256.Sum256(data[:100])
	want := []string{hexString(sum[:]), hexString(bad[:]), hexString(small[:])}
	if len(rec.got) != len(want) {
		t.Fatalf("PUT payload hashes %q, want %q", rec.got, want)
	}
	for i := range want {
		if rec.got[i] != want[i] {
			t.Errorf("PUT %d signed payload %q, want %q", i+1, rec.got[i], want[i])
		}
	}
}

// Over HTTPS the SDK sends UploadPart and PutObject as UNSIGNED-PAYLOAD,
// and so does plain HTTP with UnsignedPayload: nothing to hash, so the
// backend asks the store for no hash, reads each body once, and the
// server stores the bytes.
func TestUnsignedPayload(t *testing.T) {
	for _, tt := range []struct {
		name     string
		tls      bool
		unsigned bool
	}{
		{"https", true, false},
		{"http-unsigned-payload", false, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := s3server.StartWith(t, s3server.Options{TLS: tt.tls})
			ctx := t.Context()
			rec := &sigHeaders{next: srv.HTTPClient().Transport}
			cfg := config(srv, srv.Bucket)
			cfg.HTTPClient = &http.Client{Transport: rec}
			cfg.UnsignedPayload = tt.unsigned
			b := newBackend(t, cfg)
			if b.HashesPayloads() {
				t.Error("HashesPayloads() = true")
			}
			data := backendtest.RandomBytes(8, backendtest.MinPartSize)
			id, err := b.CreateMultipart(ctx, "k", nil)
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(data)
			body := newHashedBody(data, sum[:])
			part, err := b.UploadPart(ctx, "k", id, 1, body, int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			if n := body.read.Load(); n != int64(len(data)) {
				t.Errorf("%d bytes read from the body, want %d (sent once, never hashed)", n, len(data))
			}
			if err := b.CompleteMultipart(ctx, "k", id, []store.Part{part}); err != nil {
				t.Fatal(err)
			}
			if err := b.Put(ctx, "k.info", bytes.NewReader(data[:10]), 10); err != nil {
				t.Fatal(err)
			}
			if got := backendtest.Get(t, b, "k", 0, -1); !bytes.Equal(got, data) {
				t.Error("object differs from its part")
			}
			for i, h := range rec.got {
				if h != "UNSIGNED-PAYLOAD" {
					t.Errorf("PUT %d signed payload %q, want UNSIGNED-PAYLOAD", i+1, h)
				}
			}
			if len(rec.got) != 2 {
				t.Errorf("%d PUTs seen, want 2", len(rec.got))
			}
		})
	}
}

func hexString(b []byte) string { return hex.EncodeToString(b) }
