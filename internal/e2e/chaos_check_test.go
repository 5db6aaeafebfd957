package e2e

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/tusvault/tusvault/internal/failpoint"
	"github.com/tusvault/tusvault/store/crypt"
)

// The counter checker. Every server of a chaos test logs each segment just
// before it persists it (TUSVAULT_SEGMENT_LOG), so the log holds every
// segment under which a byte may ever have been encrypted, including those
// that a rollback later dropped from .info (a segment is logged before its
// .info is written, and .info is written before any byte is encrypted under
// it). Over that log and every .info of the store, auditStore proves:
//
//	(a) IVs are unique: no IV was logged twice, in any upload of any trial
//	    of the test binary's run (ivRegistry);
//	(b) counters are disjoint (format v1, where every segment's IV is a
//	    CTR counter under the upload's one key; format v2 gives every
//	    segment its own key, and chaos_nonce_test.go's checker takes
//	    over): for each upload of Size bytes, any two of
//	    its logged segments i ≠ j have disjoint counter ranges
//	    R_i = { IV_i + floor(o/16) mod 2^128 : Off_i ≤ o < Size }.
//	    Whatever a request encrypted under segment i lies at offsets in
//	    [Off_i, Size) (tusd cuts bodies at the length), so no counter
//	    block ever encrypted two different plaintexts, rolled back or not
//	    (a single segment is one request, which encrypts each offset once);
//	(c) rollbacks never reach the object: the segments of the finished
//	    .info are exactly those the log predicts (each logged segment
//	    drops the segments at or above its offset, the completion drops
//	    those at Size), so every byte o of the object is decrypted under
//	    the newest segment that started at or before o, never under one
//	    that a later request replaced; with the byte-exact GET and decrypt
//	    of the test, the stored ciphertext at o is the encryption of the
//	    client's last bytes for o under that segment;
//	(d) nothing persisted goes unlogged: every segment in every .info of
//	    the store, finished or not, is in the log;
//	(e) the tail is where .info says: every fragment an unfinished .info
//	    lists exists with its length, they add up to TailLen, and no tail
//	    object (<id>.part, <id>.part.<name>) is left of a finished upload
//	    or of one whose .info is gone. (Fragments a request stored and
//	    never listed may stay while the upload is unfinished: the sweep,
//	    the removal and the completion delete them.)

// segRec is one line of a segment log.
type segRec struct {
	id    string
	off   int64
	iv    [16]byte
	where string // file:line
}

// readSegLog parses a segment log, grouped by upload id in log order.
func readSegLog(path string) (map[string][]segRec, error) {
	out := map[string][]segRec{}
	err := eachLine(path, func(line, where string) error {
		fields := strings.Fields(line)
		if len(fields) != 3 {
			return fmt.Errorf("%s: malformed line %q", where, line)
		}
		off, err := strconv.ParseInt(fields[1], 10, 64)
		iv, herr := hex.DecodeString(fields[2])
		if err != nil || herr != nil || len(iv) != 16 || off < 0 {
			return fmt.Errorf("%s: malformed line %q", where, line)
		}
		r := segRec{id: fields[0], off: off, where: where}
		copy(r.iv[:], iv)
		out[r.id] = append(out[r.id], r)
		return nil
	})
	return out, err
}

// eachLine calls f with the fields of every whole record of the log at
// path (failpoint.Record: not the empty lines, nor a record a SIGKILL cut
// short, whose operation never happened) and its place (file:line),
// stopping at the first error; a missing log has no records.
func eachLine(path string, f func(line, where string) error) error {
	file, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	defer file.Close()
	sc := bufio.NewScanner(file)
	for n := 1; sc.Scan(); n++ {
		fields, ok := failpoint.Record(sc.Text())
		if !ok {
			continue
		}
		if err := f(fields, fmt.Sprintf("%s:%d", filepath.Base(path), n)); err != nil {
			return err
		}
	}
	return sc.Err()
}

// ivRegistry holds every IV of every segment log audited in this run.
var ivRegistry = struct {
	sync.Mutex
	m map[[16]byte]string
}{m: map[[16]byte]string{}}

// registerIV records where iv was logged; a second place is a reuse (a).
func registerIV(r segRec, log string) error {
	ivRegistry.Lock()
	defer ivRegistry.Unlock()
	place := log + " " + r.where + " (upload " + r.id + ", Off " + strconv.FormatInt(r.off, 10) + ")"
	if prev, ok := ivRegistry.m[r.iv]; ok && prev != place {
		return fmt.Errorf("(a) IV %x reused: %s and %s", r.iv, prev, place)
	}
	ivRegistry.m[r.iv] = place
	return nil
}

var two128 = new(big.Int).Lsh(big.NewInt(1), 128)

// counterRange is R_i of (b) as at most two linear ranges [lo, hi] of
// counters (two when it wraps past 2^128); none when Off >= size.
func counterRange(r segRec, size int64) [][2]*big.Int {
	if r.off >= size {
		return nil
	}
	iv := new(big.Int).SetBytes(r.iv[:])
	lo := new(big.Int).Add(iv, big.NewInt(r.off/16))
	hi := new(big.Int).Add(iv, big.NewInt((size-1)/16))
	lo.Mod(lo, two128)
	hi.Mod(hi, two128)
	if lo.Cmp(hi) <= 0 {
		return [][2]*big.Int{{lo, hi}}
	}
	return [][2]*big.Int{{lo, new(big.Int).Sub(two128, big.NewInt(1))}, {big.NewInt(0), hi}}
}

// countersOverlap reports whether two segments of an upload of size bytes
// could share a counter block.
func countersOverlap(a, b segRec, size int64) bool {
	for _, x := range counterRange(a, size) {
		for _, y := range counterRange(b, size) {
			if x[0].Cmp(y[1]) <= 0 && y[0].Cmp(x[1]) <= 0 {
				return true
			}
		}
	}
	return false
}

// predictSegments replays the log as the store edits segments: each new
// one drops those at or above its offset; completion drops those at size.
func predictSegments(recs []segRec, size int64) []segRec {
	var segs []segRec
	for _, r := range recs {
		i := 0
		for i < len(segs) && segs[i].off < r.off {
			i++
		}
		segs = append(segs[:i], r)
	}
	i := 0
	for i < len(segs) && segs[i].off < size {
		i++
	}
	return segs[:i]
}

// auditUpload checks (b) (when v1), (c) and (d) for one upload: recs are
// its logged segments in order, size its length, info its .info (nil once
// removed).
func auditUpload(recs []segRec, size int64, v1 bool, info *infoFile) []string {
	var bad []string
	for i := range recs {
		if !v1 {
			break
		}
		for j := i + 1; j < len(recs); j++ {
			if countersOverlap(recs[i], recs[j], size) {
				bad = append(bad, fmt.Sprintf("(b) segments %s {Off %d} and %s {Off %d} share counter blocks", recs[i].where, recs[i].off, recs[j].where, recs[j].off))
			}
		}
	}
	if info == nil {
		return bad
	}
	logged := map[[16]byte]int64{}
	for _, r := range recs {
		logged[r.iv] = r.off
	}
	for _, sg := range info.Enc.Segments {
		var iv [16]byte
		copy(iv[:], sg.IV)
		if off, ok := logged[iv]; !ok || off != sg.Off || len(sg.IV) != 16 {
			bad = append(bad, fmt.Sprintf("(d) .info segment {Off %d, IV %x} is not in the segment log", sg.Off, sg.IV))
		}
	}
	if len(info.Enc.Tag) == 0 {
		return bad // unfinished: (c) is about finished objects
	}
	want := predictSegments(recs, size)
	same := len(want) == len(info.Enc.Segments)
	for i := 0; same && i < len(want); i++ {
		sg := info.Enc.Segments[i]
		same = sg.Off == want[i].off && string(sg.IV) == string(want[i].iv[:])
	}
	if !same {
		var got, exp []string
		for _, sg := range info.Enc.Segments {
			got = append(got, fmt.Sprintf("{%d %x}", sg.Off, sg.IV[:4]))
		}
		for _, r := range want {
			exp = append(exp, fmt.Sprintf("{%d %x}", r.off, r.iv[:4]))
		}
		bad = append(bad, fmt.Sprintf("(c) finished segments %v, the log predicts %v", got, exp))
	}
	return bad
}

// audited counts what auditStore checked.
type audited struct {
	segments int // segment log lines
	seals    int // seal log lines (v2)
	v1, v2   int // uploads with a .info, by format
}

func (a *audited) add(b audited) {
	a.segments, a.seals, a.v1, a.v2 = a.segments+b.segments, a.seals+b.seals, a.v1+b.v1, a.v2+b.v2
}

func (a audited) String() string {
	return fmt.Sprintf("%d segments and %d chunk seals audited (%d v1 and %d v2 uploads)", a.segments, a.seals, a.v1, a.v2)
}

// auditStore runs the checkers over the rig's segment and seal logs and
// every .info in its store. sizes gives the length of every upload the
// test created (removed ones too); a logged upload missing from it is an
// error.
func auditStore(t *testing.T, r *rig, sizes map[string]int64) audited {
	t.Helper()
	logs, err := readSegLog(r.segLog)
	if err != nil {
		t.Fatal(err)
	}
	seals, err := readSealLog(r.sealLog)
	if err != nil {
		t.Fatal(err)
	}
	infos := map[string]*infoFile{}
	tails := map[string][]tailObject{}
	root := r.objDir()
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".") && p != root {
			return fs.SkipDir // .tusvault, versitygw's .sgwtmp
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if id, name, ok := strings.Cut(rel, ".part"); ok && !d.IsDir() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			tails[id] = append(tails[id], tailObject{strings.TrimPrefix(name, "."), fi.Size()})
			return nil
		}
		if d.IsDir() || !strings.HasSuffix(p, ".info") {
			return nil
		}
		info, err := readInfoAt(p)
		if err != nil {
			return err
		}
		infos[strings.TrimSuffix(rel, ".info")] = info
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for id, info := range infos {
		if info.Enc.Pages == 0 {
			continue
		}
		paged, err := readPages(r, id, info)
		if err != nil {
			t.Errorf("(d) upload %s: %v", id, err)
			continue
		}
		info.Enc.Segments = append(paged, info.Enc.Segments...)
	}
	var n audited
	for _, info := range infos {
		if info.Enc.V == 2 {
			n.v2++
		} else {
			n.v1++
		}
	}
	for id, recs := range logs {
		size, ok := sizes[id]
		if !ok {
			t.Errorf("segment log names upload %s, which the test did not create", id)
			continue
		}
		for _, rec := range recs {
			if err := registerIV(rec, r.segLog); err != nil {
				t.Error(err)
			}
		}
		n.segments += len(recs)
		v1 := len(seals[id]) == 0 // an upload whose .info is gone
		if info := infos[id]; info != nil {
			v1 = info.Enc.V == 1
		}
		for _, p := range auditUpload(recs, size, v1, infos[id]) {
			t.Errorf("upload %s: %s", id, p)
		}
	}
	for id, info := range infos {
		if _, ok := logs[id]; !ok && len(info.Enc.Segments) > 0 {
			t.Errorf("(d) upload %s has %d segments in .info and none in the segment log", id, len(info.Enc.Segments))
		}
	}
	for id := range seals {
		if _, ok := sizes[id]; !ok {
			t.Errorf("seal log names upload %s, which the test did not create", id)
		}
	}
	n.seals = checkSeals(t, seals, logs, infos)
	for id, objs := range tails {
		if infos[id] == nil {
			t.Errorf("(e) tail objects %v of upload %s, whose .info is gone", objs, id)
		}
	}
	for id, info := range infos {
		for _, p := range auditTail(info, tails[id]) {
			t.Errorf("upload %s: %s", id, p)
		}
	}
	return n
}

// tailObject is a tail object of an upload found in the store: name is
// "" for <id>.part and the fragment's name for <id>.part.<name>.
type tailObject struct {
	name string
	size int64
}

// auditTail checks (e) for one upload's .info and tail objects.
func auditTail(info *infoFile, objs []tailObject) []string {
	if len(info.Enc.Tag) > 0 {
		if len(objs) > 0 {
			return []string{fmt.Sprintf("(e) tail objects %v left of the finished upload", objs)}
		}
		return nil
	}
	if info.Enc.Layout != 2 {
		return nil // layout 1: the tail is <id>.part
	}
	sizes := map[string]int64{}
	for _, o := range objs {
		sizes[o.name] = o.size
	}
	var bad []string
	off := info.Enc.Committed
	for _, f := range info.Enc.Tail {
		if size, ok := sizes[f.Name]; !ok || size != f.Len || f.Off != off {
			bad = append(bad, fmt.Sprintf("(e) fragment %+v at %d: object of %d bytes (found: %v)", f, off, size, ok))
		}
		off += f.Len
	}
	if off != info.Enc.Committed+info.Enc.TailLen {
		bad = append(bad, fmt.Sprintf("(e) fragments end at %d, TailLen says %d", off, info.Enc.Committed+info.Enc.TailLen))
	}
	return bad
}

// readPages returns the segments in the pages of an unfinished upload in
// the paged layout, opened and checked as FORMAT.md 6.1 says.
func readPages(r *rig, id string, info *infoFile) ([]segment, error) {
	kr, err := crypt.LoadKeyring(r.keyringPath())
	if err != nil {
		return nil, err
	}
	kek, err := kr.KEK(info.Enc.Kid)
	if err != nil {
		return nil, err
	}
	stateKey, err := pageKey(kek, info)
	if err != nil {
		return nil, err
	}
	var segs []segment
	var prev []byte
	for n := 0; n < info.Enc.Pages; n++ {
		page, err := os.ReadFile(objPath(r.objDir(), id, ".segs."+strconv.Itoa(n)))
		if err != nil {
			return nil, err
		}
		got, err := crypt.OpenPage(stateKey, info.ID, uint32(n), prev, page)
		if err != nil {
			return nil, fmt.Errorf("page %d: %w", n, err)
		}
		for _, sg := range got {
			segs = append(segs, segment{Off: sg.Off, IV: sg.IV})
		}
		prev = crypt.PageHash(page)
	}
	if string(prev) != string(info.Enc.PagesHash) || len(segs) != info.Enc.Paged {
		return nil, fmt.Errorf("%d pages of %d segments do not match .info (%d segments)", info.Enc.Pages, len(segs), info.Enc.Paged)
	}
	return segs, nil
}

// pageKey is the key sealing the segment pages of the upload of info:
// its state key, of format v1 or v2.
func pageKey(kek []byte, info *infoFile) ([]byte, error) {
	if info.Enc.V == 2 {
		dek, err := crypt.UnwrapDEKV2(kek, info.Enc.WrappedDEK, info.ID, info.Enc.Kid)
		if err != nil {
			return nil, err
		}
		keys, err := crypt.DeriveSubkeysV2(dek)
		return keys.State, err
	}
	dek, err := crypt.UnwrapDEK(kek, info.Enc.WrappedDEK, info.ID, info.Enc.Kid)
	if err != nil {
		return nil, err
	}
	keys, err := crypt.DeriveSubkeys(dek)
	return keys.State, err
}

// The checker itself: it finds a reused IV, overlapping counters, a
// finished .info that kept a replaced segment, and an unlogged segment.
func TestChaosCheckerCatches(t *testing.T) {
	iv := func(hi, lo byte) (b [16]byte) { b[0], b[15] = hi, lo; return }
	rec := func(off int64, v [16]byte, where string) segRec {
		return segRec{id: "u", off: off, iv: v, where: where}
	}
	seg := func(r segRec) segment { return segment{Off: r.off, IV: append([]byte(nil), r.iv[:]...)} }
	const size = 100 << 10 // 6400 blocks
	a, b := rec(0, iv(1, 0), "l:1"), rec(40<<10, iv(2, 0), "l:2")
	finished := func(segs ...segRec) *infoFile {
		info := &infoFile{Size: size, Offset: size}
		info.Enc.Tag = make([]byte, 32)
		for _, r := range segs {
			info.Enc.Segments = append(info.Enc.Segments, seg(r))
		}
		return info
	}
	if bad := auditUpload([]segRec{a, b}, size, true, finished(a, b)); len(bad) != 0 {
		t.Fatalf("a clean upload: %v", bad)
	}
	// A rollback: c replaces b at a lower offset; the object must use c.
	c := rec(20<<10, iv(3, 0), "l:3")
	if bad := auditUpload([]segRec{a, b, c}, size, true, finished(a, c)); len(bad) != 0 {
		t.Fatalf("a clean rollback: %v", bad)
	}
	cases := []struct {
		name string
		recs []segRec
		info *infoFile
		want string
	}{
		// b's IV is a's plus 232, b starts at block 2560: a covers IV_a+0..6399.
		{"overlap", []segRec{a, rec(40<<10, iv(1, 232), "l:2")}, nil, "(b)"},
		// Wrapping past 2^128 overlaps too.
		{"wrap", []segRec{rec(0, [16]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00}, "l:1"), rec(0, iv(0, 5), "l:2")}, nil, "(b)"},
		{"kept a replaced segment", []segRec{a, b, c}, finished(a, b), "(c)"},
		{"unlogged", []segRec{a}, finished(a, b), "(d)"},
	}
	for _, tc := range cases {
		bad := auditUpload(tc.recs, size, true, tc.info)
		if len(bad) == 0 || !strings.HasPrefix(bad[0], tc.want) {
			t.Errorf("%s: got %v, want a %s finding", tc.name, bad, tc.want)
		}
	}
	// (e): a finished upload with a tail object left; an unfinished one
	// whose listed fragment is missing or of another length.
	if bad := auditTail(finished(a), []tailObject{{"5-0123456789abcdef", 3}}); len(bad) == 0 || !strings.HasPrefix(bad[0], "(e)") {
		t.Errorf("a finished upload with a fragment left: %v", bad)
	}
	open := &infoFile{Size: size, Offset: 30}
	open.Enc.Layout, open.Enc.TailLen = 2, 30
	open.Enc.Tail = []fragment{{Off: 0, Len: 30, Name: "0-0123456789abcdef"}}
	if bad := auditTail(open, []tailObject{{"0-0123456789abcdef", 30}, {"0-fedcba9876543210", 7}}); len(bad) != 0 {
		t.Errorf("an unfinished upload with its fragment and a stray one: %v", bad)
	}
	for _, objs := range [][]tailObject{nil, {{"0-0123456789abcdef", 29}}} {
		if bad := auditTail(open, objs); len(bad) == 0 || !strings.HasPrefix(bad[0], "(e)") {
			t.Errorf("listed fragment missing or short (%v): %v", objs, bad)
		}
	}
	if err := registerIV(rec(0, iv(9, 9), "x:1"), "test"); err != nil {
		t.Fatal(err)
	}
	if err := registerIV(rec(5, iv(9, 9), "x:2"), "test"); err == nil || !strings.HasPrefix(err.Error(), "(a)") {
		t.Errorf("a reused IV: %v", err)
	}
	ivRegistry.Lock()
	delete(ivRegistry.m, iv(9, 9))
	ivRegistry.Unlock()
}
