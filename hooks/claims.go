package hooks

// Reading and checking the tusvault claims of a verified token.

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
)

// tokenClaims maps the tusvault claims of mc to Claims (Expires and
// Expired are left to Verify).
func tokenClaims(mc jwt.MapClaims) (Claims, error) {
	kind, present, err := claimString(mc, "kind")
	if err != nil {
		return Claims{}, err
	}
	if !present {
		kind = KindHome
	}
	c := Claims{Kind: kind}
	switch kind {
	case KindHome:
		if c.Subject, err = claimName(mc, "sub"); err != nil {
			return Claims{}, err
		}
		for _, guestOnly := range []string{"owner", "share", "max_files", "types"} {
			if _, ok := mc[guestOnly]; ok {
				return Claims{}, claimError(guestOnly, "is only allowed on guest tokens")
			}
		}
	case KindGuest:
		if c.Owner, err = claimName(mc, "owner"); err != nil {
			return Claims{}, err
		}
		if c.Share, err = claimName(mc, "share"); err != nil {
			return Claims{}, err
		}
		files, err := claimCount(mc, "max_files", math.MaxInt)
		if err != nil {
			return Claims{}, err
		}
		c.MaxFiles = int(files)
		if c.Types, err = claimTypes(mc); err != nil {
			return Claims{}, err
		}
	default:
		return Claims{}, claimError("kind", `is neither "home" nor "guest"`)
	}
	if c.MaxSize, err = claimCount(mc, "max_size", math.MaxInt64); err != nil {
		return Claims{}, err
	}
	return c, nil
}

// claimString returns the string claim key of mc; present is false when
// it is absent, and any other type (null included) is an error.
func claimString(mc jwt.MapClaims, key string) (s string, present bool, err error) {
	v, present := mc[key]
	if !present {
		return "", false, nil
	}
	s, ok := v.(string)
	if !ok {
		return "", true, claimError(key, "is not a string")
	}
	return s, true, nil
}

// claimName returns the required name claim key of mc.
func claimName(mc jwt.MapClaims, key string) (string, error) {
	s, present, err := claimString(mc, key)
	switch {
	case err != nil:
		return "", err
	case !present:
		return "", fmt.Errorf("%w (%w)", claimError(key, "is required"), errNoAccount)
	case !validTokenName(s):
		return "", claimError(key, fmt.Sprintf("is not 1..%d bytes of printable UTF-8", maxNameBytes))
	}
	return s, nil
}

// validTokenName reports whether s is a valid sub, owner or share: 1..256
// bytes of UTF-8 whose every rune is printable (letters, marks, numbers,
// punctuation, symbols and the ASCII space; no control, format or other
// space characters).
func validTokenName(s string) bool {
	if s == "" || len(s) > maxNameBytes || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// claimCount returns the optional integer claim key of mc, in 0..max
// (0 when absent). Only plain JSON integers are accepted: no fractions,
// exponents, strings or null.
func claimCount(mc jwt.MapClaims, key string, max int64) (int64, error) {
	v, present := mc[key]
	if !present {
		return 0, nil
	}
	num, ok := v.(json.Number)
	if !ok {
		return 0, claimError(key, "is not a number")
	}
	n, err := num.Int64()
	if err != nil || n < 0 || n > max {
		return 0, claimError(key, fmt.Sprintf("is not an integer in 0..%d", max))
	}
	return n, nil
}

// claimDate returns the optional NumericDate claim key of mc (nil when
// absent): seconds since 1970, fractions allowed, up to year 9999, as a
// UTC time.
func claimDate(mc jwt.MapClaims, key string) (*jwt.NumericDate, error) {
	v, present := mc[key]
	if !present {
		return nil, nil
	}
	num, ok := v.(json.Number)
	if !ok {
		return nil, claimError(key, "is not a number")
	}
	if n, err := num.Int64(); err == nil {
		if n < 0 || n > maxNumericDate {
			return nil, claimError(key, "is out of range")
		}
		return &jwt.NumericDate{Time: time.Unix(n, 0).UTC()}, nil
	}
	f, err := num.Float64()
	if err != nil || !(f >= 0 && f <= maxNumericDate) {
		return nil, claimError(key, "is out of range")
	}
	sec, frac := math.Modf(f)
	return &jwt.NumericDate{Time: time.Unix(int64(sec), int64(frac*1e9)).UTC()}, nil
}

// claimTypes returns the optional "types" claim of mc, lower-cased: a
// non-empty array of at most maxTokenTypes MIME patterns.
func claimTypes(mc jwt.MapClaims) ([]string, error) {
	v, present := mc["types"]
	if !present {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, claimError("types", "is not an array of strings")
	}
	if len(list) == 0 || len(list) > maxTokenTypes {
		// An empty list would read as "any type": omit the claim instead.
		return nil, claimError("types", fmt.Sprintf("does not hold 1..%d patterns", maxTokenTypes))
	}
	types := make([]string, len(list))
	for i, t := range list {
		s, ok := t.(string)
		if !ok {
			return nil, claimError("types", "is not an array of strings")
		}
		if !validMIMEPattern(s) {
			return nil, claimError("types", `holds a pattern that is not "type/subtype", "type/*" or "*/*"`)
		}
		types[i] = strings.ToLower(s)
	}
	return types, nil
}

// validMIMEPattern reports whether p is "type/subtype", "type/*" or "*/*",
// each name an RFC 6838 restricted-name, without parameters.
func validMIMEPattern(p string) bool {
	typ, sub, ok := strings.Cut(p, "/")
	switch {
	case !ok:
		return false
	case typ == "*":
		return sub == "*"
	case sub == "*":
		return validMIMEName(typ)
	default:
		return validMIMEName(typ) && validMIMEName(sub)
	}
}

// validMIMEName reports whether s is an RFC 6838 restricted-name: 1..127
// characters, a letter or digit first, then letters, digits and
// !#$&-^_.+ .
func validMIMEName(s string) bool {
	if s == "" || len(s) > 127 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case i > 0 && strings.IndexByte("!#$&-^_.+", c) >= 0:
		default:
			return false
		}
	}
	return true
}
