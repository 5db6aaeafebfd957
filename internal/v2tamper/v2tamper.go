package v2tamper

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/tusvault/tusvault/store/crypt"
)

// Upload is a finished v2 upload in the directory Dir of a disk backend.
type Upload struct {
	Dir, ID        string
	Size, PartSize int64
	// Segments are the offsets where its segments start, in order.
	Segments []int64
}

// Load reads the .info of upload id in dir.
func Load(dir, id string) (*Upload, error) {
	raw, err := os.ReadFile(filepath.Join(dir, id+".info"))
	if err != nil {
		return nil, err
	}
	var info struct {
		Size int64
		Enc  struct {
			V        int
			PartSize int64
			Segments []struct{ Off int64 }
			Tag      []byte
		}
	}
	if err := json.Unmarshal(raw, &info); err != nil {
		return nil, err
	}
	if info.Enc.V != crypt.V2Version || info.Enc.Tag == nil {
		return nil, fmt.Errorf("v2tamper: %s is not a finished v2 upload", id)
	}
	u := &Upload{Dir: dir, ID: id, Size: info.Size, PartSize: info.Enc.PartSize}
	for _, s := range info.Enc.Segments {
		u.Segments = append(u.Segments, s.Off)
	}
	return u, nil
}

// DataPath is the file of the data object.
func (u *Upload) DataPath() string { return filepath.Join(u.Dir, u.ID) }

// TagPath is the file of part p's tag object (p from 1).
func (u *Upload) TagPath(p int64) string {
	return filepath.Join(u.Dir, u.ID+".tags."+strconv.FormatInt(p, 10))
}

// InfoPath is the file of the upload's .info.
func (u *Upload) InfoPath() string { return filepath.Join(u.Dir, u.ID+".info") }

// Chunks is the upload's number of chunks.
func (u *Upload) Chunks() int64 { return crypt.ChunkCount(u.Size) }

// perPart is the number of chunks of a full part.
func (u *Upload) perPart() int64 { return u.PartSize / crypt.ChunkSize }

// tagAt returns the tag object that holds chunk i's tag and the offset
// of the tag in it.
func (u *Upload) tagAt(i int64) (path string, off int64) {
	return u.TagPath(i/u.perPart() + 1), crypt.ChunkTagSize * (i % u.perPart())
}

// Snapshot is the content of every object of an upload, by file.
type Snapshot map[string][]byte

// Snapshot reads every object of the upload: the data object, .info and
// the tag objects.
func (u *Upload) Snapshot() (Snapshot, error) {
	files, err := u.files()
	if err != nil {
		return nil, err
	}
	s := Snapshot{}
	for _, f := range files {
		if s[f], err = os.ReadFile(f); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Restore puts the upload's objects back as s holds them, removing any
// other.
func (u *Upload) Restore(s Snapshot) error {
	files, err := u.files()
	if err != nil {
		return err
	}
	for _, f := range files {
		if _, ok := s[f]; !ok {
			if err := os.Remove(f); err != nil {
				return err
			}
		}
	}
	for f, b := range s {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// files lists the upload's objects: <id> and <id>.*.
func (u *Upload) files() ([]string, error) {
	m, err := filepath.Glob(filepath.Join(u.Dir, u.ID+".*"))
	if err != nil {
		return nil, err
	}
	return append(m, u.DataPath()), nil
}

// FlipBit flips one bit of the byte at off in file path.
func FlipBit(path string, off int64) error {
	return editFile(path, func(b []byte) ([]byte, error) {
		if off < 0 || off >= int64(len(b)) {
			return nil, fmt.Errorf("v2tamper: offset %d outside %s (%d bytes)", off, path, len(b))
		}
		b[off] ^= 0x04
		return b, nil
	})
}

// Truncate cuts file path to n bytes, fewer than it has.
func Truncate(path string, n int64) error {
	return editFile(path, func(b []byte) ([]byte, error) {
		if n < 0 || n >= int64(len(b)) {
			return nil, fmt.Errorf("v2tamper: cannot cut %s (%d bytes) to %d", path, len(b), n)
		}
		return b[:n], nil
	})
}

func editFile(path string, edit func([]byte) ([]byte, error)) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if b, err = edit(b); err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

// EditInfo rewrites the .info in file path after edit has changed it:
// doc is the whole document, enc its "Enc" object. Numbers are
// json.Number.
func EditInfo(path string, edit func(doc, enc map[string]any) error) error {
	return editFile(path, func(raw []byte) ([]byte, error) {
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		var doc map[string]any
		if err := d.Decode(&doc); err != nil {
			return nil, err
		}
		enc, ok := doc["Enc"].(map[string]any)
		if !ok {
			return nil, errors.New("v2tamper: .info has no Enc")
		}
		if err := edit(doc, enc); err != nil {
			return nil, err
		}
		out, err := json.MarshalIndent(doc, "", " ")
		if err != nil || bytes.Equal(out, raw) {
			return nil, errors.Join(err, errors.New("v2tamper: .info unchanged"))
		}
		return out, nil
	})
}

// FlipBase64 flips one bit of byte at (negative: from the end) of the
// base64 string field name of m.
func FlipBase64(m map[string]any, name string, at int) error {
	s, ok := m[name].(string)
	if !ok {
		return fmt.Errorf("v2tamper: no base64 field %s", name)
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) == 0 {
		return fmt.Errorf("v2tamper: field %s: %q", name, s)
	}
	if at < 0 {
		at += len(b)
	}
	b[at] ^= 0x04
	m[name] = base64.StdEncoding.EncodeToString(b)
	return nil
}

// Case is one alteration of an upload and what it breaks.
type Case struct {
	Name string
	// All says that no read verifies (the object-level tag fails);
	// otherwise Bad lists, in order, the chunks that no longer verify.
	All bool
	Bad []int64
	// Missing says that an object is gone: reads fail with the
	// backend's "not found" rather than a tag mismatch.
	Missing bool
	Apply   func() error
}

// FirstBad returns the first chunk in [first, last] that does not
// verify.
func (c Case) FirstBad(first, last int64) (int64, bool) {
	if c.All {
		return first, true
	}
	for _, i := range c.Bad {
		if i >= first && i <= last {
			return i, true
		}
	}
	return 0, false
}

// span lists the chunks from first to last.
func span(first, last int64) []int64 {
	var s []int64
	for i := first; i <= last; i++ {
		s = append(s, i)
	}
	return s
}

// Cases returns the alterations of u the format must detect. u must have
// at least three parts, a last chunk shorter than a chunk and at least
// four segments, the second at least two bytes long; other is another
// finished upload of the same size, part size and keyring in the same
// directory.
func Cases(u, other *Upload) ([]Case, error) {
	per, last := u.perPart(), u.Chunks()-1
	if u.Size%crypt.ChunkSize == 0 || last < 2*per+1 || len(u.Segments) < 4 || u.Segments[2]-u.Segments[1] < 2 ||
		other.Size != u.Size || other.PartSize != u.PartSize || other.Dir != u.Dir {
		return nil, fmt.Errorf("v2tamper: upload %+v or %+v does not fit the cases", u, other)
	}
	k := per + 1 // a chunk inside the second part
	seg1 := span(crypt.ChunkIndex(u.Segments[1]), crypt.ChunkIndex(u.Segments[2]-1))
	// Without the second last segment, its bytes fall to the one
	// before: the chunks it wrote list other pieces.
	drop := len(u.Segments) - 2
	dropped := span(crypt.ChunkIndex(u.Segments[drop]), crypt.ChunkIndex(u.Segments[drop+1]-1))
	data := u.DataPath()
	info := func(edit func(doc, enc map[string]any) error) func() error {
		return func() error { return EditInfo(u.InfoPath(), edit) }
	}
	tagFlip := func(i int64) func() error {
		path, off := u.tagAt(i)
		return func() error { return FlipBit(path, off+3) }
	}
	return []Case{
		{Name: "data: a bit in the first chunk", Bad: []int64{0}, Apply: func() error { return FlipBit(data, 7) }},
		{Name: "data: a bit inside a chunk", Bad: []int64{k}, Apply: func() error { return FlipBit(data, crypt.ChunkStart(k)+1000) }},
		{Name: "data: a bit in the last partial chunk", Bad: []int64{last}, Apply: func() error { return FlipBit(data, u.Size-1) }},
		{Name: "tag object: a bit in a chunk's tag", Bad: []int64{k}, Apply: tagFlip(k)},
		{Name: "tag object: a bit in the last chunk's tag", Bad: []int64{last}, Apply: tagFlip(last)},
		{Name: ".info: Size", All: true, Apply: info(func(doc, enc map[string]any) error {
			size := strconv.FormatInt(u.Size^1, 10)
			doc["Size"], doc["Offset"], enc["Committed"] = json.Number(size), json.Number(size), json.Number(size)
			return nil
		})},
		{Name: ".info: an IV of Segments", Bad: seg1, Apply: info(func(_, enc map[string]any) error {
			return FlipBase64(segment(enc, 1), "IV", 5)
		})},
		{Name: ".info: an Off of Segments", Bad: seg1, Apply: info(func(_, enc map[string]any) error {
			segment(enc, 1)["Off"] = json.Number(strconv.FormatInt(u.Segments[1]+1, 10))
			return nil
		})},
		{Name: ".info: a segment dropped from Segments", Bad: dropped, Apply: info(func(_, enc map[string]any) error {
			segs := enc["Segments"].([]any)
			enc["Segments"] = append(segs[:drop:drop], segs[drop+1:]...)
			return nil
		})},
		{Name: ".info: PartSize", All: true, Apply: info(func(_, enc map[string]any) error {
			enc["PartSize"] = json.Number(strconv.FormatInt(2*u.PartSize, 10))
			return nil
		})},
		{Name: ".info: Tag", All: true, Apply: info(func(_, enc map[string]any) error { return FlipBase64(enc, "Tag", 0) })},
		{Name: ".info: TagsSHA256", All: true, Apply: info(func(_, enc map[string]any) error { return FlipBase64(enc, "TagsSHA256", -1) })},
		{Name: "two chunks swapped with their tags", Bad: []int64{k, k + 1}, Apply: func() error { return swapChunks(u, k, k+1) }},
		{Name: "two chunks swapped with their tags, across parts", Bad: []int64{per - 1, per}, Apply: func() error { return swapChunks(u, per-1, per) }},
		{Name: "a chunk and its tag from another upload", Bad: []int64{k}, Apply: func() error { return copyChunk(other, u, k) }},
		{Name: "data object cut at a chunk boundary", Bad: span(k+3, last), Apply: func() error { return Truncate(data, crypt.ChunkStart(k+3)) }},
		{Name: "data object cut before its last chunk", Bad: []int64{last}, Apply: func() error { return Truncate(data, crypt.ChunkStart(last)) }},
		{Name: "data object cut inside a chunk", Bad: span(k+3, last), Apply: func() error { return Truncate(data, crypt.ChunkStart(k+3)+777) }},
		{Name: "tag object cut by a tag", Bad: []int64{2*per - 1}, Apply: func() error { return Truncate(u.TagPath(2), crypt.ChunkTagSize*(per-1)) }},
		{Name: "tag object cut inside a tag", Bad: []int64{2*per - 1}, Apply: func() error { return Truncate(u.TagPath(2), crypt.ChunkTagSize*per-5) }},
		{Name: "tag object missing", Missing: true, Bad: span(per, 2*per-1), Apply: func() error { return os.Remove(u.TagPath(2)) }},
		{Name: "the last tag object missing", Missing: true, Bad: span(2*per, last), Apply: func() error { return os.Remove(u.TagPath(last/per + 1)) }},
	}, nil
}

// segment returns segment s of the Enc object of a .info.
func segment(enc map[string]any, s int) map[string]any {
	segs, _ := enc["Segments"].([]any)
	if s >= len(segs) {
		return map[string]any{}
	}
	m, _ := segs[s].(map[string]any)
	return m
}

// readChunk returns the ciphertext and the tag of chunk i of u.
func readChunk(u *Upload, i int64) (ct, tag []byte, err error) {
	data, err := os.ReadFile(u.DataPath())
	if err != nil {
		return nil, nil, err
	}
	path, off := u.tagAt(i)
	tags, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	start := crypt.ChunkStart(i)
	end := start + int64(crypt.ChunkLen(i, u.Size))
	return slices.Clone(data[start:end]), slices.Clone(tags[off : off+crypt.ChunkTagSize]), nil
}

// writeChunk stores ct and tag as chunk i of u; ct must be as long as the
// chunk.
func writeChunk(u *Upload, i int64, ct, tag []byte) error {
	if len(ct) != crypt.ChunkLen(i, u.Size) {
		return fmt.Errorf("v2tamper: %d bytes for chunk %d", len(ct), i)
	}
	if err := editFile(u.DataPath(), func(b []byte) ([]byte, error) {
		copy(b[crypt.ChunkStart(i):], ct)
		return b, nil
	}); err != nil {
		return err
	}
	path, off := u.tagAt(i)
	return editFile(path, func(b []byte) ([]byte, error) {
		copy(b[off:], tag)
		return b, nil
	})
}

// swapChunks exchanges chunks i and j of u, two full chunks, with their
// tags.
func swapChunks(u *Upload, i, j int64) error {
	ct1, tag1, err := readChunk(u, i)
	if err != nil {
		return err
	}
	ct2, tag2, err := readChunk(u, j)
	if err != nil {
		return err
	}
	return errors.Join(writeChunk(u, i, ct2, tag2), writeChunk(u, j, ct1, tag1))
}

// copyChunk copies chunk i of from, with its tag, over chunk i of to.
func copyChunk(from, to *Upload, i int64) error {
	ct, tag, err := readChunk(from, i)
	if err != nil {
		return err
	}
	if from.ID == to.ID {
		return errors.New("v2tamper: a chunk copied onto itself")
	}
	return writeChunk(to, i, ct, tag)
}

// Prepare loads upload id and otherID of dir, the cases of Cases over
// them and a snapshot of id's files to restore after each case.
func Prepare(dir, id, otherID string) (*Upload, []Case, Snapshot, error) {
	up, err := Load(dir, id)
	if err != nil {
		return nil, nil, nil, err
	}
	other, err := Load(dir, otherID)
	if err != nil {
		return nil, nil, nil, err
	}
	cases, err := Cases(up, other)
	if err != nil {
		return nil, nil, nil, err
	}
	snap, err := up.Snapshot()
	if err != nil {
		return nil, nil, nil, err
	}
	return up, cases, snap, nil
}
