package hooks

// Minting tokens, for `tusvault token` and the startup links.

import (
	"crypto"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Signer mints tokens (for `tusvault token` and startup links). It is
// safe for concurrent use.
type Signer struct {
	method           jwt.SigningMethod
	key              any // []byte or the crypto.Signer
	issuer, audience string
	now              func() time.Time // time.Now; tests set it
}

// NewSigner returns a signer: exactly one of secret (at least
// MinSecretBytes, HS256) and key (ed25519.PrivateKey for EdDSA,
// *rsa.PrivateKey of at least 2048 bits for RS256, *ecdsa.PrivateKey on
// P-256 for ES256). Non-empty issuer and audience become "iss" and "aud".
func NewSigner(secret []byte, key crypto.Signer, issuer, audience string) (*Signer, error) {
	s := &Signer{issuer: issuer, audience: audience, now: time.Now}
	switch {
	case secret != nil && key != nil:
		return nil, errors.New("signer: both a secret and a private key are set; give one")
	case secret != nil:
		if len(secret) < MinSecretBytes {
			return nil, fmt.Errorf("signer: secret is %d bytes, want at least %d", len(secret), MinSecretBytes)
		}
		s.method, s.key = jwt.SigningMethodHS256, append([]byte(nil), secret...)
	case key != nil:
		m, err := signerMethod(key)
		if err != nil {
			return nil, fmt.Errorf("signer: %w", err)
		}
		s.method, s.key = m, key
	default:
		return nil, errors.New("signer: neither a secret nor a private key is set")
	}
	return s, nil
}

// Algorithm is the "alg" s signs with: HS256, EdDSA, RS256 or ES256.
func (s *Signer) Algorithm() string { return s.method.Alg() }

// mintedClaims is the payload Mint writes; zero values are omitted.
type mintedClaims struct {
	jwt.RegisteredClaims
	Kind     string   `json:"kind,omitempty"`
	Owner    string   `json:"owner,omitempty"`
	Share    string   `json:"share,omitempty"`
	MaxSize  int64    `json:"max_size,omitempty"`
	MaxFiles int      `json:"max_files,omitempty"`
	Types    []string `json:"types,omitempty"`
}

// Mint returns a signed token carrying c, issued now ("iat") and valid for
// ttl ("exp"; ttl 0: no "exp"; guest tokens require ttl > 0). c.Kind ""
// means KindHome; c.Expires and c.Expired are ignored. Mint refuses
// claims that Verify would refuse: a home token has a Subject and no
// Owner, Share, MaxFiles or Types; a guest token has an Owner and a Share
// and no Subject.
func (s *Signer) Mint(c Claims, ttl time.Duration) (string, error) {
	if ttl < 0 {
		return "", errors.New("mint: negative ttl")
	}
	now := s.now()
	mc := mintedClaims{MaxSize: c.MaxSize}
	mc.Issuer = s.issuer
	if s.audience != "" {
		mc.Audience = jwt.ClaimStrings{s.audience}
	}
	mc.IssuedAt = jwt.NewNumericDate(now)
	if ttl > 0 {
		mc.ExpiresAt = jwt.NewNumericDate(now.Add(ttl))
	}
	switch c.Kind {
	case KindHome, "":
		if !validTokenName(c.Subject) {
			return "", fmt.Errorf("mint: home token: subject is not 1..%d bytes of printable UTF-8", maxNameBytes)
		}
		if c.Owner != "" || c.Share != "" || c.MaxFiles != 0 || len(c.Types) != 0 {
			return "", errors.New("mint: home token: owner, share, max files and types are for guest tokens")
		}
		mc.Subject = c.Subject
	case KindGuest:
		if !validTokenName(c.Owner) || !validTokenName(c.Share) {
			return "", fmt.Errorf("mint: guest token: owner and share must be 1..%d bytes of printable UTF-8", maxNameBytes)
		}
		if c.Subject != "" {
			return "", errors.New("mint: guest token: a subject is for home tokens")
		}
		if ttl == 0 {
			return "", errors.New("mint: guest token: needs a ttl")
		}
		if c.MaxFiles < 0 {
			return "", errors.New("mint: negative max files")
		}
		if len(c.Types) > maxTokenTypes {
			return "", fmt.Errorf("mint: more than %d types", maxTokenTypes)
		}
		for _, t := range c.Types {
			if !validMIMEPattern(t) {
				return "", fmt.Errorf("mint: type %q is not \"type/subtype\", \"type/*\" or \"*/*\"", t)
			}
			mc.Types = append(mc.Types, strings.ToLower(t))
		}
		mc.Kind, mc.Owner, mc.Share, mc.MaxFiles = KindGuest, c.Owner, c.Share, c.MaxFiles
	default:
		return "", fmt.Errorf("mint: unknown kind %q", c.Kind)
	}
	if c.MaxSize < 0 {
		return "", errors.New("mint: negative max size")
	}
	tok, err := jwt.NewWithClaims(s.method, mc).SignedString(s.key)
	if err != nil {
		return "", fmt.Errorf("mint: %w", err)
	}
	return tok, nil
}
