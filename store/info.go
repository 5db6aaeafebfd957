package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/tusvault/tusvault/store/crypt"
)

// infoFile is the JSON document stored at <key>.info: the source of truth
// for an upload (DESIGN.md, "Encryption format v1").
type infoFile struct {
	ID             string
	Size           int64
	SizeIsDeferred bool
	Offset         int64
	IsFinal        bool
	IsPartial      bool
	Storage        map[string]string
	// MultipartID names the backend's multipart upload that assembles
	// the data object; empty once the upload is complete.
	MultipartID string `json:",omitempty"`
	Enc         encInfo
}

// encInfo is the "Enc" member of .info.
type encInfo struct {
	V          int
	Alg        string
	Kid        string
	WrappedDEK []byte
	PartSize   int64
	Segments   []crypt.Segment
	// Committed counts the bytes in parts the backend confirmed.
	Committed int64
	// TailLen counts the ciphertext bytes of the tail (in <key>.part in
	// layout 1, in the fragments of Tail in layout 2); Offset is always
	// Committed + TailLen.
	TailLen int64
	// Tail lists the tail's fragments in offset order (layout 2 only).
	Tail []fragment `json:",omitempty"`
	Seq  uint64
	// MacState is the sealed running MAC of format v1 (none in v2).
	MacState []byte `json:",omitempty"`
	Meta     []byte
	Tag      []byte `json:",omitempty"`
	// Format v2 only (docs/FORMAT.md, section 6): TagState is the
	// sealed running digest of the committed chunk tags (unfinished
	// uploads), TailTags the tags of the tail's chunks, TagsSHA256 the
	// digest of all chunk tags (finished uploads).
	TagState   []byte `json:",omitempty"`
	TailTags   []byte `json:",omitempty"`
	TagsSHA256 []byte `json:",omitempty"`
	// Layout is the layout of an unfinished upload's objects: 0 (absent)
	// for v1, every segment in .info, the tail in <key>.part and the
	// sealed MAC state over Committed bytes; layout2 when the oldest
	// segments may be in pages (segments.go), the tail is in fragments
	// (fragments.go) and the sealed MAC state covers the tail too
	// (macCovers; v2 has no MAC state, its TagState covers Committed). A
	// finished .info has no Layout: every segment inline, no tail.
	Layout int `json:",omitempty"`
	// Pages counts the segment pages <key>.segs.0 … .segs.<Pages-1>;
	// Paged counts the segments they hold, which come before Segments.
	// PagesHash is the hash of the last page (crypt.PageHash).
	Pages     int    `json:",omitempty"`
	Paged     int    `json:",omitempty"`
	PagesHash []byte `json:",omitempty"`
}

// The suffixes of an upload's side objects: the .info, the tail object
// of layout 1, and the prefix of the name of every tail fragment of
// layout 2 (<key>.part.<name>, see fragment).
const (
	infoSuffix     = ".info"
	tailSuffix     = ".part"
	fragmentSuffix = tailSuffix + "."
)

// The layouts of an unfinished upload (Enc.Layout).
const (
	// layoutV1 (written as no Layout field): every segment in .info, the
	// tail in <key>.part, the sealed MAC state over Committed bytes.
	layoutV1 = 0
	// layout2: segment pages, tail fragments (Enc.Tail), the sealed MAC
	// state over Offset = Committed + TailLen bytes.
	layout2 = 2
)

// macCovers is how many bytes, from offset 0, the sealed MAC state
// covers: the committed ones in layout 1, the tail's too in layout 2.
func (e *encInfo) macCovers() int64 {
	if e.Layout == layout2 {
		return e.Committed + e.TailLen
	}
	return e.Committed
}

// Bounds of an upload id: at most maxIDSegments slash-separated segments
// of 1 to maxIDSegment URL-safe characters ([A-Za-z0-9_-]), at most
// maxID bytes in all. Dots are excluded so that an id never ends in a
// side-object suffix.
const (
	maxID         = 512
	maxIDSegments = 8
	maxIDSegment  = 128
)

// validID reports whether id is acceptable as an upload id. (A regexp
// with these bounds compiles to about half a MiB; this is a loop.)
func validID(id string) bool {
	if len(id) == 0 || len(id) > maxID {
		return false
	}
	segments, run := 1, 0
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case c == '/':
			if run == 0 || segments == maxIDSegments {
				return false
			}
			segments, run = segments+1, 0
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '-':
			if run++; run > maxIDSegment {
				return false
			}
		default:
			return false
		}
	}
	return run > 0
}

// readInfo loads and decodes key's .info, returning the raw bytes too.
func (s *Store) readInfo(ctx context.Context, key string) (*infoFile, []byte, error) {
	raw, err := s.readObject(ctx, key+infoSuffix, maxInfoSize)
	if err != nil {
		return nil, nil, fmt.Errorf("read info: %w", err)
	}
	var info infoFile
	if err := json.Unmarshal(raw, &info); err != nil {
		return nil, nil, fmt.Errorf("decode info: %w", err)
	}
	if err := info.check(); err != nil {
		return nil, nil, err
	}
	return &info, raw, nil
}

// maxInfoSize bounds a .info document (segments grow with PATCH count).
const maxInfoSize = 16 << 20

// maxSegments bounds the PATCH requests an upload may take, which keeps
// .info under maxInfoSize.
const maxSegments = 100000

// check rejects a .info this version cannot handle.
func (info *infoFile) check() error {
	e := &info.Enc
	if err := e.checkFormat(info.Offset); err != nil {
		return err
	}
	switch {
	case e.PartSize < minPartSize:
		return errors.New("info has an invalid part size")
	case e.Committed < 0 || e.TailLen < 0 || info.Offset != e.Committed+e.TailLen:
		return errors.New("info offsets are inconsistent")
	case !info.SizeIsDeferred && info.Offset > info.Size:
		return errors.New("info offset exceeds size")
	}
	if err := e.checkTail(); err != nil {
		return err
	}
	return e.checkSegments()
}

// encode renders info as JSON.
func (info *infoFile) encode() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", " ")
	if err := enc.Encode(info); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// putRaw stores raw bytes as key's .info.
func (s *Store) putRaw(ctx context.Context, key string, raw []byte) error {
	return s.cfg.Backend.Put(ctx, key+infoSuffix, bytes.NewReader(raw), int64(len(raw)))
}
