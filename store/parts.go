package store

import (
	"context"
	"io"
	"os"

	"github.com/tusvault/tusvault/store/crypt"
)

// partWriter spools one request's ciphertext into part files of exactly
// PartSize bytes and uploads each full part through the limiter while the
// next one fills (one part in flight per request). It commits .info over
// every confirmed part, in order.
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
	// inflight is the part being uploaded, if any.
	inflight *partJob
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
	done  chan error
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

// seal hands the full spool to an upload goroutine, once the previous
// part is confirmed, and opens the next spool file.
func (w *partWriter) seal() error {
	state, err := w.mac.State()
	if err != nil {
		return err
	}
	if err := w.wait(); err != nil {
		return err
	}
	job := &partJob{num: w.num, file: w.file, size: w.fill, state: state, done: make(chan error, 1)}
	go w.upload(job)
	w.inflight, w.base = job, state
	w.file = nil
	w.num++
	return w.newSpool()
}

// upload sends one part under a limiter slot and, once the backend has
// confirmed it, commits it to .info at once, so that a crash loses at most
// the part being spooled. The request's goroutine touches .info only after
// wait(), so the two never write it at the same time.
func (w *partWriter) upload(job *partJob) {
	job.done <- w.uploadAndCommit(job)
}

func (w *partWriter) uploadAndCommit(job *partJob) error {
	lim := w.u.s.cfg.Limiter
	if err := lim.Acquire(w.ctx); err != nil {
		return err
	}
	body := io.NewSectionReader(job.file, 0, job.size)
	_, err := w.u.s.cfg.Backend.UploadPart(w.ctx, w.u.key, w.u.info.MultipartID, int32(job.num), body, job.size)
	lim.Release()
	if err != nil {
		return err
	}
	e := &w.u.info.Enc
	e.Committed += job.size
	e.TailLen = 0
	return w.u.save(w.ctx, job.state)
}

// wait blocks until the part in flight is confirmed and committed.
func (w *partWriter) wait() error {
	job := w.inflight
	if job == nil {
		return nil
	}
	w.inflight = nil
	err := <-job.done
	job.file.Close()
	if err != nil {
		return err
	}
	w.committed += job.size
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

// close waits for a part still in flight and drops the spool files.
func (w *partWriter) close() {
	if w.inflight != nil {
		<-w.inflight.done
		w.inflight.file.Close()
	}
	if w.file != nil {
		w.file.Close()
	}
}
