package store

import (
	"testing"

	"github.com/tusvault/tusvault/store/crypt"
)

// checkFormat accepts exactly the v1 and v2 shapes of docs/FORMAT.md,
// section 6, and refuses every field out of place.
func TestInfoCheckFormat(t *testing.T) {
	tag := make([]byte, 32)
	unfinished := func() infoFile {
		var info infoFile
		info.Size = 10 << 20
		e := &info.Enc
		e.V, e.Alg, e.PartSize, e.Layout = crypt.V2Version, crypt.V2Alg, 5<<20, layout2
		e.Committed, e.TailLen = 5<<20, crypt.ChunkSize+1
		e.Tail = []fragment{{Off: e.Committed, Len: e.TailLen, Name: "5242880-0123456789abcdef"}}
		info.Offset = e.Committed + e.TailLen
		e.TagState, e.TailTags = []byte{1}, make([]byte, 2*crypt.ChunkTagSize)
		return info
	}
	finished := func() infoFile {
		var info infoFile
		info.Size, info.Offset = 100, 100
		e := &info.Enc
		e.V, e.Alg, e.PartSize = crypt.V2Version, crypt.V2Alg, 5<<20
		e.Committed, e.Tag, e.TagsSHA256 = 100, tag, tag
		return info
	}
	v1 := func() infoFile {
		info := finished()
		e := &info.Enc
		e.V, e.Alg, e.MacState, e.TagsSHA256 = crypt.Version, crypt.Alg, []byte{1}, nil
		return info
	}
	for name, good := range map[string]func() infoFile{"unfinished v2": unfinished, "finished v2": finished, "v1": v1} {
		if info := good(); info.check() != nil {
			t.Fatalf("%s: %v", name, info.check())
		}
	}
	for _, tc := range []struct {
		name string
		good func() infoFile
		edit func(*encInfo)
	}{
		{"v2 with v1's algorithm", unfinished, func(e *encInfo) { e.Alg = crypt.Alg }},
		{"v1 with v2's algorithm", v1, func(e *encInfo) { e.Alg = crypt.V2Alg }},
		{"version 3", finished, func(e *encInfo) { e.V = 3 }},
		{"v1 with a tag state", v1, func(e *encInfo) { e.TagState = []byte{1} }},
		{"v1 with tail tags", v1, func(e *encInfo) { e.TailTags = tag[:16] }},
		{"v1 with a tags digest", v1, func(e *encInfo) { e.TagsSHA256 = tag }},
		{"v2 with a MAC state", unfinished, func(e *encInfo) { e.MacState = []byte{1} }},
		{"v2 part size not in chunks", unfinished, func(e *encInfo) { e.PartSize += 1 }},
		{"unfinished v2 in layout 1", unfinished, func(e *encInfo) { e.Layout, e.Tail = layoutV1, nil }},
		{"unfinished v2 without a tag state", unfinished, func(e *encInfo) { e.TagState = nil }},
		{"unfinished v2 with a tags digest", unfinished, func(e *encInfo) { e.TagsSHA256 = tag }},
		{"one tail tag short", unfinished, func(e *encInfo) { e.TailTags = e.TailTags[16:] }},
		{"one tail tag too many", unfinished, func(e *encInfo) { e.TailTags = append(e.TailTags, tag[:16]...) }},
		{"finished v2 without a tags digest", finished, func(e *encInfo) { e.TagsSHA256 = nil }},
		{"finished v2 with a short tag", finished, func(e *encInfo) { e.Tag = tag[:16] }},
		{"finished v2 with a tag state", finished, func(e *encInfo) { e.TagState = []byte{1} }},
		{"finished v2 with tail tags", finished, func(e *encInfo) { e.TailTags = tag[:16] }},
	} {
		info := tc.good()
		tc.edit(&info.Enc)
		if info.check() == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
}
