package s3_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tusvault/tusvault/internal/backendtest"
	"github.com/tusvault/tusvault/internal/s3server"
	"github.com/tusvault/tusvault/store"
	"github.com/tusvault/tusvault/store/s3"
)

// config returns a Config for srv's bucket with the test's defaults: the
// server's credentials and short backoffs.
func config(srv *s3server.Server, bucket string) s3.Config {
	return s3.Config{
		Bucket:      bucket,
		Endpoint:    srv.Endpoint,
		Region:      srv.Region,
		Credentials: srv.Credentials(),
		MaxBackoff:  50 * time.Millisecond,
	}
}

func newBackend(t *testing.T, cfg s3.Config) *s3.Backend {
	t.Helper()
	b, err := s3.New(t.Context(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return b
}

func TestConformance(t *testing.T) {
	srv := s3server.Start(t)
	backendtest.Run(t, func(t *testing.T) store.Backend {
		return newBackend(t, config(srv, srv.NewBucket(t)))
	})
}

// TestConformanceUnsignedPayload runs the suite over plain HTTP with
// UnsignedPayload: every operation the store uses takes the swapped
// payload middleware.
func TestConformanceUnsignedPayload(t *testing.T) {
	srv := s3server.Start(t)
	backendtest.Run(t, func(t *testing.T) store.Backend {
		cfg := config(srv, srv.NewBucket(t))
		cfg.UnsignedPayload = true
		return newBackend(t, cfg)
	})
}

// TestConformancePrefix runs the suite with ObjectPrefix in one shared
// bucket, a fresh prefix per subtest, so that prefix handling (keys in,
// keys listed out) is checked by every subtest.
func TestConformancePrefix(t *testing.T) {
	srv := s3server.Start(t)
	n := 0
	backendtest.Run(t, func(t *testing.T) store.Backend {
		n++
		cfg := config(srv, srv.Bucket)
		cfg.ObjectPrefix = fmt.Sprintf("tenant-%d/", n)
		return newBackend(t, cfg)
	})
}

func TestObjectPrefixIsolation(t *testing.T) {
	srv := s3server.Start(t)
	ctx := t.Context()
	root := newBackend(t, config(srv, srv.Bucket))
	backends := map[string]*s3.Backend{}
	for _, p := range []string{"a/", "b/"} {
		cfg := config(srv, srv.Bucket)
		cfg.ObjectPrefix = p
		backends[p] = newBackend(t, cfg)
	}
	for p, b := range backends {
		if err := b.Put(ctx, "k", strings.NewReader("data of "+p), int64(len("data of "+p))); err != nil {
			t.Fatalf("Put in %s: %v", p, err)
		}
		if _, err := b.CreateMultipart(ctx, "up", nil); err != nil {
			t.Fatalf("CreateMultipart in %s: %v", p, err)
		}
	}
	for p, b := range backends {
		if got := string(backendtest.Get(t, b, "k", 0, -1)); got != "data of "+p {
			t.Errorf("Get(k) with prefix %s = %q", p, got)
		}
		if keys := list(t, b, ""); !slices.Equal(keys, []string{"k"}) {
			t.Errorf("List with prefix %s = %q, want [k]", p, keys)
		}
		var ups []string
		err := b.ListMultipartUploads(ctx, "", func(key, id string, _ time.Time) error {
			ups = append(ups, key)
			return nil
		})
		if err != nil || !slices.Equal(ups, []string{"up"}) {
			t.Errorf("ListMultipartUploads with prefix %s = %q, %v; want [up]", p, ups, err)
		}
		// The object is stored under the prefix.
		raw, err := os.ReadFile(filepath.Join(srv.Dir, srv.Bucket, p, "k"))
		if err != nil || string(raw) != "data of "+p {
			t.Errorf("raw object %sk = %q, %v", p, raw, err)
		}
	}
	if keys := list(t, root, ""); !slices.Equal(keys, []string{"a/k", "b/k"}) {
		t.Errorf("List without prefix = %q, want [a/k b/k]", keys)
	}
	if err := backends["a/"].Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if got := string(backendtest.Get(t, backends["b/"], "k", 0, -1)); got != "data of b/" {
		t.Errorf("b/k after deleting a/k = %q", got)
	}
}

func TestMetaAfterCompleteMultipart(t *testing.T) {
	srv := s3server.Start(t)
	ctx := t.Context()
	b := newBackend(t, config(srv, srv.Bucket))
	meta := map[string]string{
		"tusvault-format":      "1",
		"Tusvault-Kid":         "k2026",
		"tusvault-wrapped-dek": base64.StdEncoding.EncodeToString(backendtest.RandomBytes(1, 60)),
	}
	key := "home/alice/upload1"
	id, err := b.CreateMultipart(ctx, key, meta)
	if err != nil {
		t.Fatal(err)
	}
	data := backendtest.RandomBytes(2, backendtest.MinPartSize+17)
	p1, err := b.UploadPart(ctx, key, id, 1, bytes.NewReader(data[:backendtest.MinPartSize]), backendtest.MinPartSize)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := b.UploadPart(ctx, key, id, 2, bytes.NewReader(data[backendtest.MinPartSize:]), 17)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.CompleteMultipart(ctx, key, id, []store.Part{p1, p2}); err != nil {
		t.Fatal(err)
	}
	info, err := b.Head(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for k, v := range meta {
		want[strings.ToLower(k)] = v
	}
	if !maps.Equal(info.Meta, want) || info.Size != int64(len(data)) || info.ModTime.IsZero() {
		t.Errorf("Head = %+v, want size %d, meta %v and a ModTime", info, len(data), want)
	}
	// The service itself shows it as x-amz-meta-*.
	out, err := srv.Client().HeadObject(ctx, &awss3.HeadObjectInput{Bucket: aws.String(srv.Bucket), Key: aws.String(key)})
	if err != nil || out.Metadata["tusvault-kid"] != "k2026" {
		t.Errorf("raw HeadObject metadata = %v, %v", out.Metadata, err)
	}
	if got := string(backendtest.Get(t, b, key, 0, -1)); got != string(data) {
		t.Errorf("object differs from the parts")
	}
}

func TestBadMetadata(t *testing.T) {
	srv := s3server.Start(t)
	b := newBackend(t, config(srv, srv.Bucket))
	for _, meta := range []map[string]string{{"name": "café"}, {"a b": "x"}, {"x": "line\nbreak"}} {
		if _, err := b.CreateMultipart(t.Context(), "bad", meta); err == nil {
			t.Errorf("CreateMultipart with metadata %q succeeded", meta)
		}
	}
}

func TestListMultipartUploads(t *testing.T) {
	srv := s3server.Start(t)
	ctx := t.Context()
	b := newBackend(t, config(srv, srv.Bucket))
	want := map[string]string{}
	for _, k := range []string{"guest/o/s/1", "guest/o/s/2", "guest/o/t/3", "home/u/4"} {
		id, err := b.CreateMultipart(ctx, k, nil)
		if err != nil {
			t.Fatal(err)
		}
		want[k] = id
	}
	got := map[string]string{}
	before := time.Now().Add(time.Minute)
	err := b.ListMultipartUploads(ctx, "guest/", func(key, id string, initiated time.Time) error {
		got[key] = id
		if initiated.IsZero() || initiated.After(before) {
			t.Errorf("upload %s initiated at %v", key, initiated)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	delete(want, "home/u/4")
	if !maps.Equal(got, want) {
		t.Errorf("ListMultipartUploads(guest/) = %v, want %v", got, want)
	}
	stop := errors.New("stop")
	calls := 0
	err = b.ListMultipartUploads(ctx, "", func(string, string, time.Time) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("ListMultipartUploads with a failing callback: %v after %d calls", err, calls)
	}
}

func list(t *testing.T, b store.Backend, prefix string) []string {
	t.Helper()
	var keys []string
	if err := b.List(t.Context(), prefix, func(oi store.ObjectInfo) error {
		keys = append(keys, oi.Key)
		return nil
	}); err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	return keys
}
