package hooks

import (
	"encoding/base64"
	"maps"
	"strconv"
	"strings"
	"testing"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestParseMetadata(t *testing.T) {
	good := map[string]map[string]string{
		"":                         {},
		"filename " + b64("a.txt"): {"filename": "a.txt"},
		"filename " + b64("a.txt") + ",filetype " + b64("text/plain"): {"filename": "a.txt", "filetype": "text/plain"},
		"is_confidential":                   {"is_confidential": ""},
		" filename " + b64("x") + " , flag": {"filename": "x", "flag": ""},
		"name " + b64("\x00 nul ok, é ok"):  {"name": "\x00 nul ok, é ok"},
		manyKeys(MaxMetadataPairs):          manyKeysMap(MaxMetadataPairs),
	}
	for h, want := range good {
		got, err := ParseMetadata(h)
		if err != nil || !maps.Equal(got, want) {
			t.Errorf("ParseMetadata(%q) = %v, %v; want %v", h, got, err, want)
		}
	}
	for _, h := range []string{
		"filename !!!notbase64", "a b c", "filename ====x", "filename " + strings.TrimRight(b64("ab"), "="),
		",", "a,,b", "k\x01 " + b64("x"), "ké " + b64("x"),
		"a " + b64("1") + ",a " + b64("2"), strings.Repeat("k", MaxMetadataBytes+1),
		// Not UTF-8: stored as JSON strings, the bytes would come back
		// as U+FFFD.
		"name " + b64("\x00\xff binary"), "filename " + b64("caf\xe9.txt"),
		manyKeys(MaxMetadataPairs + 1),
	} {
		if _, err := ParseMetadata(h); err == nil {
			t.Errorf("ParseMetadata(%q) accepted a malformed header", h)
		} else if !strings.Contains(err.Error(), "ERR_INVALID_METADATA") && !strings.Contains(err.Error(), "invalid Upload-Metadata") {
			t.Errorf("ParseMetadata(%q): error %q does not say what is wrong", h, err)
		}
	}
}

// manyKeys is a header of n keys without values; manyKeysMap its parse.
func manyKeys(n int) string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = "k" + strconv.Itoa(i)
	}
	return strings.Join(keys, ",")
}

func manyKeysMap(n int) map[string]string {
	m := map[string]string{}
	for i := range n {
		m["k"+strconv.Itoa(i)] = ""
	}
	return m
}

// FuzzParseMetadata: any header either parses into pairs that encode back
// to an equivalent header, or is refused; it never panics.
func FuzzParseMetadata(f *testing.F) {
	for _, s := range []string{"", "filename " + b64("a.txt"), "a b c", "k,k", "x " + b64("\xff"), " , "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		meta, err := ParseMetadata(h)
		if err != nil {
			return
		}
		var parts []string
		for k, v := range meta {
			if !validKey(k) {
				t.Fatalf("accepted bad key %q", k)
			}
			parts = append(parts, k+" "+b64(v))
		}
		again, err := ParseMetadata(strings.Join(parts, ","))
		if err != nil || !maps.Equal(again, meta) {
			t.Fatalf("re-encoded header does not parse back: %v", err)
		}
	})
}
