package hooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// hs256Valid is an oracle independent of jwt and Verify: tok is three
// base64url segments, its header says HS256, and its signature segment is
// exactly the canonical encoding of HMAC-SHA256(secret, header.payload).
func hs256Valid(tok string, secret []byte) bool {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return false
	}
	hb, err := base64.RawURLEncoding.Strict().DecodeString(parts[0])
	if err != nil {
		return false
	}
	var header struct{ Alg string }
	if json.Unmarshal(hb, &header) != nil || header.Alg != "HS256" {
		return false
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(parts[0] + "." + parts[1]))
	return parts[2] == base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// FuzzVerify: Verify never panics; it accepts only tokens that the
// independent oracle finds well signed, and then returns well-formed
// claims; its errors wrap ErrBadToken or ErrNoToken and never quote a
// token.
func FuzzVerify(f *testing.F) {
	s := newTestSigner(f, testSecret, nil, "", "", t0)
	home := mint(f, s, homeClaims, time.Hour)
	guest := mint(f, s, guestClaims, time.Hour)
	expired := mint(f, s, Claims{Subject: "alice"}, time.Second)
	parts := strings.Split(home, ".")
	for _, seed := range []string{
		home, guest, expired, "", ".", "..", "a.b.c", "Bearer " + home,
		parts[0] + "." + parts[1] + ".",
		segment(map[string]string{"alg": "none"}) + "." + parts[1] + ".",
		segment(map[string]string{"alg": "HS256"}) + "." + segment(map[string]any{"sub": "x", "kind": []int{1}}) + "." + parts[2],
		home[:len(home)-1] + "A",
		home + "=",
		strings.Replace(home, ".", "..", 1),
		strings.ToUpper(home),
		signRaw(f, jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"kind": "guest", "owner": "o", "share": "s",
			"exp": 1e10, "types": []string{"a/*"}, "max_files": 3, "max_size": 1 << 40}),
		signRaw(f, jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"sub": "x", "nbf": 1.5, "iat": "0", "aud": []any{1}}),
	} {
		f.Add(seed)
	}
	v := newTestVerifier(f, AuthConfig{Secret: testSecret})
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := v.Verify(tok)
		if err != nil {
			if !errors.Is(err, ErrBadToken) && !errors.Is(err, ErrNoToken) {
				t.Fatalf("error %v wraps neither ErrBadToken nor ErrNoToken", err)
			}
			// Error texts hold no "." at all, so none can quote a token.
			if strings.Count(tok, ".") >= 2 && strings.Contains(err.Error(), tok) {
				t.Fatalf("error %q quotes the token", err)
			}
			return
		}
		if !hs256Valid(tok, testSecret) {
			t.Fatalf("Verify accepted a token that is not well signed: %q", tok)
		}
		switch c.Kind {
		case KindHome:
			if !validTokenName(c.Subject) || c.Owner != "" || c.Share != "" || c.MaxFiles != 0 || c.Types != nil {
				t.Fatalf("malformed home claims %+v", c)
			}
		case KindGuest:
			if !validTokenName(c.Owner) || !validTokenName(c.Share) || c.Subject != "" || c.Expires.IsZero() {
				t.Fatalf("malformed guest claims %+v", c)
			}
			for _, p := range c.Types {
				if !validMIMEPattern(p) || p != strings.ToLower(p) {
					t.Fatalf("malformed type %q", p)
				}
			}
		default:
			t.Fatalf("unknown kind in %+v", c)
		}
		if c.MaxSize < 0 || c.MaxFiles < 0 {
			t.Fatalf("negative limits in %+v", c)
		}
	})
}

// FuzzBearerToken: BearerToken never panics; what it extracts is a
// non-empty b64token that the header carried after "Bearer " and that
// round-trips.
func FuzzBearerToken(f *testing.F) {
	for _, seed := range []string{"", "Bearer abc", "bearer a.b.c", " Bearer x== ", "Bearer  x", "Basic abc",
		"Bearer a b", "Bearer =", "Bearer\tabc", "BEARER ~+/-._"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, h string) {
		tok, err := BearerToken(h)
		if err != nil {
			if !errors.Is(err, ErrNoToken) || tok != "" {
				t.Fatalf("BearerToken(%q) = %q, %v", h, tok, err)
			}
			return
		}
		if !isB64Token(tok) || strings.ContainsAny(tok, " \t\r\n") {
			t.Fatalf("BearerToken(%q) = %q: not a b64token", h, tok)
		}
		trimmed := strings.Trim(h, " \t")
		if len(trimmed) != len("Bearer ")+len(tok) || !strings.EqualFold(trimmed[:7], "Bearer ") || trimmed[7:] != tok {
			t.Fatalf("BearerToken(%q) = %q: not what followed \"Bearer \"", h, tok)
		}
		if again, err := BearerToken("Bearer " + tok); err != nil || again != tok {
			t.Fatalf("round trip of %q: %q, %v", tok, again, err)
		}
	})
}
