package store

import (
	"context"
	"errors"
	"io"
	"os"

	"github.com/tusvault/tusvault/store/crypt"
)

// partWriter spools one request's ciphertext into part files of exactly
// PartSize bytes and uploads each full part through the limiter while the
// next one fills (up to partsInFlight parts per request). It commits .info
// over every confirmed part, in order.
type partWriter struct {
	ctx context.Context
	u   *upload
	mac *crypt.MAC
	// base is the MAC state before the current spool's bytes: after
	// wait(), the state over exactly Enc.Committed bytes.
	base []byte
	file *os.File
	fill int64
	num  int64
	// inflight are the parts on their way, oldest first.
	inflight []*partJob
	// committed counts bytes of this request that were committed (for a
	// truthful return value when a request ends in error).
	committed int64
}

// partJob is one spooled part on its way to the backend.
type partJob struct {
	num   int64
	file  *os.File
	size  int64
	state []byte
	// prev is the part before this one, if it was still in flight.
	prev *partJob
	// done is closed once the part is committed or err is set.
	done chan struct{}
	err  error
}

func newPartWriter(ctx context.Context, u *upload, state []byte) (*partWriter, error) {
	mac, err := crypt.ResumeMAC(u.keys.MAC, state)
	if err != nil {
		return nil, err
	}
	e := &u.info.Enc
	w := &partWriter{ctx: ctx, u: u, mac: mac, base: state, num: e.Committed/e.PartSize + 1}
	if err := w.newSpool(); err != nil {
		return nil, err
	}
	return w, nil
}

// newSpool opens an unlinked temp file for the next part, so that a crash
// leaves no spool file behind.
func (w *partWriter) newSpool() error {
	f, err := os.CreateTemp(w.u.s.cfg.SpoolDir, "tusvault-part-*")
	if err != nil {
		return err
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return err
	}
	w.file, w.fill = f, 0
	return nil
}

// copyTail starts the spool with the stored tail ciphertext, verbatim.
func (w *partWriter) copyTail() error {
	e := &w.u.info.Enc
	if e.TailLen == 0 {
		return nil
	}
	rc, err := w.u.s.cfg.Backend.Get(w.ctx, w.u.key+tailSuffix, 0, e.TailLen)
	if err != nil {
		return err
	}
	defer rc.Close()
	n, err := io.Copy(writerFunc(w.write), rc)
	if err == nil && n != e.TailLen {
		err = io.ErrUnexpectedEOF
	}
	return err
}

type writerFunc func([]byte) error

func (f writerFunc) Write(p []byte) (int, error) {
	if err := f(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// write appends ciphertext, sealing a part each time one is full.
func (w *partWriter) write(p []byte) error {
	ps := w.u.info.Enc.PartSize
	for len(p) > 0 {
		if w.num > MaxParts {
			return errUploadTooLarge
		}
		k := min(int64(len(p)), ps-w.fill)
		if _, err := w.file.Write(p[:k]); err != nil {
			return err
		}
		w.mac.Write(p[:k])
		w.fill += k
		p = p[k:]
		if w.fill == ps {
			if err := w.seal(); err != nil {
				return err
			}
		}
	}
	return nil
}

// partsInFlight is how many full parts of one request may be on their way
// to the backend while the next one fills. Two keep a single fast client
// streaming while a part is stored; the limiter still bounds the process.
const partsInFlight = 2

// errEarlierPart stops the commit of a part whose predecessor failed.
var errEarlierPart = errors.New("an earlier part of this request failed")

// seal hands the full spool to an upload goroutine, first waiting for the
// oldest part in flight when partsInFlight are, and opens the next spool.
func (w *partWriter) seal() error {
	state, err := w.mac.State()
	if err != nil {
		return err
	}
	if len(w.inflight) == partsInFlight {
		if err := w.waitOldest(); err != nil {
			return err
		}
	}
	job := &partJob{num: w.num, file: w.file, size: w.fill, state: state, done: make(chan struct{})}
	if n := len(w.inflight); n > 0 {
		job.prev = w.inflight[n-1]
	}
	go w.run(job)
	w.inflight = append(w.inflight, job)
	w.base = state
	w.file = nil
	w.num++
	return w.newSpool()
}

// run sends one part under a limiter slot and, once the backend has
// confirmed it and every earlier part is committed, commits it to .info at
// once, so that a crash loses at most the parts not yet confirmed. Commits
// happen one after the other in part order, and the request's goroutine
// touches .info only after wait(), so .info is never written twice at once.
func (w *partWriter) run(job *partJob) {
	defer close(job.done)
	job.err = w.uploadPart(job)
	if job.prev != nil {
		<-job.prev.done
		if job.prev.err != nil && job.err == nil {
			job.err = errEarlierPart
		}
	}
	if job.err != nil {
		return
	}
	e := &w.u.info.Enc
	e.Committed += job.size
	e.TailLen = 0
	job.err = w.u.save(w.ctx, job.state)
}

func (w *partWriter) uploadPart(job *partJob) error {
	lim := w.u.s.cfg.Limiter
	if err := lim.Acquire(w.ctx); err != nil {
		return err
	}
	defer lim.Release()
	body := io.NewSectionReader(job.file, 0, job.size)
	_, err := w.u.s.cfg.Backend.UploadPart(w.ctx, w.u.key, w.u.info.MultipartID, int32(job.num), body, job.size)
	return err
}

// waitOldest blocks until the oldest part in flight is committed (or
// failed) and drops its spool file.
func (w *partWriter) waitOldest() error {
	job := w.inflight[0]
	w.inflight = w.inflight[1:]
	<-job.done
	job.file.Close()
	if job.err != nil {
		return job.err
	}
	w.committed += job.size
	return nil
}

// wait blocks until every part in flight is committed.
func (w *partWriter) wait() error {
	for len(w.inflight) > 0 {
		if err := w.waitOldest(); err != nil {
			return err
		}
	}
	return nil
}

// finish ends the request: on the upload's last byte the rest goes up as
// the final part; otherwise it is stored as the tail object.
func (w *partWriter) finish(final bool) error {
	if final && w.fill > 0 {
		if err := w.seal(); err != nil {
			return err
		}
	}
	if err := w.wait(); err != nil {
		return err
	}
	if final || w.fill == 0 {
		return nil
	}
	body := io.NewSectionReader(w.file, 0, w.fill)
	if err := w.u.s.cfg.Backend.Put(w.ctx, w.u.key+tailSuffix, body, w.fill); err != nil {
		return err
	}
	w.u.info.Enc.TailLen = w.fill
	return w.u.save(w.ctx, w.base)
}

// close waits for the parts still in flight and drops the spool files.
func (w *partWriter) close() {
	for _, job := range w.inflight {
		<-job.done
		job.file.Close()
	}
	w.inflight = nil
	if w.file != nil {
		w.file.Close()
	}
}
