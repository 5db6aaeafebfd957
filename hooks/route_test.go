package hooks

import (
	"regexp"
	"strings"
	"testing"
)

var defaultLayout = layout{home: "home", guest: "guest", public: "public"}

func TestSegment(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"alice", "alice"},
		{"Alice_Smith-2", "Alice_Smith-2"},
		{strings.Repeat("a", 64), strings.Repeat("a", 64)},
		{"X-upper", "X-upper"}, // only a lowercase "x-" is reserved
	} {
		if got := Segment(tc.name); got != tc.want {
			t.Errorf("Segment(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
	hashed := regexp.MustCompile(`^x-[a-z2-7]{26}$`)
	for _, name := range []string{
		"", "x-", "x-abc", "alice@example.com", "a/b", "..", "é", strings.Repeat("a", 65),
		"x-" + strings.Repeat("a", 26), // looks hashed: must be hashed itself
		"a b", "a\x00b",
	} {
		got := Segment(name)
		if !hashed.MatchString(got) {
			t.Errorf("Segment(%q) = %q, want a hashed segment", name, got)
		}
		if got == name {
			t.Errorf("Segment(%q) returned the name itself", name)
		}
	}
	// Known answer: x- + base32(sha256("alice@example.com"))[:26], lowercase.
	if got, want := Segment("alice@example.com"), "x-"+"76gzqgp4byjl6djerexelgd6es"; got != want {
		t.Errorf("Segment(alice@example.com) = %q, want %q", got, want)
	}
	if Segment("Alice") == Segment("alice") {
		t.Error("segments are case-insensitive")
	}
}

func TestParseRoute(t *testing.T) {
	l := layout{home: "h", guest: "g", public: "p"}
	r := strings.Repeat("0123456789abcdef", 2)
	hashedSeg := Segment("bob@example.com")
	good := map[string]Route{
		"p/" + r:                   {Kind: RoutePublic, Rand: r},
		"h/alice/" + r:             {Kind: RouteHome, Owner: "alice", Rand: r},
		"h/" + hashedSeg + "/" + r: {Kind: RouteHome, Owner: hashedSeg, Rand: r},
		"g/alice/trip/" + r:        {Kind: RouteGuest, Owner: "alice", Share: "trip", Rand: r},
	}
	for id, want := range good {
		got, ok := l.parse(id)
		if !ok || got != want {
			t.Errorf("parse(%q) = %+v, %v; want %+v", id, got, ok, want)
		}
		if back := l.id(got); back != id {
			t.Errorf("id(parse(%q)) = %q", id, back)
		}
	}
	for _, id := range []string{
		"", r, "p", "p/", "p/" + r + "/", "h/" + r, "h/alice/" + r + "/x", "g/alice/" + r,
		"g/a/b/c/" + r, "home/alice/" + r, // the default prefix is not this layout's
		"p/" + strings.ToUpper(r), "p/" + r[:31], "p/" + r + "0", "p/" + r[:31] + "g",
		"h/x-abc/" + r, // x- but not a hash
		"h/x-" + strings.Repeat("A", 26) + "/" + r, // uppercase hash
		"h/" + strings.Repeat("a", 65) + "/" + r,
		"h/../" + r, "h/a.b/" + r, "h//" + r, "/p/" + r, "g/alice/trip/../" + r,
	} {
		if got, ok := l.parse(id); ok {
			t.Errorf("parse(%q) = %+v, want refusal", id, got)
		}
	}
}

// FuzzParseRoute: parsing never panics; whatever parses renders back to
// the same id and only holds valid parts; generated ids round-trip.
func FuzzParseRoute(f *testing.F) {
	r := strings.Repeat("ab", 16)
	for _, s := range []string{"home/alice/" + r, "guest/a/b/" + r, "public/" + r, "", "/", "home//" + r, "guest/x-abc/b/" + r} {
		f.Add(s, "alice", "trip")
	}
	f.Fuzz(func(t *testing.T, id, owner, share string) {
		if rt, ok := defaultLayout.parse(id); ok {
			if back := defaultLayout.id(rt); back != id {
				t.Fatalf("parse(%q) = %+v renders back as %q", id, rt, back)
			}
			if !validRand(rt.Rand) || (rt.Owner != "" && !validSegment(rt.Owner)) || (rt.Share != "" && !validSegment(rt.Share)) {
				t.Fatalf("parse(%q) accepted invalid parts %+v", id, rt)
			}
		}
		for _, rt := range []Route{
			{Kind: RouteHome, Owner: Segment(owner), Rand: newRand()},
			{Kind: RouteGuest, Owner: Segment(owner), Share: Segment(share), Rand: newRand()},
			{Kind: RoutePublic, Rand: newRand()},
		} {
			gen := defaultLayout.id(rt)
			got, ok := defaultLayout.parse(gen)
			if !ok || got != rt {
				t.Fatalf("generated id %q parses as %+v, %v; want %+v", gen, got, ok, rt)
			}
			if !storeIDPattern.MatchString(gen) || len(gen) > 512 {
				t.Fatalf("generated id %q is not a valid store id", gen)
			}
		}
	})
}

// storeIDPattern is the store's id rule (store/info.go).
var storeIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}(/[A-Za-z0-9_-]{1,128}){0,7}$`)

// FuzzSegment: a segment is always valid and never names two different
// inputs; literal names map to themselves.
func FuzzSegment(f *testing.F) {
	for _, s := range []string{"", "alice", "x-", "x-abc", "a/b", "é", strings.Repeat("z", 64), strings.Repeat("z", 65)} {
		f.Add(s, "alice")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		sa, sb := Segment(a), Segment(b)
		if !validSegment(sa) || !storeIDPattern.MatchString(sa) {
			t.Fatalf("Segment(%q) = %q is not a valid segment", a, sa)
		}
		if (sa == sb) != (a == b) {
			t.Fatalf("Segment(%q) = %q, Segment(%q) = %q", a, sa, b, sb)
		}
		if literalSegment(a) != (sa == a) {
			t.Fatalf("Segment(%q) = %q: literal names must map to themselves, others never", a, sa)
		}
	})
}

func TestConfigValidate(t *testing.T) {
	for _, cfg := range []Config{
		{HomePrefix: "Home"}, {GuestPrefix: "a/b"}, {PublicPrefix: "x.y"},
		{HomePrefix: "same", GuestPrefix: "same"}, {PublicPrefix: "home"},
		{HomeMaxSize: -1}, {Auth: &Verifier{}}, // no Uploads
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted an invalid configuration", cfg)
		}
	}
	p, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if p.layout != defaultLayout {
		t.Errorf("default layout %+v", p.layout)
	}
}
