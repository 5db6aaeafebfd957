package hooks

// API contract of token verification and minting (implemented in auth.go
// and keys.go; routing and access are written against these types).

import (
	"crypto"
	"errors"
	"time"
)

// Token kinds.
const (
	KindHome  = "home"
	KindGuest = "guest"
)

// Claims are what tusvault reads from a verified token.
type Claims struct {
	// Kind is KindHome (no "kind" claim, or "home") or KindGuest.
	Kind string
	// Subject is the account id of a home token ("sub"). It is empty on a
	// guest token, whatever its "sub" claim says: a guest's identity is
	// its Owner and Share.
	Subject string
	// Owner and Share name the share of a guest token (empty on a home
	// token). Subject, Owner and Share are 1..256 bytes of printable UTF-8
	// (no control or format characters) but may hold any printable
	// character, "/" and ".." included: encode them before using them in
	// a path or key.
	Owner, Share string
	// MaxSize is the largest upload the token allows (0: no limit of its
	// own).
	MaxSize int64
	// MaxFiles bounds the uploads of a guest share (0: no limit). Only
	// guest tokens carry it.
	MaxFiles int
	// Types are MIME patterns ("image/*", "application/pdf", "*/*") a
	// guest may upload (empty: any), lower-cased; each is "type/subtype",
	// "type/*" or "*/*" with RFC 6838 names and no parameters. Only guest
	// tokens carry them.
	Types []string
	// Expires is the "exp" claim (zero when absent; guests always have one).
	Expires time.Time
	// Expired reports a token whose exp has passed less than the resume
	// grace ago: good only to resume an upload it created.
	Expired bool
}

// ErrNoToken and ErrBadToken are returned (wrapped) by Verify.
var (
	ErrNoToken  = errors.New("no bearer token")
	ErrBadToken = errors.New("invalid token")
)

// AuthConfig configures token verification. Exactly one of Secret and
// PublicKey is set.
type AuthConfig struct {
	// Secret is the HS256 key (-auth-secret-file).
	Secret []byte
	// PublicKey verifies EdDSA (ed25519.PublicKey), RS256 (*rsa.PublicKey)
	// or ES256 (*ecdsa.PublicKey, P-256) tokens (-auth-public-key-file).
	PublicKey crypto.PublicKey
	// Issuer and Audience, when set, must match "iss" and "aud".
	Issuer, Audience string
	// ResumeGrace is how long after "exp" (plus Leeway) a token still
	// resumes an upload it created (default DefaultResumeGrace, 24h;
	// negative: none).
	ResumeGrace time.Duration
	// Leeway absorbs clock skew between the minting host and tusvault in
	// the "exp", "nbf" and "iat" checks (default DefaultLeeway, 30s;
	// negative: none).
	Leeway time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}
