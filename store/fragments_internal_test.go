package store

import (
	"strconv"
	"testing"

	"github.com/tusvault/tusvault/store/crypt"
)

// The layout check refuses what this version cannot read.
func TestInfoCheckTail(t *testing.T) {
	name := func(off int64) string { return strconv.FormatInt(off, 10) + "-0123456789abcdef" }
	good := func() infoFile {
		var info infoFile
		info.Size, info.Offset = 100, 30
		e := &info.Enc
		e.V, e.Alg, e.PartSize, e.Layout = crypt.Version, crypt.Alg, 5<<20, layout2
		e.Committed, e.TailLen = 0, 30
		e.Tail = []fragment{{Off: 0, Len: 10, Name: name(0)}, {Off: 10, Len: 20, Name: name(10)}}
		return info
	}
	if info := good(); info.check() != nil {
		t.Fatalf("a good tail: %v", info.check())
	}
	for _, tc := range []struct {
		name string
		edit func(*infoFile)
	}{
		{"unknown layout", func(i *infoFile) { i.Enc.Layout = 3 }},
		{"fragments in layout 1", func(i *infoFile) { i.Enc.Layout = layoutV1 }},
		{"gap", func(i *infoFile) { i.Enc.Tail[1].Off, i.Enc.Tail[1].Name = 11, name(11) }},
		{"short", func(i *infoFile) { i.Enc.Tail = i.Enc.Tail[:1] }},
		{"empty fragment", func(i *infoFile) { i.Enc.Tail[0].Len = 0 }},
		{"name of another offset", func(i *infoFile) { i.Enc.Tail[1].Name = name(0) }},
		{"name with a path", func(i *infoFile) { i.Enc.Tail[1].Name = "10-../../etc/x" }},
		{"upper-case name", func(i *infoFile) { i.Enc.Tail[1].Name = "10-0123456789ABCDEF" }},
	} {
		info := good()
		tc.edit(&info)
		if info.check() == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
}
