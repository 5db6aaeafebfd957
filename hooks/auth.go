package hooks

// Bearer-token verification. Tokens are JWTs signed by the host
// application with one algorithm chosen by the configured key (HS256
// secret, or an EdDSA, RS256 or ES256 public key); see token.go for the
// claims, claims.go for their checks, mint.go for minting and keys.go for
// the key files.

import (
	"errors"
	"fmt"
	"strings"
	"time"

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
		return Claims{}, fmt.Errorf("%w: %w: longer than %d bytes", ErrBadToken, jwt.ErrTokenMalformed, MaxTokenBytes)
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
		return fmt.Errorf("%w: %w (%s, want %s): %w",
			ErrBadToken, errWrongAlgorithm, tok.Method.Alg(), v.alg, jwt.ErrTokenSignatureInvalid)
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
	return fmt.Errorf("%w: %w %q %s", ErrBadToken, errClaim, claim, problem)
}

// Sentinels that Verify's errors wrap besides the jwt ones, for
// refusalReason.
var (
	errWrongAlgorithm = errors.New("algorithm not accepted")
	errClaim          = errors.New("claim") // claimError reads: claim "sub" is required
	errNoAccount      = errors.New("no account or share")
)

// refusalReason words why Verify refused a token, for the log: a few
// words derived from the sentinels err wraps (never its text, though
// that never holds the token either).
func refusalReason(err error) string {
	for _, r := range []struct {
		sentinel error
		reason   string
	}{
		{ErrNoToken, "no token"},
		{errWrongAlgorithm, "wrong algorithm"},
		{jwt.ErrTokenUnverifiable, "wrong algorithm"}, // unknown or missing "alg"
		{jwt.ErrTokenMalformed, "malformed"},
		{jwt.ErrTokenSignatureInvalid, "bad signature"},
		{jwt.ErrTokenExpired, "expired"},
		{jwt.ErrTokenNotValidYet, "not yet valid"},
		{jwt.ErrTokenUsedBeforeIssued, "issued in the future"},
		{jwt.ErrTokenInvalidAudience, "wrong audience"},
		{jwt.ErrTokenInvalidIssuer, "wrong issuer"},
		{jwt.ErrTokenRequiredClaimMissing, "missing iss or aud"},
		{errNoAccount, "no account"},
		{errClaim, "bad claim"},
	} {
		if errors.Is(err, r.sentinel) {
			return r.reason
		}
	}
	return "invalid"
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
