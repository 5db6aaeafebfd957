package hooks

// Bearer-token verification and minting. Tokens are JWTs signed by the
// host application with one algorithm chosen by the configured key (HS256
// secret, or an EdDSA, RS256 or ES256 public key); see token.go for the
// claims and keys.go for the key files.

import (
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
)

// Defaults and bounds of token verification.
const (
	// DefaultResumeGrace is AuthConfig.ResumeGrace when left zero.
	DefaultResumeGrace = 24 * time.Hour
	// DefaultLeeway is AuthConfig.Leeway when left zero.
	DefaultLeeway = 30 * time.Second
	// MaxTokenBytes bounds the raw token Verify parses.
	MaxTokenBytes = 16 << 10
	// maxNameBytes bounds sub, owner and share.
	maxNameBytes = 256
	// maxTokenTypes bounds the "types" list.
	maxTokenTypes = 64
	// maxNumericDate is 9999-12-31T23:59:59Z, the last "exp", "nbf" or
	// "iat" accepted.
	maxNumericDate = 253402300799
)

// Verifier checks bearer tokens. It is safe for concurrent use.
type Verifier struct {
	alg    string
	key    any // []byte, ed25519.PublicKey, *rsa.PublicKey or *ecdsa.PublicKey
	parser *jwt.Parser
	// registered checks nbf, iat, iss and aud; exp is checked by Verify
	// itself, for the resume grace.
	registered    *jwt.Validator
	leeway, grace time.Duration
	now           func() time.Time
}

// validate checks cfg and returns the signing algorithm its key selects.
func (cfg *AuthConfig) validate() (string, error) {
	switch {
	case cfg.Secret != nil && cfg.PublicKey != nil:
		return "", errors.New("auth: both a secret and a public key are set; configure one")
	case cfg.Secret != nil:
		if len(cfg.Secret) < MinSecretBytes {
			return "", fmt.Errorf("auth: secret is %d bytes, want at least %d", len(cfg.Secret), MinSecretBytes)
		}
		return jwt.SigningMethodHS256.Alg(), nil
	case cfg.PublicKey != nil:
		m, err := publicKeyMethod(cfg.PublicKey)
		if err != nil {
			return "", fmt.Errorf("auth: %w", err)
		}
		return m.Alg(), nil
	default:
		return "", errors.New("auth: neither a secret nor a public key is set")
	}
}

// NewVerifier returns a verifier for cfg: exactly one of cfg.Secret (at
// least MinSecretBytes, HS256) and cfg.PublicKey (ed25519.PublicKey for
// EdDSA, *rsa.PublicKey of at least 2048 bits for RS256, *ecdsa.PublicKey
// on P-256 for ES256) is set, and tokens signed with any other algorithm
// fail.
func NewVerifier(cfg AuthConfig) (*Verifier, error) {
	alg, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	v := &Verifier{alg: alg, leeway: cfg.Leeway, grace: cfg.ResumeGrace, now: cfg.Now}
	if cfg.Secret != nil {
		v.key = append([]byte(nil), cfg.Secret...)
	} else {
		v.key = cfg.PublicKey
	}
	switch {
	case v.leeway == 0:
		v.leeway = DefaultLeeway
	case v.leeway < 0:
		v.leeway = 0
	}
	switch {
	case v.grace == 0:
		v.grace = DefaultResumeGrace
	case v.grace < 0:
		v.grace = 0
	}
	if v.now == nil {
		v.now = time.Now
	}
	// The parser checks the algorithm and the signature only; the claims
	// are checked after, so that an expired token can be told apart.
	v.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{alg}),
		jwt.WithJSONNumber(),
		jwt.WithStrictDecoding(),
		jwt.WithoutClaimsValidation(),
	)
	opts := []jwt.ParserOption{jwt.WithLeeway(v.leeway), jwt.WithTimeFunc(v.now), jwt.WithIssuedAt()}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	v.registered = jwt.NewValidator(opts...)
	return v, nil
}

// Algorithm is the one "alg" v accepts: HS256, EdDSA, RS256 or ES256.
func (v *Verifier) Algorithm() string { return v.alg }

// Verify checks a raw JWT (without "Bearer ") and returns its claims.
// Only the configured algorithm is accepted ("none" and algorithm
// confusion fail). The signature, "nbf", "iat" (not in the future), "iss"
// and "aud" (when configured) and the tusvault claims are always checked;
// a token whose "exp" passed less than ResumeGrace ago (after Leeway)
// then verifies with Claims.Expired set, and callers accept it only to
// resume an upload it created.
//
// Every error wraps ErrBadToken (ErrNoToken for an empty raw), often with
// a jwt sentinel such as jwt.ErrTokenExpired too; its text names what is
// wrong but never holds the token, its signature or the key.
func (v *Verifier) Verify(raw string) (Claims, error) {
	if raw == "" {
		return Claims{}, ErrNoToken
	}
	if len(raw) > MaxTokenBytes {
		return Claims{}, fmt.Errorf("%w: longer than %d bytes", ErrBadToken, MaxTokenBytes)
	}
	mc := jwt.MapClaims{}
	tok, err := v.parser.ParseWithClaims(raw, mc, v.keyFunc)
	if err != nil {
		return Claims{}, v.parseError(tok, err)
	}
	if _, ok := tok.Header["crit"]; ok {
		return Claims{}, fmt.Errorf("%w: unsupported \"crit\" header", ErrBadToken)
	}
	reg, exp, err := registeredClaims(mc)
	if err != nil {
		return Claims{}, err
	}
	if err := v.registered.Validate(reg); err != nil {
		// The validator's messages are fixed strings and claim names.
		return Claims{}, fmt.Errorf("%w: %w", ErrBadToken, err)
	}
	c, err := tokenClaims(mc)
	if err != nil {
		return Claims{}, err
	}
	if exp == nil {
		if c.Kind == KindGuest {
			return Claims{}, claimError("exp", "is required on guest tokens")
		}
		return c, nil
	}
	c.Expires = exp.Time
	end := exp.Add(v.leeway)
	if now := v.now(); !now.Before(end) {
		if v.grace == 0 || !now.Before(end.Add(v.grace)) {
			return Claims{}, fmt.Errorf("%w: %w", ErrBadToken, jwt.ErrTokenExpired)
		}
		c.Expired = true
	}
	return c, nil
}

// keyFunc hands the parser the configured key. The parser has already
// refused any other algorithm; the check here guards against a parser
// built without that option.
func (v *Verifier) keyFunc(t *jwt.Token) (any, error) {
	if t.Method == nil || t.Method.Alg() != v.alg {
		return nil, jwt.ErrTokenSignatureInvalid
	}
	return v.key, nil
}

// parseError turns a parser error into one wrapping ErrBadToken and the
// parser's sentinel, without the parser's text (which may quote bytes of
// the token).
func (v *Verifier) parseError(tok *jwt.Token, err error) error {
	if tok != nil && tok.Method != nil && tok.Method.Alg() != v.alg {
		// Alg() is the name of a registered method, not token text.
		return fmt.Errorf("%w: algorithm %s not accepted (want %s): %w",
			ErrBadToken, tok.Method.Alg(), v.alg, jwt.ErrTokenSignatureInvalid)
	}
	for _, sentinel := range []error{
		jwt.ErrTokenMalformed, jwt.ErrTokenSignatureInvalid, jwt.ErrTokenUnverifiable,
	} {
		if errors.Is(err, sentinel) {
			return fmt.Errorf("%w: %w", ErrBadToken, sentinel)
		}
	}
	return ErrBadToken
}

// claimError reports a missing or malformed claim.
func claimError(claim, problem string) error {
	return fmt.Errorf("%w: claim %q %s", ErrBadToken, claim, problem)
}

// registeredClaims reads "iss", "aud", "nbf" and "iat" of mc into what the
// jwt validator checks, and returns "exp" apart (nil when absent).
func registeredClaims(mc jwt.MapClaims) (jwt.RegisteredClaims, *jwt.NumericDate, error) {
	var reg jwt.RegisteredClaims
	var err error
	if reg.Issuer, _, err = claimString(mc, "iss"); err != nil {
		return reg, nil, err
	}
	switch aud := mc["aud"].(type) {
	case nil:
		if _, present := mc["aud"]; present {
			return reg, nil, claimError("aud", "is not a string or an array of strings")
		}
	case string:
		reg.Audience = jwt.ClaimStrings{aud}
	case []any:
		for _, a := range aud {
			s, ok := a.(string)
			if !ok {
				return reg, nil, claimError("aud", "is not a string or an array of strings")
			}
			reg.Audience = append(reg.Audience, s)
		}
	default:
		return reg, nil, claimError("aud", "is not a string or an array of strings")
	}
	if reg.NotBefore, err = claimDate(mc, "nbf"); err != nil {
		return reg, nil, err
	}
	if reg.IssuedAt, err = claimDate(mc, "iat"); err != nil {
		return reg, nil, err
	}
	exp, err := claimDate(mc, "exp")
	return reg, exp, err
}

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
		return "", claimError(key, "is required")
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

// BearerToken extracts the token of an "Authorization: Bearer <jwt>"
// header value: the scheme in any case, one space, then a token of RFC
// 6750 b64token characters; surrounding spaces and tabs are trimmed. Any
// other value (empty, another scheme, no or several spaces, a malformed
// token) is an error wrapping ErrNoToken.
func BearerToken(authorization string) (string, error) {
	h := strings.Trim(authorization, " \t")
	if h == "" {
		return "", ErrNoToken
	}
	scheme, tok, ok := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", fmt.Errorf("%w: authorization scheme is not Bearer", ErrNoToken)
	}
	if !ok || !isB64Token(tok) {
		return "", fmt.Errorf("%w: malformed Bearer credentials", ErrNoToken)
	}
	return tok, nil
}

// isB64Token reports whether s is an RFC 6750 b64token:
// 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isB64Token(s string) bool {
	body := strings.TrimRight(s, "=")
	if body == "" {
		return false
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("-._~+/", c) >= 0:
		default:
			return false
		}
	}
	return true
}

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
