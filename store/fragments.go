package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/tusvault/tusvault/internal/failpoint"
)

// The tail of layout 2: the ciphertext bytes [Committed, Offset) that are
// not in a confirmed part yet, kept as append-only fragments. A request
// that leaves bytes past its last full part stores only its new bytes, as
// one fragment object, and lists it in .info; the request that fills the
// part sends the fragments' ciphertext again inside the part and, once
// the part is committed, deletes them. A fragment is written once and
// never changed, so its name says what it holds.

// fragment is one tail fragment: Len ciphertext bytes at offset Off, in
// the object <key>.part.<Name>. Name is "<Off>-<16 hex digits>", random,
// so that a fragment written and never listed (a request cut short)
// never shares its name with one that is listed.
type fragment struct {
	Off, Len int64
	Name     string
	// CRC32C is the Castagnoli CRC-32 of the fragment's bytes, checked
	// when they are read back from the object store.
	CRC32C uint32
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errTailCorrupt reports a fragment whose bytes are not those .info
// lists: the upload cannot go on (its MAC state covers them).
var errTailCorrupt = errors.New("a tail fragment does not match its CRC-32C in .info")

// newFragmentName returns a fresh name for a fragment at off.
func newFragmentName(off int64) (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return strconv.FormatInt(off, 10) + "-" + hex.EncodeToString(b[:]), nil
}

// validFragmentName reports whether name is one newFragmentName gives
// for off: .info names only objects of its own upload.
func validFragmentName(name string, off int64) bool {
	digits, random, ok := strings.Cut(name, "-")
	if !ok || digits != strconv.FormatInt(off, 10) || len(random) != 16 {
		return false
	}
	_, err := hex.DecodeString(random)
	return err == nil && strings.ToLower(random) == random
}

// fragmentKey is the object key of fragment name of upload key.
func fragmentKey(key, name string) string { return key + fragmentSuffix + name }

// splitFragmentKey returns the upload key and fragment name of a
// fragment object's key. Ids hold no dot, so the first dot ends the id.
func splitFragmentKey(objKey string) (key, name string, ok bool) {
	i := strings.IndexByte(objKey, '.')
	if i < 0 || !strings.HasPrefix(objKey[i:], fragmentSuffix) {
		return "", "", false
	}
	key, name = objKey[:i], objKey[i+len(fragmentSuffix):]
	return key, name, validID(key) && name != ""
}

// checkTail rejects a tail that is not one contiguous run of valid
// fragments from Committed to Offset (layout 2), or that lists fragments
// in layout 1; unknown layouts are refused.
func (e *encInfo) checkTail() error {
	switch e.Layout {
	case layoutV1:
		if len(e.Tail) > 0 {
			return errors.New("info lists tail fragments in layout 1")
		}
		return nil
	case layout2:
	default:
		return fmt.Errorf("unsupported layout %d of an unfinished upload", e.Layout)
	}
	off := e.Committed
	for _, f := range e.Tail {
		if f.Off != off || f.Len <= 0 || !validFragmentName(f.Name, f.Off) {
			return errors.New("info lists an invalid tail fragment")
		}
		off += f.Len
	}
	if off != e.Committed+e.TailLen {
		return errors.New("tail fragments do not add up to TailLen")
	}
	return nil
}

// storeTail stores the spool's bytes that are the request's own and
// past its last full part as one new fragment, then lists it in .info
// with the MAC state over every byte. An upload of layout 1 becomes one
// of layout 2 here: its whole tail, the bytes of <key>.part and the new
// ones, is the first fragment. The caller has waited for the parts in
// flight.
func (w *partWriter) storeTail() error {
	e := &w.u.info.Enc
	start := (w.num - 1) * w.partSize
	if start != e.Committed {
		return fmt.Errorf("spool starts at %d, committed %d", start, e.Committed)
	}
	off, size := start+w.fresh, w.fill-w.fresh
	crc, err := w.spoolCRC(w.fresh, size)
	if err != nil {
		return err
	}
	name, err := newFragmentName(off)
	if err != nil {
		return err
	}
	body := failpoint.Reader("tail", io.NewSectionReader(w.file, w.fresh, size), size)
	if err := w.u.s.cfg.Backend.Put(w.ctx, fragmentKey(w.key, name), body, size); err != nil {
		return err
	}
	failpoint.Hit("tail-stored")
	state, err := w.runningState()
	if err != nil {
		return err
	}
	tail := append(slices.Clone(w.tail), fragment{Off: off, Len: size, Name: name, CRC32C: crc})
	return w.u.update(w.ctx, state, func(info *infoFile) {
		info.Enc.Layout, info.Enc.Tail, info.Enc.TailLen = layout2, tail, w.fill
		info.Enc.TailTags = slices.Clone(w.tags)
	})
}

// dropTailObject deletes <key>.part of an upload that was in layout 1
// once .info no longer refers to it (its bytes are in a committed part
// or a fragment); a failure leaves it to the sweep.
func (w *partWriter) dropTailObject() {
	failpoint.Hit("tail-converted")
	if err := w.u.s.cfg.Backend.Delete(w.ctx, w.key+tailSuffix); err != nil {
		w.u.s.cfg.Logger.WarnContext(w.ctx, "could not delete the tail object of layout 1", "id", w.u.info.ID, "error", err)
	}
}

// fetchFragment appends fragment f, read from the object store, to the
// spool, checking its length and CRC-32C. The MAC state already covers
// its bytes (layout 2), so they only go to the spool.
func (w *partWriter) fetchFragment(f fragment) error {
	rc, err := w.u.s.cfg.Backend.Get(w.ctx, fragmentKey(w.key, f.Name), 0, f.Len)
	if err != nil {
		return fmt.Errorf("read tail fragment: %w", err)
	}
	defer rc.Close()
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	var n int64
	var crc uint32
	for {
		k, rerr := rc.Read(*bp)
		if int64(k) > f.Len-n {
			return errTailCorrupt
		}
		if k > 0 {
			if err := w.appendRaw((*bp)[:k]); err != nil {
				return err
			}
			crc = crc32.Update(crc, castagnoli, (*bp)[:k])
			n += int64(k)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return rerr
		}
	}
	w.u.s.stats.TailFetchedBytes.Add(n)
	if n != f.Len || crc != f.CRC32C {
		return errTailCorrupt
	}
	return nil
}

// appendRaw appends ciphertext that the MAC state already covers to the
// spool: a tail's bytes, which are always less than a part.
func (w *partWriter) appendRaw(p []byte) error {
	if w.file == nil {
		if err := w.newSpool(); err != nil {
			return err
		}
	}
	if w.fill+int64(len(p)) >= w.partSize {
		return errors.New("the tail is not shorter than a part")
	}
	if _, err := w.file.Write(p); err != nil {
		return spoolErr(err)
	}
	w.hash.write(p)
	w.fill += int64(len(p))
	w.u.s.stats.SpoolBytes.Add(int64(len(p)))
	return nil
}

// spoolCRC is the CRC-32C of the spool's bytes [off, off+n).
func (w *partWriter) spoolCRC(off, n int64) (uint32, error) {
	h := crc32.New(castagnoli)
	if _, err := io.Copy(h, io.NewSectionReader(w.file, off, n)); err != nil {
		return 0, spoolErr(err)
	}
	return h.Sum32(), nil
}

// fragmentDeletes is how many fragment deletions run at once.
const fragmentDeletes = 8

// deleteObjects deletes keys, a few at a time, and returns every error.
func (s *Store) deleteObjects(ctx context.Context, keys []string) error {
	var g errgroup.Group
	g.SetLimit(fragmentDeletes)
	errs := make([]error, len(keys))
	for i, k := range keys {
		g.Go(func() error {
			errs[i] = s.cfg.Backend.Delete(ctx, k)
			return nil
		})
	}
	g.Wait()
	return errors.Join(errs...)
}

// dropFragments deletes fragments of upload key that no .info lists any
// more, logging a failure: a fragment left over is garbage that the
// next removal, completion or sweep deletes.
func (u *upload) dropFragments(ctx context.Context, frags []fragment) {
	keys := make([]string, len(frags))
	for i, f := range frags {
		keys[i] = fragmentKey(u.key, f.Name)
	}
	if err := u.s.deleteObjects(ctx, keys); err != nil {
		u.s.cfg.Logger.WarnContext(ctx, "could not delete tail fragments; the sweep will", "id", u.info.ID, "error", err)
	}
}

// tailObjects lists the keys of the upload's fragment objects.
func (u *upload) tailObjects(ctx context.Context) ([]string, error) {
	var keys []string
	err := u.s.cfg.Backend.List(ctx, u.key+fragmentSuffix, func(oi ObjectInfo) error {
		if key, _, ok := splitFragmentKey(oi.Key); ok && key == u.key {
			keys = append(keys, oi.Key)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list tail fragments: %w", err)
	}
	return keys, nil
}

// deleteTail deletes every tail object of the upload, <key>.part and all
// fragments, listed or not: for a removal, and after completion.
func (u *upload) deleteTail(ctx context.Context) error {
	keys, err := u.tailObjects(ctx)
	if err != nil {
		return err
	}
	u.s.tails.drop(u.key)
	return u.s.deleteObjects(ctx, append(keys, u.key+tailSuffix))
}

// unreferenced returns the keys among objs, tail objects of the upload
// (<key>.part and fragments), that its .info does not refer to: those of
// requests cut short, those a committed part absorbed, all of them once
// the upload is complete.
func (u *upload) unreferenced(objs []string) []string {
	e := &u.info.Enc
	listed := make(map[string]bool, len(e.Tail))
	for _, f := range e.Tail {
		listed[f.Name] = true
	}
	var out []string
	for _, k := range objs {
		if k == u.key+tailSuffix {
			if e.Layout != layoutV1 || e.TailLen == 0 || e.Tag != nil {
				out = append(out, k)
			}
		} else if key, name, ok := splitFragmentKey(k); ok && key == u.key && !listed[name] {
			out = append(out, k)
		}
	}
	return out
}
