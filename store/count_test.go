package store_test

import (
	"context"
	"io"
	"strings"
	"sync/atomic"

	"github.com/tusvault/tusvault/store"
)

// countBackend counts the backend requests, the bytes of .info objects
// read and written, and all the bytes that go to the backend (up: Put and
// UploadPart bodies) and come from it (down: what is read of each Get).
type countBackend struct {
	store.Backend
	requests, infoRead, infoWritten atomic.Int64
	up, down                        atomic.Int64
}

type countReader struct {
	io.ReadCloser
	n *atomic.Int64
}

func (r countReader) Read(p []byte) (int, error) {
	k, err := r.ReadCloser.Read(p)
	r.n.Add(int64(k))
	return k, err
}

func (c *countBackend) Get(ctx context.Context, key string, off, length int64) (io.ReadCloser, error) {
	c.requests.Add(1)
	rc, err := c.Backend.Get(ctx, key, off, length)
	if err != nil {
		return nil, err
	}
	rc = countReader{rc, &c.down}
	if strings.HasSuffix(key, ".info") {
		rc = countReader{rc, &c.infoRead}
	}
	return rc, nil
}

func (c *countBackend) Put(ctx context.Context, key string, body io.ReadSeeker, size int64) error {
	c.requests.Add(1)
	c.up.Add(size)
	if strings.HasSuffix(key, ".info") {
		c.infoWritten.Add(size)
	}
	return c.Backend.Put(ctx, key, body, size)
}

func (c *countBackend) Head(ctx context.Context, key string) (store.ObjectInfo, error) {
	c.requests.Add(1)
	return c.Backend.Head(ctx, key)
}

func (c *countBackend) Delete(ctx context.Context, key string) error {
	c.requests.Add(1)
	return c.Backend.Delete(ctx, key)
}

func (c *countBackend) List(ctx context.Context, prefix string, fn func(store.ObjectInfo) error) error {
	c.requests.Add(1)
	return c.Backend.List(ctx, prefix, fn)
}

func (c *countBackend) UploadPart(ctx context.Context, key, id string, num int32, body io.ReadSeeker, size int64) (store.Part, error) {
	c.requests.Add(1)
	c.up.Add(size)
	return c.Backend.UploadPart(ctx, key, id, num, body, size)
}

// requestCost is what requests cost: backend requests, .info bytes read
// and written.
type requestCost struct{ requests, infoRead, infoWritten int64 }

func (r requestCost) infoBytes() int64 { return r.infoRead + r.infoWritten }

// snap returns the counts so far.
func (c *countBackend) snap() requestCost {
	return requestCost{c.requests.Load(), c.infoRead.Load(), c.infoWritten.Load()}
}

// since returns the cost since before, a snap.
func (c *countBackend) since(before requestCost) requestCost {
	now := c.snap()
	return requestCost{now.requests - before.requests, now.infoRead - before.infoRead, now.infoWritten - before.infoWritten}
}
