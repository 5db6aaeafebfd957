package e2e

import (
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tusvault/tusvault/internal/failpoint"
	"github.com/tusvault/tusvault/store/crypt"
)

// The nonce checker of format v2 (docs/FORMAT.md, section 9.4). Every
// server of a chaos test logs each chunk it is about to seal
// (TUSVAULT_SEAL_LOG, written by crypt.ChunkCipher.SealChunk in failpoint
// builds): the upload, the IV of the sealing segment (whose key is
// HKDF(K_chunk, IV)), the chunk index i, its length n and final flag (the
// nonce's inputs), a digest of the plaintext piece and one of the piece
// with its AAD. A seal uses two nonces under the segment's key: the piece
// is encrypted with the GCM keystream of ChunkNonce(i, n, false), and the
// tag is made under ChunkNonce(i, n, final). Over the seal log of a rig
// (every process of the trial, across its kills and restarts) and its
// segment log, auditSeals proves:
//
//	(f) no keystream encrypts two plaintexts: for each (IV, i, n), the
//	    seals that encrypt a piece all encrypt the same one;
//	(g) no tag nonce authenticates two messages: for each (IV, i, n,
//	    final), all seals have the same piece and AAD (the stored
//	    ciphertext before the piece included);
//	(h) keys are persisted before use: every sealing IV is a segment of
//	    the same upload in the segment log (logged before its .info is
//	    written, which is before any byte is sealed under it).
//
// A seal as final digests its piece with the AAD before the piece's
// ciphertext (which the piece fixes under the key), not the GMAC's
// message itself: a final seal with a piece and a final re-seal without
// one, of one chunk length under one key, would count as two messages
// even with equal bytes. The store never makes that pair (it re-seals only
// a chunk sealed as not final, by a request that has ended), so the
// checker is only stricter than the rule there.
//
// auditStore adds, over the .info files: (i) no seal for a v1 upload, and
// every chunk of a finished v2 upload has a seal at its final length
// (final for the last), so the log did not miss the seals of the object.

// sealRec is one line of a seal log.
type sealRec struct {
	id    string
	iv    [16]byte
	chunk int64
	end   int
	final bool
	pt    string // digest of the plaintext piece; "-" for a re-seal without one
	msg   string // digest of the piece and its AAD
	where string // file:line
}

// readSealLog parses a seal log, grouped by upload id in log order.
func readSealLog(path string) (map[string][]sealRec, error) {
	out := map[string][]sealRec{}
	err := eachLine(path, func(line, where string) error {
		r, ok := parseSealLine(line)
		if !ok {
			return fmt.Errorf("%s: malformed line %q", where, line)
		}
		r.where = where
		out[r.id] = append(out[r.id], r)
		return nil
	})
	return out, err
}

func parseSealLine(line string) (sealRec, bool) {
	f := strings.Fields(line)
	if len(f) != 7 {
		return sealRec{}, false
	}
	iv, err := hex.DecodeString(f[1])
	chunk, cerr := strconv.ParseInt(f[2], 10, 64)
	end, eerr := strconv.Atoi(f[3])
	digest := func(s string) bool { b, err := hex.DecodeString(s); return err == nil && len(b) == 32 }
	if err != nil || cerr != nil || eerr != nil || len(iv) != 16 || chunk < 0 || end < 1 || end > crypt.ChunkSize ||
		(f[4] != "0" && f[4] != "1") || (f[5] != "-" && !digest(f[5])) || !digest(f[6]) {
		return sealRec{}, false
	}
	r := sealRec{id: f[0], chunk: chunk, end: end, final: f[4] == "1", pt: f[5], msg: f[6]}
	copy(r.iv[:], iv)
	return r, true
}

// nonceUse names a nonce under a segment key.
type nonceUse struct {
	iv    [16]byte
	chunk int64
	end   int
	final bool
}

func (u nonceUse) String() string {
	return fmt.Sprintf("IV %x…, ChunkNonce(%d, %d, %v)", u.iv[:4], u.chunk, u.end, u.final)
}

// auditSeals checks (f), (g) and (h) over the seal records of one rig,
// grouped by upload, against its segment log.
func auditSeals(seals map[string][]sealRec, segs map[string][]segRec) []string {
	var bad []string
	keystream := map[nonceUse]sealRec{} // final always false: the piece nonce
	tags := map[nonceUse]sealRec{}
	for id, recs := range seals {
		logged := map[[16]byte]bool{}
		for _, s := range segs[id] {
			logged[s.iv] = true
		}
		for _, r := range recs {
			if !logged[r.iv] {
				bad = append(bad, fmt.Sprintf("(h) upload %s: %s seals under IV %x, which is no logged segment of the upload", id, r.where, r.iv))
			}
			if r.pt != "-" {
				use := nonceUse{iv: r.iv, chunk: r.chunk, end: r.end}
				if prev, ok := keystream[use]; ok && prev.pt != r.pt {
					bad = append(bad, fmt.Sprintf("(f) keystream of %s encrypts two plaintexts: %s and %s", use, prev.where, r.where))
				} else if !ok {
					keystream[use] = r
				}
			}
			use := nonceUse{iv: r.iv, chunk: r.chunk, end: r.end, final: r.final}
			if prev, ok := tags[use]; ok && prev.msg != r.msg {
				bad = append(bad, fmt.Sprintf("(g) tag nonce %s authenticates two messages: %s and %s", use, prev.where, r.where))
			} else if !ok {
				tags[use] = r
			}
		}
	}
	return bad
}

// auditSealsOfUpload checks (i) for one upload: its .info (nil once
// removed) and its seal records.
func auditSealsOfUpload(info *infoFile, recs []sealRec) []string {
	if info == nil {
		return nil
	}
	if info.Enc.V != 2 {
		if len(recs) > 0 {
			return []string{fmt.Sprintf("(i) a v%d upload with %d chunk seals (%s)", info.Enc.V, len(recs), recs[0].where)}
		}
		return nil
	}
	if len(info.Enc.Tag) == 0 {
		return nil
	}
	type sealed struct {
		end   int
		final bool
	}
	have := map[int64]map[sealed]bool{}
	for _, r := range recs {
		if have[r.chunk] == nil {
			have[r.chunk] = map[sealed]bool{}
		}
		have[r.chunk][sealed{r.end, r.final}] = true
	}
	var bad []string
	n := crypt.ChunkCount(info.Size)
	for i := range n {
		want := sealed{int(min(crypt.ChunkSize, info.Size-crypt.ChunkStart(i))), i == n-1}
		if !have[i][want] {
			bad = append(bad, fmt.Sprintf("(i) chunk %d of the finished upload has no seal of %d bytes (final %v) in the seal log", i, want.end, want.final))
			if len(bad) == 3 {
				break
			}
		}
	}
	return bad
}

// The nonce checker itself: it finds a keystream and a tag nonce used for
// two messages, a seal under an unlogged IV, a seal of a v1 upload and a
// chunk of a finished v2 upload whose seal is missing; retried seals of the
// same message, and seals of a chunk at two lengths or by two segments,
// pass.
func TestChaosNonceCheckerCatches(t *testing.T) {
	digest := func(b byte) string { return strings.Repeat(fmt.Sprintf("%02x", b), 32) }
	ivA, ivB := [16]byte{1}, [16]byte{2}
	seal := func(iv [16]byte, chunk int64, end int, final bool, pt, msg byte, where string) sealRec {
		r := sealRec{id: "u", iv: iv, chunk: chunk, end: end, final: final, pt: digest(pt), msg: digest(msg), where: where}
		if pt == 0 {
			r.pt = "-"
		}
		return r
	}
	segs := map[string][]segRec{"u": {{id: "u", off: 0, iv: ivA}, {id: "u", off: 100, iv: ivB}}}
	// Segment A seals chunk 0 at 100 bytes (interim), again after a retry;
	// segment B completes it (a longer piece, its own key) and seals chunk
	// 1 at 10 bytes (a deferred length), then re-seals it as final without
	// new bytes, twice (a completion retried).
	clean := []sealRec{
		seal(ivA, 0, 100, false, 1, 2, "l:1"),
		seal(ivA, 0, 100, false, 1, 2, "l:2"),
		seal(ivB, 0, crypt.ChunkSize, false, 3, 4, "l:3"),
		seal(ivB, 1, 10, false, 5, 6, "l:4"),
		seal(ivB, 1, 10, true, 0, 7, "l:5"),
		seal(ivB, 1, 10, true, 0, 7, "l:6"),
	}
	if bad := auditSeals(map[string][]sealRec{"u": clean}, segs); len(bad) != 0 {
		t.Fatalf("clean seals: %v", bad)
	}
	for _, tc := range []struct {
		name string
		add  sealRec
		want []string
	}{
		// A seals chunk 0 at 100 bytes again with other bytes: both its
		// keystream and its tag nonce are reused.
		{"rewritten piece", seal(ivA, 0, 100, false, 8, 9, "l:9"), []string{"(f)", "(g)"}},
		// The same piece under another AAD (another stored prefix).
		{"other aad", seal(ivA, 0, 100, false, 1, 9, "l:9"), []string{"(g)"}},
		// A final seal whose piece differs from the interim one of the same
		// length: the piece nonce's keystream is reused, the tags are not.
		{"final over interim", seal(ivA, 0, 100, true, 8, 9, "l:9"), []string{"(f)"}},
		// Two re-seals as final of different stored bytes.
		{"final twice", seal(ivB, 1, 10, true, 0, 9, "l:9"), []string{"(g)"}},
		{"unlogged IV", seal([16]byte{3}, 2, 5, false, 1, 1, "l:9"), []string{"(h)"}},
	} {
		bad := auditSeals(map[string][]sealRec{"u": append(clean[:len(clean):len(clean)], tc.add)}, segs)
		ok := len(bad) == len(tc.want)
		for i := 0; ok && i < len(bad); i++ {
			ok = strings.HasPrefix(bad[i], tc.want[i]) && strings.Contains(bad[i], "l:9")
		}
		if !ok {
			t.Errorf("%s: got %v, want findings %v naming l:9", tc.name, bad, tc.want)
		}
	}
	// A reuse across two processes' records of one log reads back as one,
	// past a third process's record that a SIGKILL cut short (a torn
	// record announced a seal that never happened).
	log := filepath.Join(t.TempDir(), "seals.log")
	end := failpoint.RecordEnd
	lines := fmt.Sprintf("\nu %x 0 100 0 %s %s%s\nu %x 0 100 0 %s\nu %x 0 100 0 %s %s%s",
		ivA, digest(1), digest(2), end, ivA, digest(3)[:9], ivA, digest(1), digest(8), end)
	if err := os.WriteFile(log, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	read, err := readSealLog(log)
	if err != nil {
		t.Fatal(err)
	}
	if bad := auditSeals(read, segs); len(read["u"]) != 2 || len(bad) != 1 || !strings.HasPrefix(bad[0], "(g)") || !strings.Contains(bad[0], "seals.log:4") {
		t.Errorf("a reuse read from a log: %v", bad)
	}
	for _, line := range []string{"u 01 0 1 0 - " + digest(1), fmt.Sprintf("u %x 0 0 0 - %s", ivA, digest(1)), fmt.Sprintf("u %x 0 1 2 - %s", ivA, digest(1))} {
		if _, ok := parseSealLine(line); ok {
			t.Errorf("malformed line %q parsed", line)
		}
	}
	// (i): seals of a v1 upload; a finished v2 upload of 2 chunks whose
	// last seal is missing, then present.
	v1 := &infoFile{Size: 10}
	v1.Enc.V = 1
	if bad := auditSealsOfUpload(v1, clean[:1]); len(bad) != 1 || !strings.HasPrefix(bad[0], "(i)") {
		t.Errorf("seals of a v1 upload: %v", bad)
	}
	v2 := &infoFile{Size: crypt.ChunkSize + 10}
	v2.Enc.V, v2.Enc.Tag = 2, make([]byte, 32)
	if bad := auditSealsOfUpload(v2, clean[:3]); len(bad) != 1 || !strings.HasPrefix(bad[0], "(i) chunk 1") {
		t.Errorf("a finished v2 upload without the seal of its last chunk: %v", bad)
	}
	if bad := auditSealsOfUpload(v2, clean); len(bad) != 0 {
		t.Errorf("a finished v2 upload with all its seals: %v", bad)
	}
}

// checkSeals runs the nonce checker over a rig's seal records, segment
// log and .info files (auditStore's part for v2) and returns the number
// of seals audited.
func checkSeals(t *testing.T, seals map[string][]sealRec, segs map[string][]segRec, infos map[string]*infoFile) int {
	t.Helper()
	for _, p := range auditSeals(seals, segs) {
		t.Error(p)
	}
	for id, info := range infos {
		for _, p := range auditSealsOfUpload(info, seals[id]) {
			t.Errorf("upload %s: %s", id, p)
		}
	}
	n := 0
	for _, recs := range seals {
		n += len(recs)
	}
	return n
}

// checkFormat checks that the uploads audited in n, of which the test
// made uploads, are all in the rig's format, and that the seal log has
// seals exactly when that is v2.
func (r *rig) checkFormat(t *testing.T, n audited, uploads int) {
	t.Helper()
	v1, v2 := 0, uploads
	if r.v1 {
		v1, v2 = uploads, 0
	}
	if n.v1 != v1 || n.v2 != v2 || (v2 > 0) != (n.seals > 0) {
		t.Errorf("%v; want %d v1 and %d v2 uploads, and chunk seals only for v2", n, v1, v2)
	}
}
