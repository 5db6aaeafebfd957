package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const secretName = "holiday-photos-secret-name.jpg"

// plaintextIndex finds any 32-byte window of some plaintexts inside other
// bytes. Every 32-byte window of a plaintext contains a whole 16-byte block
// aligned at a multiple of 16 in that plaintext, so indexing those aligned
// blocks and looking for any of them at every byte position of a file finds
// every 32-byte window (and some shorter matches).
type plaintextIndex struct {
	blocks map[[16]byte]string // block → "name@offset"
	filter []uint64            // bitset over a hash of a block's first 8 bytes
}

const filterBits = 27

func filterHash(b []byte) uint64 {
	return (binary.LittleEndian.Uint64(b) * 0x9E3779B97F4A7C15) >> (64 - filterBits)
}

func newPlaintextIndex(named map[string][]byte) *plaintextIndex {
	ix := &plaintextIndex{blocks: map[[16]byte]string{}, filter: make([]uint64, 1<<filterBits/64)}
	for name, p := range named {
		for off := 0; off+16 <= len(p); off += 16 {
			var k [16]byte
			copy(k[:], p[off:])
			if _, ok := ix.blocks[k]; !ok {
				ix.blocks[k] = fmt.Sprintf("%s@%d", name, off)
			}
			h := filterHash(k[:])
			ix.filter[h/64] |= 1 << (h % 64)
		}
	}
	return ix
}

// find returns the offset in b of the first indexed block and where it
// comes from, or -1.
func (ix *plaintextIndex) find(b []byte) (int, string) {
	for i := 0; i+16 <= len(b); i++ {
		h := filterHash(b[i:])
		if ix.filter[h/64]&(1<<(h%64)) == 0 {
			continue
		}
		if src, ok := ix.blocks[[16]byte(b[i:i+16])]; ok {
			return i, src
		}
	}
	return -1, ""
}

// nameNeedles are the forms in which the secret file name could leak: raw,
// and base64 (standard and URL alphabets) at each of the three alignments
// it could have inside a longer base64 text.
func nameNeedles() map[string][]byte {
	out := map[string][]byte{"raw": []byte(secretName)}
	for shift := range 3 {
		sub := []byte(secretName)[shift:]
		sub = sub[:len(sub)/3*3]
		out[fmt.Sprintf("base64 (shift %d)", shift)] = []byte(base64.StdEncoding.EncodeToString(sub))
		out[fmt.Sprintf("base64url (shift %d)", shift)] = []byte(base64.URLEncoding.EncodeToString(sub))
	}
	out["base64 padded"] = []byte(base64.StdEncoding.EncodeToString([]byte(secretName)))
	return out
}

// recognisable returns n bytes: repeated English text, then random bytes.
func recognisable(seed uint64, text string, n int) []byte {
	b := make([]byte, 0, n)
	for len(b) < n/2 {
		b = append(b, text...)
	}
	b = b[:n/2]
	return append(b, randomBytes(seed, n-n/2)...)
}

// scanAtRest walks every file under the roots and reports plaintext and
// name leaks. It returns the number of files and bytes scanned.
// scanOpenFiles scans the files that process pid holds open under dir
// (unlinked spool files too) for plaintext, and returns how many.
func scanOpenFiles(t *testing.T, ix *plaintextIndex, pid int, dir string) int {
	t.Helper()
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, fd := range fds {
		p := fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name())
		if target, err := os.Readlink(p); err != nil || !strings.HasPrefix(target, dir+"/") {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		n++
		if i, src := ix.find(b); i >= 0 {
			t.Errorf("open spool file %s holds plaintext in clear: 16 bytes at offset %d equal %s", p, i, src)
		}
	}
	return n
}

func scanAtRest(t *testing.T, ix *plaintextIndex, roots ...string) (files int, total int64) {
	t.Helper()
	needles := nameNeedles()
	for _, root := range roots {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if os.IsNotExist(err) {
					return nil
				}
				return err
			}
			if strings.Contains(strings.ToLower(d.Name()), "holiday") || strings.Contains(d.Name(), secretName) {
				t.Errorf("a path under %s carries the file name: %s", root, p)
			}
			if !d.Type().IsRegular() {
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				if os.IsNotExist(err) { // removed while walking (spool)
					return nil
				}
				return err
			}
			files++
			total += int64(len(b))
			if i, src := ix.find(b); i >= 0 {
				t.Errorf("%s holds plaintext in clear: 16 bytes at file offset %d equal %s", p, i, src)
			}
			for form, nd := range needles {
				if i := bytes.Index(b, nd); i >= 0 {
					t.Errorf("%s holds the file name (%s) at offset %d", p, form, i)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return files, total
}

func TestNothingInClearAtRest(t *testing.T) {
	ctx := testCtx(t, 80*time.Second)
	dir := t.TempDir()
	s := startServer(t, dir)
	c := newClient()
	const size = 12 * MiB
	done := recognisable(5001, "Dear diary, the holiday photos are on the beach; nobody may read this file. ", size)
	half := recognisable(5002, "Quarterly numbers: revenue 1234567, margin 42%, do not share outside! ", size)
	meta := map[string]string{"filename": secretName, "filetype": "image/jpeg"}

	ix := newPlaintextIndex(map[string][]byte{"finished": done, "half-done": half})
	// The scanner itself must see a plaintext window at an odd offset.
	canary := append(append([]byte("xxxxxxx"), half[size-1000003:size-1000003+32]...), "yyy"...)
	if i, _ := ix.find(canary); i < 0 {
		t.Fatal("scanner self-check: a 32-byte plaintext window was not found")
	}

	uDone, err := c.Create(ctx, s.Endpoint, size, meta)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Upload(ctx, uDone, done, []int{3*MiB + 1, 4 * MiB}); err != nil {
		t.Fatal(err)
	}
	uHalf, err := c.Create(ctx, s.Endpoint, size, meta)
	if err != nil {
		t.Fatal(err)
	}
	halfAt := int64(7*MiB + 777) // one 5 MiB part stored, a tail in .part
	if _, err := c.Patch(ctx, uHalf, 0, bytes.NewReader(half[:halfAt]), halfAt); err != nil {
		t.Fatal(err)
	}
	if off, _, err := c.Head(ctx, uHalf); err != nil || off != halfAt {
		t.Fatalf("HEAD of the half-done upload = %d, %v; want %d", off, err, halfAt)
	}
	// The server must still serve both (so what is scanned is what it uses).
	checkGetFull(t, c, ctx, uDone, done)
	idHalf := uploadID(t, uHalf)
	if info := readInfo(t, dir, idHalf); info.Enc.TailLen == 0 && info.Offset%partSize != 0 {
		t.Logf("note: half-done upload .info TailLen = 0 at offset %d", info.Offset)
	}
	if info := readInfo(t, dir, idHalf); len(info.Enc.Tail) != 1 {
		t.Errorf("half-done upload: tail %+v, want one fragment", info.Enc.Tail)
	} else if _, err := os.Stat(objPath(dir, idHalf, ".part."+info.Enc.Tail[0].Name)); err != nil {
		t.Errorf("half-done upload: %v", err)
	}
	// The tail cache: the half-done upload's spool file, unlinked and
	// open, holds its tail's ciphertext, never plaintext.
	spool := filepath.Join(dir, ".tusvault", "spool")
	if n := scanOpenFiles(t, ix, s.cmd.Process.Pid, spool); n != 1 {
		t.Errorf("%d open spool files, want the half-done upload's cached tail", n)
	}
	if _, err := os.Stat(filepath.Join(dir, "keyring.json")); err != nil {
		t.Errorf("keyring: %v", err)
	}

	files, total := scanAtRest(t, ix, dir, s.Tmp)
	t.Logf("server running: scanned %d files, %d bytes", files, total)
	if total < size+halfAt {
		t.Errorf("scanned only %d bytes; the stored ciphertext alone is %d bytes", total, size+halfAt)
	}
	// And once more after a clean shutdown (which may flush state).
	s.stop()
	files, total = scanAtRest(t, ix, dir, s.Tmp)
	t.Logf("server stopped: scanned %d files, %d bytes", files, total)
}
