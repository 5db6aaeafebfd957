package hooks

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// t0 is when test tokens are minted; verifiers run at t0 + 1 minute
// unless a test says otherwise.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

var testSecret = []byte("0123456789abcdef0123456789abcdef-test-secret")

func clockAt(t time.Time) func() time.Time { return func() time.Time { return t } }

// testKeys are generated once per test binary (RSA is slow).
var testKeys = sync.OnceValue(func() (k struct {
	ed  ed25519.PrivateKey
	rsa *rsa.PrivateKey
	ec  *ecdsa.PrivateKey
}) {
	var err error
	if _, k.ed, err = ed25519.GenerateKey(rand.Reader); err != nil {
		panic(err)
	}
	if k.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		panic(err)
	}
	if k.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		panic(err)
	}
	return k
})

func newTestSigner(t testing.TB, secret []byte, key crypto.Signer, iss, aud string, at time.Time) *Signer {
	t.Helper()
	s, err := NewSigner(secret, key, iss, aud)
	if err != nil {
		t.Fatal(err)
	}
	s.now = clockAt(at)
	return s
}

func newTestVerifier(t testing.TB, cfg AuthConfig) *Verifier {
	t.Helper()
	if cfg.Now == nil {
		cfg.Now = clockAt(t0.Add(time.Minute))
	}
	v, err := NewVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mint(t testing.TB, s *Signer, c Claims, ttl time.Duration) string {
	t.Helper()
	tok, err := s.Mint(c, ttl)
	if err != nil {
		t.Fatalf("Mint(%+v, %v): %v", c, ttl, err)
	}
	return tok
}

// signRaw signs arbitrary claims, to build tokens Mint refuses to make.
func signRaw(t testing.TB, m jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(m, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func segment(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func writePEM(t *testing.T, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

var (
	homeClaims  = Claims{Kind: KindHome, Subject: "alice", MaxSize: 5 << 30}
	guestClaims = Claims{Kind: KindGuest, Owner: "alice", Share: "trip 2030 ✈", MaxSize: 2 << 30,
		MaxFiles: 10, Types: []string{"image/*", "application/pdf", "*/*"}}
)

func TestRoundTripHS256(t *testing.T) {
	s := newTestSigner(t, testSecret, nil, "host.example", "tusvault", t0)
	v := newTestVerifier(t, AuthConfig{Secret: testSecret, Issuer: "host.example", Audience: "tusvault"})
	for _, tc := range []struct {
		in   Claims
		ttl  time.Duration
		want Claims
	}{
		{homeClaims, 0, homeClaims},
		{Claims{Subject: "bob"}, time.Hour, Claims{Kind: KindHome, Subject: "bob", Expires: t0.Add(time.Hour)}},
		{guestClaims, 24 * time.Hour, func() Claims { c := guestClaims; c.Expires = t0.Add(24 * time.Hour); return c }()},
		{Claims{Kind: KindGuest, Owner: "o", Share: "s", Types: []string{"Image/PNG"}}, time.Hour,
			Claims{Kind: KindGuest, Owner: "o", Share: "s", Types: []string{"image/png"}, Expires: t0.Add(time.Hour)}},
	} {
		got, err := v.Verify(mint(t, s, tc.in, tc.ttl))
		if err != nil {
			t.Errorf("Verify(Mint(%+v)): %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Verify(Mint(%+v)) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

// TestMintPayload pins what Mint writes: only the claims that are set.
func TestMintPayload(t *testing.T) {
	payload := func(tok string) map[string]any {
		t.Helper()
		b, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]any{}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	keys := func(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }
	s := newTestSigner(t, testSecret, nil, "", "", t0)
	home := payload(mint(t, s, Claims{Subject: "alice"}, 0))
	if got := keys(home); !slices.Equal(got, []string{"iat", "sub"}) {
		t.Errorf("home token claims = %v, want [iat sub]", got)
	}
	if home["iat"] != float64(t0.Unix()) {
		t.Errorf("iat = %v, want %d", home["iat"], t0.Unix())
	}
	s = newTestSigner(t, testSecret, nil, "iss1", "aud1", t0)
	guest := payload(mint(t, s, Claims{Kind: KindGuest, Owner: "alice", Share: "trip", MaxSize: 7}, time.Hour))
	if got := keys(guest); !slices.Equal(got, []string{"aud", "exp", "iat", "iss", "kind", "max_size", "owner", "share"}) {
		t.Errorf("guest token claims = %v", got)
	}
	if guest["exp"] != float64(t0.Add(time.Hour).Unix()) || guest["kind"] != "guest" || guest["max_size"] != float64(7) {
		t.Errorf("guest token payload = %v", guest)
	}
}

func TestRoundTripKeys(t *testing.T) {
	k := testKeys()
	for _, tc := range []struct {
		alg  string
		priv crypto.Signer
		// privDER/privType: the file written for LoadPrivateKeyFile.
		privType string
		privDER  func() ([]byte, error)
	}{
		{"EdDSA", k.ed, "PRIVATE KEY", func() ([]byte, error) { return x509.MarshalPKCS8PrivateKey(k.ed) }},
		{"RS256", k.rsa, "PRIVATE KEY", func() ([]byte, error) { return x509.MarshalPKCS8PrivateKey(k.rsa) }},
		{"RS256", k.rsa, "RSA PRIVATE KEY", func() ([]byte, error) { return x509.MarshalPKCS1PrivateKey(k.rsa), nil }},
		{"ES256", k.ec, "PRIVATE KEY", func() ([]byte, error) { return x509.MarshalPKCS8PrivateKey(k.ec) }},
		{"ES256", k.ec, "EC PRIVATE KEY", func() ([]byte, error) { return x509.MarshalECPrivateKey(k.ec) }},
	} {
		t.Run(tc.alg+"/"+tc.privType, func(t *testing.T) {
			pubDER, err := x509.MarshalPKIXPublicKey(tc.priv.Public())
			if err != nil {
				t.Fatal(err)
			}
			privDER, err := tc.privDER()
			if err != nil {
				t.Fatal(err)
			}
			pub, err := LoadPublicKeyFile(writePEM(t, "pub.pem", "PUBLIC KEY", pubDER))
			if err != nil {
				t.Fatal(err)
			}
			priv, err := LoadPrivateKeyFile(writePEM(t, "key.pem", tc.privType, privDER))
			if err != nil {
				t.Fatal(err)
			}
			s := newTestSigner(t, nil, priv, "", "", t0)
			v := newTestVerifier(t, AuthConfig{PublicKey: pub})
			if s.Algorithm() != tc.alg || v.Algorithm() != tc.alg {
				t.Fatalf("algorithms: signer %s, verifier %s; want %s", s.Algorithm(), v.Algorithm(), tc.alg)
			}
			for _, c := range []Claims{homeClaims, guestClaims} {
				tok := mint(t, s, c, time.Hour)
				var header map[string]any
				hb, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
				if err := json.Unmarshal(hb, &header); err != nil || header["alg"] != tc.alg {
					t.Errorf("header %s, want alg %s", hb, tc.alg)
				}
				got, err := v.Verify(tok)
				c.Expires = t0.Add(time.Hour)
				if err != nil || !reflect.DeepEqual(got, c) {
					t.Errorf("Verify = %+v, %v; want %+v", got, err, c)
				}
			}
			// A token of the same algorithm under another key fails.
			other := newTestSigner(t, testSecret, nil, "", "", t0)
			if _, err := v.Verify(mint(t, other, homeClaims, time.Hour)); !errors.Is(err, ErrBadToken) {
				t.Errorf("HS256 token accepted by %s verifier: %v", tc.alg, err)
			}
		})
	}
}

// flipPaddingBit changes the last character of a base64url segment of
// 32 bytes (43 characters, 2 unused bits) in an unused bit only: a
// lenient decoder yields the same bytes.
func flipPaddingBit(seg string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, seg[len(seg)-1])
	return seg[:len(seg)-1] + string(alphabet[last^1])
}

func decodeLenient(seg string) string {
	b, _ := base64.RawURLEncoding.DecodeString(seg)
	return string(b)
}

// checkRejected asserts that err is a clean Verify failure: it wraps
// ErrBadToken (and want, when given), and its text holds no part of the
// token nor the secret.
func checkRejected(t *testing.T, name, tok string, c Claims, err error, want error) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: accepted, claims %+v", name, c)
		return
	}
	if !errors.Is(err, ErrBadToken) {
		t.Errorf("%s: error %v does not wrap ErrBadToken", name, err)
	}
	if want != nil && !errors.Is(err, want) {
		t.Errorf("%s: error %v does not wrap %v", name, err, want)
	}
	if !reflect.DeepEqual(c, Claims{}) {
		t.Errorf("%s: claims %+v returned with the error", name, c)
	}
	msg := err.Error()
	secrets := []string{tok, string(testSecret), base64.StdEncoding.EncodeToString(testSecret)}
	for _, part := range strings.Split(tok, ".") {
		if len(part) >= 8 {
			secrets = append(secrets, part)
		}
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(msg, s) {
			t.Errorf("%s: error %q leaks %q", name, msg, s)
		}
	}
}

func TestVerifyRejects(t *testing.T) {
	k := testKeys()
	hs := func(c jwt.MapClaims) string { return signRaw(t, jwt.SigningMethodHS256, testSecret, c) }
	exp := t0.Add(time.Hour).Unix()
	good := jwt.MapClaims{"sub": "alice", "iat": t0.Unix(), "exp": exp}
	guest := func(mod func(jwt.MapClaims)) string {
		c := jwt.MapClaims{"kind": "guest", "owner": "alice", "share": "trip", "exp": exp}
		mod(c)
		return hs(c)
	}
	home := func(mod func(jwt.MapClaims)) string {
		c := jwt.MapClaims{"sub": "alice", "exp": exp}
		mod(c)
		return hs(c)
	}
	rsaPubDER, err := x509.MarshalPKIXPublicKey(&k.rsa.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	rsaPubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: rsaPubDER})
	goodTok := hs(good)
	parts := strings.Split(goodTok, ".")

	hsVerifier := newTestVerifier(t, AuthConfig{Secret: testSecret})
	rsVerifier := newTestVerifier(t, AuthConfig{PublicKey: &k.rsa.PublicKey})
	issVerifier := newTestVerifier(t, AuthConfig{Secret: testSecret, Issuer: "host.example", Audience: "tusvault"})
	if _, err := hsVerifier.Verify(goodTok); err != nil {
		t.Fatalf("baseline token refused: %v", err)
	}
	if a, b := decodeLenient(parts[2]), decodeLenient(flipPaddingBit(parts[2])); a == "" || a != b {
		t.Fatal("flipPaddingBit changes the decoded signature; the padding test would be vacuous")
	}

	for _, tc := range []struct {
		name string
		v    *Verifier
		tok  string
		want error // a jwt sentinel the error must also wrap, or nil
	}{
		{"alg none", hsVerifier, segment(map[string]string{"alg": "none", "typ": "JWT"}) + "." + parts[1] + ".", jwt.ErrTokenSignatureInvalid},
		{"alg none to RS256", rsVerifier, segment(map[string]string{"alg": "none"}) + "." + parts[1] + ".", jwt.ErrTokenSignatureInvalid},
		{"alg NONE", hsVerifier, segment(map[string]string{"alg": "NONE"}) + "." + parts[1] + ".", nil},
		{"alg missing", hsVerifier, segment(map[string]string{"typ": "JWT"}) + "." + parts[1] + "." + parts[2], nil},
		{"alg confusion: HS256 keyed with the RSA public key PEM", rsVerifier,
			signRaw(t, jwt.SigningMethodHS256, rsaPubPEM, good), jwt.ErrTokenSignatureInvalid},
		{"alg confusion: HS256 keyed with the RSA public key DER", rsVerifier,
			signRaw(t, jwt.SigningMethodHS256, rsaPubDER, good), jwt.ErrTokenSignatureInvalid},
		{"RS256 token to HS256 verifier", hsVerifier, signRaw(t, jwt.SigningMethodRS256, k.rsa, good), jwt.ErrTokenSignatureInvalid},
		{"PS256 token to RS256 verifier", rsVerifier, signRaw(t, jwt.SigningMethodPS256, k.rsa, good), jwt.ErrTokenSignatureInvalid},
		{"HS512 token to HS256 verifier", hsVerifier, signRaw(t, jwt.SigningMethodHS512, testSecret, good), jwt.ErrTokenSignatureInvalid},
		{"wrong secret", hsVerifier, signRaw(t, jwt.SigningMethodHS256, []byte(strings.Repeat("x", 32)), good), jwt.ErrTokenSignatureInvalid},
		{"tampered payload", hsVerifier, parts[0] + "." + segment(jwt.MapClaims{"sub": "mallory", "exp": exp}) + "." + parts[2], jwt.ErrTokenSignatureInvalid},
		{"signature stripped", hsVerifier, parts[0] + "." + parts[1] + ".", jwt.ErrTokenSignatureInvalid},
		{"signature of another token", hsVerifier, parts[0] + "." + parts[1] + "." + strings.Split(home(func(c jwt.MapClaims) { c["sub"] = "bob" }), ".")[2], jwt.ErrTokenSignatureInvalid},
		{"signature with non-zero padding bits", hsVerifier, parts[0] + "." + parts[1] + "." + flipPaddingBit(parts[2]), jwt.ErrTokenMalformed},
		{"padded segments", hsVerifier, parts[0] + "=." + parts[1] + "." + parts[2], jwt.ErrTokenMalformed},
		{"two segments", hsVerifier, parts[0] + "." + parts[1], jwt.ErrTokenMalformed},
		{"four segments", hsVerifier, goodTok + ".x", jwt.ErrTokenMalformed},
		{"garbage", hsVerifier, "not a token at all", jwt.ErrTokenMalformed},
		{"too long", hsVerifier, strings.Repeat("a", MaxTokenBytes+1), nil},
		{"crit header", hsVerifier, func() string {
			tok := jwt.NewWithClaims(jwt.SigningMethodHS256, good)
			tok.Header["crit"] = []string{"b64"}
			s, _ := tok.SignedString(testSecret)
			return s
		}(), nil},
		{"wrong issuer", issVerifier, hs(jwt.MapClaims{"sub": "a", "iss": "evil.example", "aud": "tusvault"}), jwt.ErrTokenInvalidIssuer},
		{"no issuer", issVerifier, hs(jwt.MapClaims{"sub": "a", "aud": "tusvault"}), jwt.ErrTokenRequiredClaimMissing},
		{"wrong audience", issVerifier, hs(jwt.MapClaims{"sub": "a", "iss": "host.example", "aud": []string{"other", "x"}}), jwt.ErrTokenInvalidAudience},
		{"no audience", issVerifier, hs(jwt.MapClaims{"sub": "a", "iss": "host.example"}), jwt.ErrTokenRequiredClaimMissing},
		{"audience not a string", issVerifier, hs(jwt.MapClaims{"sub": "a", "iss": "host.example", "aud": 7}), nil},
		{"issuer not a string", hsVerifier, home(func(c jwt.MapClaims) { c["iss"] = 1 }), nil},
		{"home without sub", hsVerifier, home(func(c jwt.MapClaims) { delete(c, "sub") }), nil},
		{"home with empty sub", hsVerifier, home(func(c jwt.MapClaims) { c["sub"] = "" }), nil},
		{"home with numeric sub", hsVerifier, home(func(c jwt.MapClaims) { c["sub"] = 42 }), nil},
		{"home with null sub", hsVerifier, home(func(c jwt.MapClaims) { c["sub"] = nil }), nil},
		{"home sub with newline", hsVerifier, home(func(c jwt.MapClaims) { c["sub"] = "alice\nbob" }), nil},
		{"home sub with bidi override", hsVerifier, home(func(c jwt.MapClaims) { c["sub"] = "alice\u202e" }), nil},
		{"home sub of 257 bytes", hsVerifier, home(func(c jwt.MapClaims) { c["sub"] = strings.Repeat("a", 257) }), nil},
		{"home with types", hsVerifier, home(func(c jwt.MapClaims) { c["types"] = []string{"image/*"} }), nil},
		{"home with max_files", hsVerifier, home(func(c jwt.MapClaims) { c["max_files"] = 3 }), nil},
		{"home with owner", hsVerifier, home(func(c jwt.MapClaims) { c["owner"] = "bob" }), nil},
		{"explicit home with share", hsVerifier, home(func(c jwt.MapClaims) { c["kind"] = "home"; c["share"] = "x" }), nil},
		{"unknown kind", hsVerifier, home(func(c jwt.MapClaims) { c["kind"] = "admin" }), nil},
		{"empty kind", hsVerifier, home(func(c jwt.MapClaims) { c["kind"] = "" }), nil},
		{"kind in capitals", hsVerifier, guest(func(c jwt.MapClaims) { c["kind"] = "GUEST" }), nil},
		{"numeric kind", hsVerifier, home(func(c jwt.MapClaims) { c["kind"] = 1 }), nil},
		{"guest without exp", hsVerifier, guest(func(c jwt.MapClaims) { delete(c, "exp") }), nil},
		{"guest with null exp", hsVerifier, guest(func(c jwt.MapClaims) { c["exp"] = nil }), nil},
		{"guest without owner", hsVerifier, guest(func(c jwt.MapClaims) { delete(c, "owner") }), nil},
		{"guest without share", hsVerifier, guest(func(c jwt.MapClaims) { delete(c, "share") }), nil},
		{"guest with empty share", hsVerifier, guest(func(c jwt.MapClaims) { c["share"] = "" }), nil},
		{"guest with sub only", hsVerifier, guest(func(c jwt.MapClaims) { delete(c, "owner"); c["sub"] = "alice" }), nil},
		{"types not an array", hsVerifier, guest(func(c jwt.MapClaims) { c["types"] = "image/*" }), nil},
		{"types empty", hsVerifier, guest(func(c jwt.MapClaims) { c["types"] = []string{} }), nil},
		{"types null", hsVerifier, guest(func(c jwt.MapClaims) { c["types"] = nil }), nil},
		{"types holds a number", hsVerifier, guest(func(c jwt.MapClaims) { c["types"] = []any{"image/png", 1} }), nil},
		{"type without subtype", hsVerifier, guest(func(c jwt.MapClaims) { c["types"] = []string{"image"} }), nil},
		{"type with empty subtype", hsVerifier, guest(func(c jwt.MapClaims) { c["types"] = []string{"image/"} }), nil},
		{"type */png", hsVerifier, guest(func(c jwt.MapClaims) { c["types"] = []string{"*/png"} }), nil},
		{"type with parameters", hsVerifier, guest(func(c jwt.MapClaims) { c["types"] = []string{"text/plain; charset=utf-8"} }), nil},
		{"type with two slashes", hsVerifier, guest(func(c jwt.MapClaims) { c["types"] = []string{"a/b/c"} }), nil},
		{"type image/p*", hsVerifier, guest(func(c jwt.MapClaims) { c["types"] = []string{"image/p*"} }), nil},
		{"too many types", hsVerifier, guest(func(c jwt.MapClaims) { c["types"] = slices.Repeat([]string{"a/b"}, maxTokenTypes+1) }), nil},
		{"negative max_size", hsVerifier, guest(func(c jwt.MapClaims) { c["max_size"] = -1 }), nil},
		{"fractional max_size", hsVerifier, guest(func(c jwt.MapClaims) { c["max_size"] = 1.5 }), nil},
		{"string max_size", hsVerifier, guest(func(c jwt.MapClaims) { c["max_size"] = "2GiB" }), nil},
		{"max_size beyond int64", hsVerifier, guest(func(c jwt.MapClaims) { c["max_size"] = json.Number("9223372036854775808") }), nil},
		{"negative max_files", hsVerifier, guest(func(c jwt.MapClaims) { c["max_files"] = -3 }), nil},
		{"string exp", hsVerifier, home(func(c jwt.MapClaims) { c["exp"] = "tomorrow" }), nil},
		{"negative exp", hsVerifier, home(func(c jwt.MapClaims) { c["exp"] = -1 }), nil},
		{"exp after year 9999", hsVerifier, home(func(c jwt.MapClaims) { c["exp"] = 1e300 }), nil},
		{"expired beyond grace", hsVerifier, home(func(c jwt.MapClaims) {
			c["exp"] = t0.Add(time.Minute - DefaultResumeGrace - DefaultLeeway - time.Second).Unix()
		}), jwt.ErrTokenExpired},
		{"guest expired beyond grace", hsVerifier, guest(func(c jwt.MapClaims) { c["exp"] = t0.Add(-48 * time.Hour).Unix() }), jwt.ErrTokenExpired},
		{"not yet valid", hsVerifier, home(func(c jwt.MapClaims) { c["nbf"] = t0.Add(time.Hour).Unix() }), jwt.ErrTokenNotValidYet},
		{"issued in the future", hsVerifier, home(func(c jwt.MapClaims) { c["iat"] = t0.Add(time.Hour).Unix() }), jwt.ErrTokenUsedBeforeIssued},
		// Within the grace, everything but exp is still checked.
		{"expired within grace, bad signature", hsVerifier, func() string {
			p := strings.Split(home(func(c jwt.MapClaims) { c["exp"] = t0.Add(-time.Hour).Unix() }), ".")
			return p[0] + "." + p[1] + "." + parts[2]
		}(), jwt.ErrTokenSignatureInvalid},
		{"expired within grace, wrong issuer", issVerifier, hs(jwt.MapClaims{"sub": "a", "iss": "evil", "aud": "tusvault", "exp": t0.Add(-time.Hour).Unix()}), jwt.ErrTokenInvalidIssuer},
		{"expired within grace, unknown kind", hsVerifier, home(func(c jwt.MapClaims) { c["exp"] = t0.Add(-time.Hour).Unix(); c["kind"] = "x" }), nil},
		{"expired within grace, not yet valid", hsVerifier, home(func(c jwt.MapClaims) {
			c["exp"] = t0.Add(-time.Hour).Unix()
			c["nbf"] = t0.Add(time.Hour).Unix()
		}), jwt.ErrTokenNotValidYet},
	} {
		c, err := tc.v.Verify(tc.tok)
		checkRejected(t, tc.name, tc.tok, c, err, tc.want)
	}

	if _, err := hsVerifier.Verify(""); !errors.Is(err, ErrNoToken) {
		t.Errorf("Verify(\"\") = %v, want ErrNoToken", err)
	}
}

func TestVerifyTimes(t *testing.T) {
	s := newTestSigner(t, testSecret, nil, "", "", t0)
	home := mint(t, s, Claims{Subject: "alice"}, time.Hour)
	guest := mint(t, s, Claims{Kind: KindGuest, Owner: "alice", Share: "trip"}, time.Hour)
	exp := t0.Add(time.Hour)
	for _, tc := range []struct {
		name    string
		now     time.Time
		grace   time.Duration
		leeway  time.Duration
		ok      bool
		expired bool
	}{
		{"live", t0.Add(59 * time.Minute), 0, 0, true, false},
		{"past exp, within leeway", exp.Add(DefaultLeeway - time.Second), 0, 0, true, false},
		{"at exp + leeway", exp.Add(DefaultLeeway), 0, 0, true, true},
		{"within default grace", exp.Add(23 * time.Hour), 0, 0, true, true},
		{"at the end of the default grace", exp.Add(DefaultLeeway + DefaultResumeGrace), 0, 0, false, false},
		{"within a 1h grace", exp.Add(50 * time.Minute), time.Hour, 0, true, true},
		{"beyond a 1h grace", exp.Add(2 * time.Hour), time.Hour, 0, false, false},
		{"no grace", exp.Add(DefaultLeeway), -1, 0, false, false},
		{"no grace, no leeway", exp, -1, -1, false, false},
		{"no leeway, a second before exp", exp.Add(-time.Second), -1, -1, true, false},
		{"before iat, within leeway", t0.Add(-DefaultLeeway), 0, 0, true, false},
		{"before iat, beyond leeway", t0.Add(-DefaultLeeway - time.Second), 0, 0, false, false},
	} {
		v := newTestVerifier(t, AuthConfig{Secret: testSecret, ResumeGrace: tc.grace, Leeway: tc.leeway, Now: clockAt(tc.now)})
		for _, tok := range []string{home, guest} {
			c, err := v.Verify(tok)
			if tc.ok {
				if err != nil || c.Expired != tc.expired || !c.Expires.Equal(exp) {
					t.Errorf("%s: Verify = %+v, %v; want Expired=%v, Expires=%v", tc.name, c, err, tc.expired, exp)
				}
			} else {
				checkRejected(t, tc.name, tok, c, err, nil)
			}
		}
	}

	// A home token without exp never expires; nbf within the leeway passes.
	v := newTestVerifier(t, AuthConfig{Secret: testSecret, Now: clockAt(t0.Add(100 * 365 * 24 * time.Hour))})
	if c, err := v.Verify(mint(t, s, Claims{Subject: "alice"}, 0)); err != nil || c.Expired || !c.Expires.IsZero() {
		t.Errorf("home token without exp: %+v, %v", c, err)
	}
	v = newTestVerifier(t, AuthConfig{Secret: testSecret, Now: clockAt(t0)})
	tok := signRaw(t, jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"sub": "a", "nbf": t0.Add(10 * time.Second).Unix()})
	if _, err := v.Verify(tok); err != nil {
		t.Errorf("nbf within leeway: %v", err)
	}
	// Fractional NumericDates are valid JSON numbers.
	tok = signRaw(t, jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"sub": "a", "exp": float64(t0.Unix()) + 0.5})
	if c, err := v.Verify(tok); err != nil || !c.Expires.Equal(t0.Add(500*time.Millisecond)) {
		t.Errorf("fractional exp: %+v, %v", c, err)
	}
}

func TestBearerToken(t *testing.T) {
	for _, tc := range []struct {
		header, want string
	}{
		{"Bearer abc.def.ghi", "abc.def.ghi"},
		{"bearer abc.def.ghi", "abc.def.ghi"},
		{"BEARER abc", "abc"},
		{"  Bearer abc.def-_~+/==\t", "abc.def-_~+/=="},
		{"", ""},
		{"   ", ""},
		{"Bearer", ""},
		{"Bearer ", ""},
		{"Bearer  abc", ""},
		{"Bearer\tabc", ""},
		{"Bearer abc def", ""},
		{"Bearer abc\tdef", ""},
		{"Bearer ===", ""},
		{"Bearer a=b", ""},
		{"Bearer a,b", ""},
		{"Bearer \"abc\"", ""},
		{"Basic YWxhZGRpbjpvcGVuc2VzYW1l", ""},
		{"Bearerabc", ""},
		{"Token abc", ""},
		{"abc.def.ghi", ""},
	} {
		got, err := BearerToken(tc.header)
		if tc.want == "" {
			if !errors.Is(err, ErrNoToken) || got != "" {
				t.Errorf("BearerToken(%q) = %q, %v; want ErrNoToken", tc.header, got, err)
			}
		} else if err != nil || got != tc.want {
			t.Errorf("BearerToken(%q) = %q, %v; want %q", tc.header, got, err, tc.want)
		}
	}
}

func TestNewVerifierConfig(t *testing.T) {
	k := testKeys()
	small, p384 := weakKeys(t)
	for name, cfg := range map[string]AuthConfig{
		"nothing":           {},
		"both":              {Secret: testSecret, PublicKey: k.ed.Public()},
		"short secret":      {Secret: testSecret[:MinSecretBytes-1]},
		"empty secret":      {Secret: []byte{}},
		"RSA 1024":          {PublicKey: &small.PublicKey},
		"P-384":             {PublicKey: &p384.PublicKey},
		"ed25519 truncated": {PublicKey: k.ed.Public().(ed25519.PublicKey)[:31]},
		"private key":       {PublicKey: k.ed},
		"rsa by value":      {PublicKey: k.rsa.PublicKey},
		"nil rsa pointer":   {PublicKey: (*rsa.PublicKey)(nil)},
		"string":            {PublicKey: "-----BEGIN PUBLIC KEY-----"},
	} {
		if v, err := NewVerifier(cfg); err == nil {
			t.Errorf("NewVerifier(%s) = %v, want an error", name, v)
		} else if strings.Contains(err.Error(), string(testSecret[:8])) {
			t.Errorf("NewVerifier(%s): error %q holds the secret", name, err)
		}
	}
	for want, pub := range map[string]crypto.PublicKey{"EdDSA": k.ed.Public(), "RS256": &k.rsa.PublicKey, "ES256": &k.ec.PublicKey} {
		if v, err := NewVerifier(AuthConfig{PublicKey: pub}); err != nil || v.Algorithm() != want {
			t.Errorf("NewVerifier(%T) = %v, %v; want %s", pub, v, err, want)
		}
	}
	// The verifier keeps its own copy of the secret.
	secret := slices.Clone(testSecret)
	v := newTestVerifier(t, AuthConfig{Secret: secret})
	tok := mint(t, newTestSigner(t, testSecret, nil, "", "", t0), homeClaims, time.Hour)
	secret[0] ^= 1
	if _, err := v.Verify(tok); err != nil {
		t.Errorf("verifier affected by the caller changing its secret: %v", err)
	}
}

func TestSignerErrors(t *testing.T) {
	k := testKeys()
	small, p384 := weakKeys(t)
	for name, tc := range map[string]struct {
		secret []byte
		key    crypto.Signer
	}{
		"nothing":      {},
		"both":         {testSecret, k.ed},
		"short secret": {testSecret[:31], nil},
		"RSA 1024":     {nil, small},
		"P-384":        {nil, p384},
	} {
		if _, err := NewSigner(tc.secret, tc.key, "", ""); err == nil {
			t.Errorf("NewSigner(%s) accepted", name)
		}
	}
	s := newTestSigner(t, testSecret, nil, "", "", t0)
	for name, tc := range map[string]struct {
		c   Claims
		ttl time.Duration
	}{
		"negative ttl":           {homeClaims, -time.Second},
		"home without subject":   {Claims{Kind: KindHome}, 0},
		"home with a share":      {Claims{Subject: "a", Share: "s"}, 0},
		"home with types":        {Claims{Subject: "a", Types: []string{"image/*"}}, 0},
		"home with max files":    {Claims{Subject: "a", MaxFiles: 1}, 0},
		"subject with a newline": {Claims{Subject: "a\n"}, 0},
		"guest without ttl":      {guestClaims, 0},
		"guest without owner":    {Claims{Kind: KindGuest, Share: "s"}, time.Hour},
		"guest without share":    {Claims{Kind: KindGuest, Owner: "o"}, time.Hour},
		"guest with a subject":   {Claims{Kind: KindGuest, Owner: "o", Share: "s", Subject: "o"}, time.Hour},
		"guest with a bad type":  {Claims{Kind: KindGuest, Owner: "o", Share: "s", Types: []string{"image"}}, time.Hour},
		"negative max size":      {Claims{Subject: "a", MaxSize: -1}, 0},
		"negative max files":     {Claims{Kind: KindGuest, Owner: "o", Share: "s", MaxFiles: -1}, time.Hour},
		"unknown kind":           {Claims{Kind: "admin", Subject: "a"}, 0},
	} {
		if tok, err := s.Mint(tc.c, tc.ttl); err == nil {
			t.Errorf("Mint(%s) = %q, want an error", name, tok)
		}
	}
}

func TestValidMIMEPattern(t *testing.T) {
	for p, want := range map[string]bool{
		"image/*": true, "*/*": true, "application/pdf": true, "application/vnd.ms-excel": true,
		"application/atom+xml": true, "Image/PNG": true, "x-foo/x.bar_baz": true,
		"": false, "image": false, "image/": false, "/png": false, "*/png": false, "*": false,
		"image/**": false, "image/p*": false, "image/png;q=1": false, "image /png": false,
		"a/b/c": false, "-a/b": false, "a/-b": false, "é/b": false, strings.Repeat("a", 128) + "/b": false,
		strings.Repeat("a", 127) + "/b": true,
	} {
		if got := validMIMEPattern(p); got != want {
			t.Errorf("validMIMEPattern(%q) = %v, want %v", p, got, want)
		}
	}
}

func TestValidTokenName(t *testing.T) {
	for s, want := range map[string]bool{
		"alice": true, "Alice Smith": true, "trip 2030 ✈": true, "日本": true, "a/b": true,
		strings.Repeat("a", 256): true, strings.Repeat("é", 128): true,
		"": false, strings.Repeat("a", 257): false, "a\x00": false, "a\tb": false, "a\nb": false,
		"\x7f": false, "a\u0085": false, "a\u200b": false, "a\u202e": false, "a\u00a0b": false,
		"\xff": false, "a\xc3": false,
	} {
		if got := validTokenName(s); got != want {
			t.Errorf("validTokenName(%q) = %v, want %v", s, got, want)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	k := testKeys()
	for _, tc := range []struct {
		name   string
		secret []byte
		key    crypto.Signer
	}{
		{"HS256", testSecret, nil},
		{"EdDSA", nil, k.ed},
		{"ES256", nil, k.ec},
		{"RS256", nil, k.rsa},
	} {
		b.Run(tc.name, func(b *testing.B) {
			s := newTestSigner(b, tc.secret, tc.key, "host", "tusvault", t0)
			cfg := AuthConfig{Secret: tc.secret, Issuer: "host", Audience: "tusvault"}
			if tc.key != nil {
				cfg.PublicKey = tc.key.Public()
			}
			v := newTestVerifier(b, cfg)
			tok := mint(b, s, guestClaims, time.Hour)
			b.SetBytes(int64(len(tok)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// weakKeys returns keys the verifier and signer must refuse: RSA of 1024
// bits and ECDSA on P-384.
func weakKeys(t *testing.T) (*rsa.PrivateKey, *ecdsa.PrivateKey) {
	t.Helper()
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return small, p384
}
