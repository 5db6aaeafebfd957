package hooks

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"strings"
)

// Route kinds, recorded as Storage["Route"] of every upload.
const (
	RouteHome   = "home"
	RouteGuest  = "guest"
	RoutePublic = "public"
)

// Route is where an upload lives. It is carried by the upload id, which is
// also the object key:
//
//	<home>/<Segment(sub)>/<rand>
//	<guest>/<Segment(owner)>/<Segment(share)>/<rand>
//	<public>/<rand>
//
// where <home>, <guest> and <public> are the configured prefixes.
type Route struct {
	// Kind is RouteHome, RouteGuest or RoutePublic.
	Kind string
	// Owner is the account segment: Segment(sub) of a home upload,
	// Segment(owner) of a guest upload; empty for a public upload.
	Owner string
	// Share is Segment(share) of a guest upload; empty otherwise.
	Share string
	// Rand is 32 lowercase hex digits (128 random bits).
	Rand string
}

// segment forms.
const (
	maxLiteralSegment = 64
	hashedMark        = "x-"
	hashedLen         = 26 // base32 characters: 130 bits of SHA-256
	randLen           = 32
)

var lowerBase32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// Segment maps an account, owner or share name to one segment of an upload
// id. A name of 1 to 64 characters of [A-Za-z0-9_-] that does not start with
// "x-" is used as it is, so keys stay readable; any other name becomes "x-"
// followed by the first 26 characters of the lowercase unpadded base32 of
// its SHA-256. Literal segments never start with "x-", so two different
// names never share a segment (short of a 130-bit hash collision).
func Segment(name string) string {
	if literalSegment(name) {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	return hashedMark + lowerBase32.EncodeToString(sum[:])[:hashedLen]
}

func literalSegment(s string) bool {
	if len(s) == 0 || len(s) > maxLiteralSegment || strings.HasPrefix(s, hashedMark) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !idChar(s[i]) {
			return false
		}
	}
	return true
}

func hashedSegment(s string) bool {
	rest, ok := strings.CutPrefix(s, hashedMark)
	if !ok || len(rest) != hashedLen {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if c := rest[i]; !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

// validSegment reports whether s is a segment Segment can return.
func validSegment(s string) bool { return literalSegment(s) || hashedSegment(s) }

func idChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

func validRand(s string) bool {
	if len(s) != randLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// newRand returns 128 random bits as 32 lowercase hex digits.
func newRand() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand, Go ≥ 1.24)
	return hex.EncodeToString(b[:])
}

// layout holds the configured prefixes: the first segment of each route's
// ids.
type layout struct{ home, guest, public string }

// validPrefix: one segment of [a-z0-9_-].
func validPrefix(p string) bool {
	if len(p) == 0 || len(p) > maxLiteralSegment {
		return false
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// dir is the id prefix shared by every upload of rt's account (home) or
// share (guest), with its trailing slash; "<public>/" for public routes.
func (l layout) dir(rt Route) string {
	switch rt.Kind {
	case RouteHome:
		return l.home + "/" + rt.Owner + "/"
	case RouteGuest:
		return l.guest + "/" + rt.Owner + "/" + rt.Share + "/"
	default:
		return l.public + "/"
	}
}

// id renders rt as an upload id.
func (l layout) id(rt Route) string { return l.dir(rt) + rt.Rand }

// parse reads the route of an upload id; ok is false for any id that id
// cannot have produced.
func (l layout) parse(id string) (rt Route, ok bool) {
	if len(id) > 256 {
		return Route{}, false
	}
	segs := strings.SplitN(id, "/", 5)
	last := segs[len(segs)-1]
	if !validRand(last) {
		return Route{}, false
	}
	switch {
	case len(segs) == 2 && segs[0] == l.public:
		return Route{Kind: RoutePublic, Rand: last}, true
	case len(segs) == 3 && segs[0] == l.home && validSegment(segs[1]):
		return Route{Kind: RouteHome, Owner: segs[1], Rand: last}, true
	case len(segs) == 4 && segs[0] == l.guest && validSegment(segs[1]) && validSegment(segs[2]):
		return Route{Kind: RouteGuest, Owner: segs[1], Share: segs[2], Rand: last}, true
	}
	return Route{}, false
}
