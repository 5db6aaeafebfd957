package store

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"slices"
	"time"

	"github.com/tusvault/tusvault/internal/failpoint"
	"github.com/tusvault/tusvault/store/crypt"
)

// partWriter spools one request's ciphertext into part files of exactly
// PartSize bytes and uploads each full part through the limiter while the
// next one fills (up to partsInFlight parts per request). It commits .info
// over every confirmed part, in order.
//
// While parts are in flight their goroutines commit .info; the request's
// goroutine touches u.info again only after wait (or drain), and uses the
// fields cached here meanwhile.
type partWriter struct {
	ctx context.Context
	u   *upload
	// mac is the running MAC of a v1 upload; digest, chunks and tags
	// replace it in v2: the running digest of the committed chunk tags,
	// the cipher over the upload's segments and the tags of the spool's
	// chunks, from its first byte.
	mac    *crypt.MAC
	digest *tagDigest
	chunks *crypt.ChunkCipher
	tags   []byte
	// size is the upload's length, -1 while it is deferred.
	size int64
	// file is the current part's spool file, opened at its first byte
	// (a request waiting for its body holds none) or taken from the
	// tail cache.
	file *os.File
	// fill is the length of the current spool file, at most partSize.
	fill int64
	// num is the number of the current part, whose first byte is at
	// offset (num-1) * partSize.
	num int64
	// tail are the fragments (layout 2) the spool starts with, until the
	// request's first full part absorbs them; fresh is where the
	// request's own bytes start in the current spool file.
	tail  []fragment
	fresh int64
	// tailObject is set when the spool started with the bytes of
	// <key>.part (layout 1): deleted once .info no longer needs it.
	tailObject bool
	// inflight are the parts on their way, oldest first.
	inflight []*partJob
	// hash is the SHA-256 of the current spool, for a backend that signs
	// payloads.
	hash partHash

	key, multipartID   string
	partSize, maxParts int64
}

// partJob is one spooled part on its way to the backend.
type partJob struct {
	num   int64
	file  *os.File
	size  int64
	state []byte
	// tags are the part's chunk tags (v2), stored as its tag object.
	tags []byte
	// absorbs are the fragments whose bytes this part holds: deleted
	// once it is committed.
	absorbs []fragment
	// sha256 is the SHA-256 of the part's bytes (nil: not computed).
	sha256 []byte
	// prev is the part before this one, if it was still in flight.
	prev *partJob
	// done is closed once the part is committed or err is set.
	done chan struct{}
	err  error
}

// errPartsExhausted refuses bytes past the last part an upload of deferred
// length may have (its part size is fixed at creation).
func (w *partWriter) errPartsExhausted() error {
	return errTooLarge(w.partSize * w.maxParts)
}

func newPartWriter(ctx context.Context, u *upload, state []byte) (*partWriter, error) {
	e := &u.info.Enc
	w := &partWriter{
		ctx: ctx, u: u, num: e.Committed/e.PartSize + 1, size: u.info.Size,
		key: u.key, multipartID: u.info.MultipartID, partSize: e.PartSize, maxParts: u.s.cfg.maxParts,
		hash: newPartHash(u.s.hashParts),
	}
	if u.info.SizeIsDeferred {
		w.size = -1
	}
	var err error
	if !e.v2() {
		w.mac, err = crypt.ResumeMAC(u.keys.MAC, state)
		return w, err
	}
	if w.digest, err = openTagDigest(state); err != nil {
		return nil, err
	}
	w.chunks, err = crypt.NewChunkCipherFrom(u.keys2.Chunk, u.info.ID, e.Segments)
	return w, err
}

// runningState is the state to seal with the committed bytes: the MAC's
// (v1, which covers the tail too in layout 2) or the tag digest's (v2).
func (w *partWriter) runningState() ([]byte, error) {
	if w.digest != nil {
		return w.digest.state()
	}
	return w.mac.State()
}

// newSpool takes a nameless spool file for the next part (spoolPool,
// createSpool), so that a crash leaves no spool file behind. write calls
// it at a part's first byte.
func (w *partWriter) newSpool() error {
	f, err := w.u.s.spools.get()
	if err != nil {
		return spoolErr(err)
	}
	w.file, w.fill = f, 0
	w.hash.reset()
	return nil
}

// copyTail starts the spool with the stored tail's ciphertext, verbatim:
// in layout 2 from the tail cache and the fragments it lacks
// (copyFragments); in layout 1 from <key>.part, whose bytes are fed to
// the MAC, since the sealed state does not cover them.
func (w *partWriter) copyTail() error {
	e := &w.u.info.Enc
	if e.Layout == layout2 {
		return w.copyFragments()
	}
	if e.TailLen == 0 {
		return nil
	}
	rc, err := w.u.s.cfg.Backend.Get(w.ctx, w.key+tailSuffix, 0, e.TailLen)
	if err != nil {
		return err
	}
	defer rc.Close()
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	var n int64
	for {
		k, rerr := rc.Read(*bp)
		if k > 0 {
			if err := w.write((*bp)[:k]); err != nil {
				return err
			}
			n += int64(k)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return rerr
		}
	}
	if n != e.TailLen {
		return io.ErrUnexpectedEOF
	}
	// The bytes of <key>.part go into the request's fragment too.
	w.tailObject = true
	return nil
}

// copyFragments starts the spool with the tail of layout 2: the cached
// spool of this upload's last request on this process when .info's
// fragments start with those it holds, and the fragments it lacks read
// back from the object store. The MAC state covers them already.
func (w *partWriter) copyFragments() error {
	e := &w.u.info.Enc
	w.tail = slices.Clone(e.Tail)
	cached := w.u.s.tails.take(w.key)
	have := -1
	if cached != nil && len(e.Tail) > 0 {
		have = cached.holds(e.Committed, e.Tail)
	}
	if have >= 0 {
		if _, err := cached.file.Seek(cached.size, io.SeekStart); err != nil {
			have = -1
		}
	}
	switch {
	case have >= 0:
		w.file, w.fill, w.hash = cached.file, cached.size, cached.hash
		w.u.s.stats.SpoolBytes.Add(cached.size)
	case cached != nil:
		cached.file.Close()
	}
	have = max(have, 0)
	if len(e.Tail) > 0 {
		if have == len(e.Tail) {
			w.u.s.stats.TailCacheHits.Add(1)
		} else {
			w.u.s.stats.TailCacheMisses.Add(1)
		}
	}
	for _, f := range e.Tail[have:] {
		if err := w.fetchFragment(f); err != nil {
			return err
		}
	}
	w.fresh = w.fill
	w.tags = slices.Clone(e.TailTags)
	return nil
}

// write appends ciphertext, sealing a part each time one is full.
func (w *partWriter) write(p []byte) error {
	for len(p) > 0 {
		if w.num > w.maxParts {
			return w.errPartsExhausted()
		}
		if w.file == nil {
			if err := w.newSpool(); err != nil {
				return err
			}
		}
		k := min(int64(len(p)), w.partSize-w.fill)
		if _, err := w.file.Write(p[:k]); err != nil {
			return spoolErr(err)
		}
		failpoint.Hit("spool")
		w.u.s.stats.SpoolBytes.Add(k)
		if w.mac != nil {
			w.mac.Write(p[:k])
		}
		w.hash.write(p[:k])
		w.fill += k
		p = p[k:]
		if w.fill == w.partSize {
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
// oldest part in flight when partsInFlight are; the next part's spool
// opens at its first byte.
func (w *partWriter) seal() error {
	var tags []byte
	if w.digest != nil {
		n := crypt.ChunkCount(w.fill) * crypt.ChunkTagSize
		if int64(len(w.tags)) < n {
			return errors.New("a part's chunks are not all sealed")
		}
		tags, w.tags = w.tags[:n:n], slices.Clone(w.tags[n:])
		final := w.size >= 0 && (w.num-1)*w.partSize+w.fill == w.size
		if err := w.digest.commit(tags, final); err != nil {
			return err
		}
	}
	state, err := w.runningState()
	if err != nil {
		return err
	}
	if len(w.inflight) == partsInFlight {
		if err := w.waitOldest(); err != nil {
			return err
		}
	}
	job := &partJob{
		num: w.num, file: w.file, size: w.fill, state: state, tags: tags,
		absorbs: w.tail, sha256: w.hash.sum(w.fill), done: make(chan struct{}),
	}
	if n := len(w.inflight); n > 0 {
		job.prev = w.inflight[n-1]
	}
	go w.run(job)
	w.inflight = append(w.inflight, job)
	w.file, w.fill, w.tail, w.fresh = nil, 0, nil, 0
	w.num++
	return nil
}

// run sends one part under a limiter slot and, once the backend has
// confirmed it and every earlier part is committed, commits it to .info at
// once, so that a crash loses at most the parts not yet confirmed. Commits
// happen one after the other in part order. The fragments a committed
// part absorbed are deleted.
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
	failpoint.Hit("part-uploaded")
	end := (job.num-1)*w.partSize + job.size
	job.err = w.u.update(w.ctx, job.state, func(info *infoFile) {
		info.Enc.Committed, info.Enc.TailLen, info.Enc.Tail, info.Enc.TailTags = end, 0, nil, nil
	})
	if job.err == nil && len(job.absorbs) > 0 {
		failpoint.Hit("tail-absorbed")
		w.u.dropFragments(w.ctx, job.absorbs)
	}
}

func (w *partWriter) uploadPart(job *partJob) error {
	lim := w.u.s.cfg.Limiter
	if err := lim.Acquire(w.ctx); err != nil {
		return err
	}
	defer lim.Release()
	start := time.Now()
	body := failpoint.Reader("upload-part", partBody(job.file, job.size, job.sha256), job.size)
	_, err := w.u.s.cfg.Backend.UploadPart(w.ctx, w.key, w.multipartID, int32(job.num), body, job.size)
	if err == nil && job.tags != nil {
		// v2: the part's tag object, before .info counts the part.
		failpoint.Hit("tag-object")
		err = w.u.s.cfg.Backend.Put(w.ctx, tagKey(w.key, job.num), bytes.NewReader(job.tags), int64(len(job.tags)))
	}
	if err == nil {
		st := w.u.s.stats
		st.PartSeconds.ObserveSince(start)
		st.PartBytes.Add(job.size)
	}
	return err
}

// dropSpool gives back a spool file of size bytes (spoolPool): kept for
// the next part, or closed, which unlinked frees it.
func (w *partWriter) dropSpool(f *os.File, size int64) {
	w.u.s.spools.put(f)
	w.u.s.stats.SpoolBytes.Add(-size)
}

// waitOldest blocks until the oldest part in flight is committed (or
// failed) and drops its spool file.
func (w *partWriter) waitOldest() error {
	job := w.inflight[0]
	w.inflight = w.inflight[1:]
	<-job.done
	w.dropSpool(job.file, job.size)
	return job.err
}

// wait blocks until every part in flight is committed, stopping at the
// first failure.
func (w *partWriter) wait() error {
	for len(w.inflight) > 0 {
		if err := w.waitOldest(); err != nil {
			return err
		}
	}
	return nil
}

// finish ends the request: on the upload's last byte the rest goes up as
// the final part; otherwise it is stored as the request's tail fragment.
func (w *partWriter) finish(final bool) error {
	if final && w.fill > 0 {
		if err := w.seal(); err != nil {
			return err
		}
	}
	if err := w.wait(); err != nil {
		return err
	}
	if !final && w.fill > 0 {
		if err := w.storeTail(); err != nil {
			return err
		}
	}
	if w.tailObject && !final {
		w.dropTailObject()
	}
	return nil
}

// close waits for the parts still in flight (committing those that can
// be) and drops the spool files, but for one that holds exactly the tail
// .info lists (layout 2), which goes to the tail cache. After close,
// u.info says what is stored.
func (w *partWriter) close() {
	for _, job := range w.inflight {
		<-job.done
		w.dropSpool(job.file, job.size)
	}
	w.inflight = nil
	if w.file == nil {
		return
	}
	e := &w.u.info.Enc
	if e.Layout == layout2 && w.fill > 0 && e.TailLen == w.fill && e.Committed == (w.num-1)*w.partSize {
		w.u.s.stats.SpoolBytes.Add(-w.fill)
		w.u.s.tails.put(&cachedTail{key: w.key, file: w.file, start: e.Committed, frags: slices.Clone(e.Tail), size: w.fill, hash: w.hash})
	} else {
		w.dropSpool(w.file, w.fill)
	}
	w.file = nil
}
