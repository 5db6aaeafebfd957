package lock

import (
	"context"
	"sync"

	"github.com/tus/tusd/v2/pkg/handler"
)

// Memory is an in-process locker with tusd's memorylocker semantics, plus
// TryLock. The zero value is not usable; call NewMemory.
type Memory struct {
	mu    sync.Mutex
	locks map[string]*memoryEntry
}

type memoryEntry struct {
	released       chan struct{}
	requestRelease func()
}

// NewMemory returns an empty in-process locker.
func NewMemory() *Memory { return &Memory{locks: map[string]*memoryEntry{}} }

// UseIn registers the locker with tusd's composer.
func (m *Memory) UseIn(c *handler.StoreComposer) { c.UseLocker(m) }

// NewLock implements handler.Locker.
func (m *Memory) NewLock(id string) (handler.Lock, error) {
	return &memoryLock{m: m, id: id}, nil
}

// TryLock takes id's lock if it is free, never asking a holder to let go.
func (m *Memory) TryLock(id string) (release func(), ok bool, err error) {
	entry, ok := m.take(id, func() {})
	if !ok {
		return nil, false, nil
	}
	return func() { m.unlock(id, entry) }, true, nil
}

// take creates id's entry unless one exists.
func (m *Memory) take(id string, requestRelease func()) (*memoryEntry, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, held := m.locks[id]; held {
		return nil, false
	}
	e := &memoryEntry{released: make(chan struct{}), requestRelease: requestRelease}
	m.locks[id] = e
	return e, true
}

func (m *Memory) unlock(id string, e *memoryEntry) {
	m.mu.Lock()
	if m.locks[id] == e {
		delete(m.locks, id)
	}
	m.mu.Unlock()
	close(e.released)
}

type memoryLock struct {
	m     *Memory
	id    string
	entry *memoryEntry
}

// Lock implements handler.Lock: while the lock is held, it asks the holder
// to release it and waits, until ctx ends (handler.ErrLockTimeout).
func (l *memoryLock) Lock(ctx context.Context, requestRelease func()) error {
	for {
		if e, ok := l.m.take(l.id, requestRelease); ok {
			l.entry = e
			return nil
		}
		l.m.mu.Lock()
		holder := l.m.locks[l.id]
		l.m.mu.Unlock()
		if holder == nil {
			continue
		}
		holder.requestRelease()
		select {
		case <-ctx.Done():
			return handler.ErrLockTimeout
		case <-holder.released:
		}
	}
}

// Unlock implements handler.Lock.
func (l *memoryLock) Unlock() error {
	if l.entry != nil {
		l.m.unlock(l.id, l.entry)
		l.entry = nil
	}
	return nil
}
