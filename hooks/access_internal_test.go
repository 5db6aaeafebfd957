package hooks

import (
	"strings"
	"testing"
)

// TestAccessRules checks the rule table of Middleware on its pure core.
func TestAccessRules(t *testing.T) {
	r := strings.Repeat("0", 32)
	home := Route{Kind: RouteHome, Owner: Segment("alice@example.com"), Rand: r}
	guest := Route{Kind: RouteGuest, Owner: Segment("alice@example.com"), Share: "trip", Rand: r}
	alice := Claims{Kind: KindHome, Subject: "alice@example.com"}
	bob := Claims{Kind: KindHome, Subject: "bob"}
	tripGuest := Claims{Kind: KindGuest, Owner: "alice@example.com", Share: "trip"}
	otherShare := Claims{Kind: KindGuest, Owner: "alice@example.com", Share: "party"}
	otherOwner := Claims{Kind: KindGuest, Owner: "bob", Share: "trip"}
	// Not the owner of the guest upload although its subject equals the
	// share name: only Segment(sub) == owner counts.
	trip := Claims{Kind: KindHome, Subject: "trip"}
	expired := func(c Claims) Claims { c.Expired = true; return c }

	const ok = ""
	type row struct {
		name  string
		rt    Route
		c     Claims
		codes [4]string // HEAD, PATCH, GET, DELETE
	}
	nf, ro, gd, ex := "ERR_UPLOAD_NOT_FOUND", "ERR_UPLOAD_READ_ONLY", "ERR_GUEST_CANNOT_DOWNLOAD", "ERR_TOKEN_EXPIRED"
	for _, tc := range []row{
		{"home: owner", home, alice, [4]string{ok, ok, ok, ok}},
		{"home: other user", home, bob, [4]string{nf, nf, nf, nf}},
		{"home: guest of the owner's share", home, tripGuest, [4]string{nf, nf, nf, nf}},
		// Within the grace: HEAD and PATCH pass here; Middleware's check
		// then requires an unfinished upload.
		{"home: owner, expired", home, expired(alice), [4]string{ok, ok, ex, ex}},
		{"home: other user, expired", home, expired(bob), [4]string{ex, ex, ex, ex}},
		{"guest: same share", guest, tripGuest, [4]string{ok, ok, gd, ok}},
		{"guest: same share, expired", guest, expired(tripGuest), [4]string{ok, ok, ex, ex}},
		{"guest: other share", guest, otherShare, [4]string{nf, nf, nf, nf}},
		{"guest: same share name, other owner", guest, otherOwner, [4]string{nf, nf, nf, nf}},
		{"guest: share owner", guest, alice, [4]string{ok, ro, ok, ro}},
		{"guest: share owner, expired", guest, expired(alice), [4]string{ex, ex, ex, ex}},
		{"guest: other user", guest, bob, [4]string{nf, nf, nf, nf}},
		{"guest: user named like the share", guest, trip, [4]string{nf, nf, nf, nf}},
	} {
		for i, m := range []string{"HEAD", "PATCH", "GET", "DELETE"} {
			got := ok
			if err := access(tc.rt, tc.c, m); err != nil {
				got = err.ErrorCode
			}
			if got != tc.codes[i] {
				t.Errorf("%s, %s: got %q, want %q", tc.name, m, got, tc.codes[i])
			}
		}
	}
}

func TestTypeAllowed(t *testing.T) {
	for _, tc := range []struct {
		types    []string
		filetype string
		want     bool
	}{
		{[]string{"image/*"}, "image/png", true},
		{[]string{"image/*"}, "IMAGE/PNG", true},
		{[]string{"image/*"}, "image/svg+xml; charset=utf-8", true},
		{[]string{"Image/*"}, "image/jpeg", true},
		{[]string{"image/*"}, "imagex/png", false},
		{[]string{"image/*"}, "text/plain", false},
		{[]string{"image/*"}, "", false},
		{[]string{"image/*"}, "image", false},
		{[]string{"image/*"}, "image/", false},
		{[]string{"image/*"}, "image/*", false},
		{[]string{"image/*"}, "not a type", false},
		{[]string{"application/pdf"}, "application/pdf", true},
		{[]string{"application/pdf"}, "application/pdfx", false},
		{[]string{"application/pdf", "image/*"}, "image/gif", true},
		{[]string{"*/*"}, "x-anything/x-y", true},
		{[]string{"*/*"}, "", false},
	} {
		if got := typeAllowed(tc.types, tc.filetype); got != tc.want {
			t.Errorf("typeAllowed(%q, %q) = %v, want %v", tc.types, tc.filetype, got, tc.want)
		}
	}
}

func TestSmallestLimit(t *testing.T) {
	for _, tc := range [][3]int64{{0, 0, 0}, {5, 0, 5}, {0, 7, 7}, {5, 7, 5}, {9, 7, 7}} {
		if got := smallestLimit(tc[0], tc[1]); got != tc[2] {
			t.Errorf("smallestLimit(%d, %d) = %d, want %d", tc[0], tc[1], got, tc[2])
		}
	}
}

// Every reason refusalReason gives has a label of its own.
func TestRefusalReasonsLabelled(t *testing.T) {
	for _, reason := range []string{"no token", "wrong algorithm", "malformed", "bad signature", "expired",
		"not yet valid", "issued in the future", "wrong audience", "wrong issuer", "missing iss or aud",
		"no account", "bad claim", "invalid"} {
		label := strings.ReplaceAll(reason, " ", "_")
		if RefusalReasons[refusalIndex(label)] != label {
			t.Errorf("reason %q has no label of its own", reason)
		}
	}
	if RefusalReasons[refusalIndex("something else")] != "invalid" {
		t.Error("an unknown reason is not counted as invalid")
	}
}
