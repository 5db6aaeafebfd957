package hooks

import (
	"strings"
	"unicode/utf8"
)

// maxFilenameBytes bounds a sanitized file name (UTF-8 bytes).
const maxFilenameBytes = 200

// maxExtensionBytes is the longest extension kept when a name is cut.
const maxExtensionBytes = 16

// fallbackFilename names a download whose file name sanitizes to nothing.
const fallbackFilename = "download"

// ContentDisposition returns a Content-Disposition header value for a
// download: kind is "inline" or anything else for "attachment"; filename,
// when not empty, is sanitized (SanitizeFilename) and given twice, as an
// ASCII fallback and as RFC 6266 / RFC 8187 filename*:
//
//	attachment; filename="na_ve.txt"; filename*=UTF-8''na%C3%AFve.txt
func ContentDisposition(kind, filename string) string {
	if !strings.EqualFold(kind, "inline") {
		kind = "attachment"
	} else {
		kind = "inline"
	}
	if filename == "" {
		return kind
	}
	name := SanitizeFilename(filename)
	return kind + `; filename="` + asciiFallback(name) + `"; filename*=UTF-8''` + pctEncode(name)
}

// SanitizeFilename makes a client-given file name safe to offer for a
// download: the part after the last slash or backslash, without invalid
// UTF-8, control characters (C0, DEL, C1), quotes, line and paragraph
// separators or bidirectional overrides, without leading dots and spaces
// or trailing dots and spaces, at most 200 bytes (keeping a short
// extension). A name left empty becomes "download".
func SanitizeFilename(name string) string {
	name = strings.ToValidUTF8(name, "")
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	var b strings.Builder
	for _, r := range name {
		if !unsafeRune(r) {
			b.WriteRune(r)
		}
	}
	name = strings.TrimLeft(b.String(), ". ")
	name = strings.TrimRight(name, ". ")
	name = cutName(name, maxFilenameBytes)
	if name == "" {
		return fallbackFilename
	}
	return name
}

func unsafeRune(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f: // C0, DEL, C1
		return true
	case r == '"', r == '\\', r == '/':
		return true
	case r == 0x2028, r == 0x2029: // line and paragraph separators
		return true
	case r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069: // bidi
		return true
	case r == utf8.RuneError, r == 0xfeff:
		return true
	}
	return false
}

// cutName shortens name to at most n bytes on a rune boundary, keeping an
// extension of up to maxExtensionBytes.
func cutName(name string, n int) string {
	if len(name) <= n {
		return name
	}
	ext := ""
	if i := strings.LastIndexByte(name, '.'); i > 0 && len(name)-i <= maxExtensionBytes {
		name, ext = name[:i], name[i:]
	}
	name = cutRunes(name, n-len(ext))
	return strings.TrimRight(name, ". ") + ext
}

func cutRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// asciiFallback replaces every rune outside printable ASCII, and '%'
// (which some clients decode), by '_'.
func asciiFallback(name string) string {
	var b strings.Builder
	for _, r := range name {
		if r < 0x20 || r > 0x7e || r == '%' || r == '"' || r == '\\' {
			r = '_'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// pctEncode percent-encodes every byte of s that is not an RFC 8187
// attr-char.
func pctEncode(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if attrChar(c) {
			b.WriteByte(c)
		} else {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}

func attrChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$&+-.^_`|~", c) >= 0
}
