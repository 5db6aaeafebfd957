package hooks

import (
	"context"
	"sync"
	"time"
)

// Reservations keeps the max_files reservations: the upload ids PreCreate
// handed out for an account or share directory that no listing shows yet.
// An id is reserved until its creation request ends (Middleware releases
// it: by then the .info exists or the creation failed), until a listing
// shows it, or until it expires, whichever comes first.
//
// The default keeps them in the process, which is right for one instance;
// several instances serving one bucket share store/lock's Redis
// Reservations, so that a share's limit holds across them.
type Reservations interface {
	// Reserve reserves id in dir unless the uploads list returns plus
	// dir's other live reservations reach maxFiles (then ok is false).
	// Reserve and Release calls for one dir are serialized, across every
	// process sharing the reservations, so that concurrent creations never
	// overshoot the limit. Errors may be handler.Error values (such as a
	// 503 while the shared store is away).
	Reserve(ctx context.Context, dir, id string, maxFiles int, list func(context.Context) ([]string, error)) (ok bool, err error)
	// Release ends id's reservation in dir.
	Release(ctx context.Context, dir, id string) error
	// Count is what Reserve compares with maxFiles: the uploads list
	// returns plus dir's live reservations it does not show.
	Count(ctx context.Context, dir string, list func(context.Context) ([]string, error)) (int, error)
}

// reservationTTL bounds a reservation whose creation never ended.
const reservationTTL = 2 * time.Minute

// localReservations are the reservations of one process: per directory,
// the reserved ids and their expiry, behind one mutex per directory.
type localReservations struct {
	now       func() time.Time
	mu        sync.Mutex
	dirs      map[string]*dirCount
	lastSweep time.Time
}

var _ Reservations = (*localReservations)(nil)

type dirCount struct {
	mu       sync.Mutex
	refs     int                  // guarded by localReservations.mu
	reserved map[string]time.Time // id → expiry, guarded by mu
}

func newLocalReservations(now func() time.Time) *localReservations {
	return &localReservations{now: now, dirs: map[string]*dirCount{}}
}

// acquire returns dir's counter, locked; call the returned func when done.
func (l *localReservations) acquire(dir string) (*dirCount, func()) {
	l.mu.Lock()
	now := l.now()
	if now.Sub(l.lastSweep) > reservationTTL {
		l.lastSweep = now
		for k, dc := range l.dirs {
			if dc.refs == 0 {
				dropExpired(dc.reserved, now)
				if len(dc.reserved) == 0 {
					delete(l.dirs, k)
				}
			}
		}
	}
	dc := l.dirs[dir]
	if dc == nil {
		dc = &dirCount{reserved: map[string]time.Time{}}
		l.dirs[dir] = dc
	}
	dc.refs++
	l.mu.Unlock()
	dc.mu.Lock()
	return dc, func() {
		dc.mu.Unlock()
		l.mu.Lock()
		defer l.mu.Unlock()
		// With no reference left nobody can hold dc.mu.
		if dc.refs--; dc.refs == 0 && len(dc.reserved) == 0 {
			delete(l.dirs, dir)
		}
	}
}

func dropExpired(reserved map[string]time.Time, now time.Time) {
	for id, exp := range reserved {
		if now.After(exp) {
			delete(reserved, id)
		}
	}
}

func (l *localReservations) Reserve(ctx context.Context, dir, id string, maxFiles int, list func(context.Context) ([]string, error)) (bool, error) {
	dc, release := l.acquire(dir)
	defer release()
	n, err := l.count(ctx, dc, list)
	if err != nil || n >= maxFiles {
		return false, err
	}
	dc.reserved[id] = l.now().Add(reservationTTL)
	return true, nil
}

func (l *localReservations) Release(_ context.Context, dir, id string) error {
	dc, release := l.acquire(dir)
	delete(dc.reserved, id)
	release()
	return nil
}

func (l *localReservations) Count(ctx context.Context, dir string, list func(context.Context) ([]string, error)) (int, error) {
	dc, release := l.acquire(dir)
	defer release()
	return l.count(ctx, dc, list)
}

// count is the listed uploads plus the reservations no listing shows
// yet. The caller holds dc.mu.
func (l *localReservations) count(ctx context.Context, dc *dirCount, list func(context.Context) ([]string, error)) (int, error) {
	ids, err := list(ctx)
	if err != nil {
		return 0, err
	}
	for _, listed := range ids {
		delete(dc.reserved, listed)
	}
	dropExpired(dc.reserved, l.now())
	return len(ids) + len(dc.reserved), nil
}
