package store

import (
	"context"
	"io"
	"time"
)

// metered is the store's Backend: the configured one, with every call
// counted and timed in Stats.Backend.
type metered struct {
	b     Backend
	stats *Stats
}

var (
	_ Backend         = (*metered)(nil)
	_ MultipartLister = (*metered)(nil)
)

// done records one call of op that started at start and ended with err.
func (m *metered) done(op int, start time.Time, err error) {
	m.stats.Backend[op][outcomeIndex(err)].Add(1)
	m.stats.BackendSeconds[op].ObserveSince(start)
}

func (m *metered) Put(ctx context.Context, key string, body io.ReadSeeker, size int64) error {
	start := time.Now()
	err := m.b.Put(ctx, key, body, size)
	m.done(opPut, start, err)
	return err
}

func (m *metered) Get(ctx context.Context, key string, off, length int64) (io.ReadCloser, error) {
	start := time.Now()
	rc, err := m.b.Get(ctx, key, off, length)
	m.done(opGet, start, err)
	return rc, err
}

func (m *metered) Head(ctx context.Context, key string) (ObjectInfo, error) {
	start := time.Now()
	oi, err := m.b.Head(ctx, key)
	m.done(opHead, start, err)
	return oi, err
}

func (m *metered) Delete(ctx context.Context, key string) error {
	start := time.Now()
	err := m.b.Delete(ctx, key)
	m.done(opDelete, start, err)
	return err
}

func (m *metered) List(ctx context.Context, prefix string, fn func(ObjectInfo) error) error {
	start := time.Now()
	err := m.b.List(ctx, prefix, fn)
	m.done(opList, start, err)
	return err
}

func (m *metered) CreateMultipart(ctx context.Context, key string, meta map[string]string) (string, error) {
	start := time.Now()
	id, err := m.b.CreateMultipart(ctx, key, meta)
	m.done(opCreateMultipart, start, err)
	return id, err
}

func (m *metered) UploadPart(ctx context.Context, key, multipartID string, num int32, body io.ReadSeeker, size int64) (Part, error) {
	start := time.Now()
	p, err := m.b.UploadPart(ctx, key, multipartID, num, body, size)
	m.done(opUploadPart, start, err)
	return p, err
}

func (m *metered) ListParts(ctx context.Context, key, multipartID string) ([]Part, error) {
	start := time.Now()
	parts, err := m.b.ListParts(ctx, key, multipartID)
	m.done(opListParts, start, err)
	return parts, err
}

func (m *metered) CompleteMultipart(ctx context.Context, key, multipartID string, parts []Part) error {
	start := time.Now()
	err := m.b.CompleteMultipart(ctx, key, multipartID, parts)
	m.done(opCompleteMultipart, start, err)
	return err
}

func (m *metered) AbortMultipart(ctx context.Context, key, multipartID string) error {
	start := time.Now()
	err := m.b.AbortMultipart(ctx, key, multipartID)
	m.done(opAbortMultipart, start, err)
	return err
}

// ListMultipartUploads lists through the backend when it can; a backend
// that cannot has nothing to list.
func (m *metered) ListMultipartUploads(ctx context.Context, prefix string, fn func(key, id string, initiated time.Time) error) error {
	ml, ok := m.b.(MultipartLister)
	if !ok {
		return nil
	}
	start := time.Now()
	err := ml.ListMultipartUploads(ctx, prefix, fn)
	m.done(opListMultipartUploads, start, err)
	return err
}
