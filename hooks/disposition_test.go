package hooks

import (
	"mime"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestContentDisposition(t *testing.T) {
	for _, tc := range []struct{ kind, name, want string }{
		{"attachment", "", "attachment"},
		{"inline", "", "inline"},
		{"INLINE", "a.png", `inline; filename="a.png"; filename*=UTF-8''a.png`},
		{"form-data", "a", `attachment; filename="a"; filename*=UTF-8''a`},
		{"attachment", "report 2024.pdf", `attachment; filename="report 2024.pdf"; filename*=UTF-8''report%202024.pdf`},
		{"attachment", "../../etc/passwd\r\nX: y\".txt", `attachment; filename="passwdX: y.txt"; filename*=UTF-8''passwdX%3A%20y.txt`},
		{"attachment", `C:\Users\me\evil.exe`, `attachment; filename="evil.exe"; filename*=UTF-8''evil.exe`},
		{"attachment", "naïve café.txt", `attachment; filename="na_ve caf_.txt"; filename*=UTF-8''na%C3%AFve%20caf%C3%A9.txt`},
		{"attachment", "日本語.txt", `attachment; filename="___.txt"; filename*=UTF-8''%E6%97%A5%E6%9C%AC%E8%AA%9E.txt`},
		{"attachment", ".htaccess", `attachment; filename="htaccess"; filename*=UTF-8''htaccess`},
		{"attachment", "...", `attachment; filename="download"; filename*=UTF-8''download`},
		{"attachment", "dir/", `attachment; filename="download"; filename*=UTF-8''download`},
		{"attachment", "50%.txt", `attachment; filename="50_.txt"; filename*=UTF-8''50%25.txt`},
		{"attachment", "a;b=c,d.txt", `attachment; filename="a;b=c,d.txt"; filename*=UTF-8''a%3Bb%3Dc%2Cd.txt`},
		{"attachment", "evil\u202egpj.exe", `attachment; filename="evilgpj.exe"; filename*=UTF-8''evilgpj.exe`},
		{"attachment", "tab\there\x00\x7f\u0085.txt", `attachment; filename="tabhere.txt"; filename*=UTF-8''tabhere.txt`},
		{"attachment", "bad\xffutf8.txt", `attachment; filename="badutf8.txt"; filename*=UTF-8''badutf8.txt`},
		{"attachment", "trailing. . ", `attachment; filename="trailing"; filename*=UTF-8''trailing`},
	} {
		if got := ContentDisposition(tc.kind, tc.name); got != tc.want {
			t.Errorf("ContentDisposition(%q, %q)\n got %s\nwant %s", tc.kind, tc.name, got, tc.want)
		}
	}
}

func TestSanitizeFilenameLength(t *testing.T) {
	long := strings.Repeat("é", 300) + ".jpeg"
	got := SanitizeFilename(long)
	if len(got) > maxFilenameBytes || !utf8.ValidString(got) || !strings.HasSuffix(got, ".jpeg") {
		t.Errorf("SanitizeFilename(300×é.jpeg) = %d bytes %q", len(got), got)
	}
	noExt := strings.Repeat("x", 500) + ".thisisnotanextension"
	if got := SanitizeFilename(noExt); len(got) != maxFilenameBytes || got != strings.Repeat("x", maxFilenameBytes) {
		t.Errorf("SanitizeFilename(long, long extension) = %q", got)
	}
}

func TestRewriteDisposition(t *testing.T) {
	// tusd writes `<kind>;filename=` + strconv.Quote(name).
	for in, want := range map[string]string{
		`inline;filename="a.png"`:                 `inline; filename="a.png"; filename*=UTF-8''a.png`,
		`attachment;filename="../x\r\n\"y\".txt"`: `attachment; filename="xy.txt"; filename*=UTF-8''xy.txt`,
		`attachment;filename="caf\u00e9"`:         `attachment; filename="caf_"; filename*=UTF-8''caf%C3%A9`,
		`attachment;filename="\xff\x00"`:          `attachment; filename="download"; filename*=UTF-8''download`,
		`attachment`:                              `attachment`,
		`inline`:                                  `inline`,
		`attachment;filename=unquoted-garbage"`:   `attachment; filename="download"; filename*=UTF-8''download`,
		`attachment;filename=""`:                  `attachment`,
		`weird;filename="x"`:                      `attachment; filename="x"; filename*=UTF-8''x`,
	} {
		if got := rewriteDisposition(in); got != want {
			t.Errorf("rewriteDisposition(%s)\n got %s\nwant %s", in, got, want)
		}
	}
}

// FuzzContentDisposition: the header value is always printable ASCII (no
// CR, LF or other controls), names no path, has no quote inside
// its quoted filename, and a MIME parser reads back the sanitized name.
func FuzzContentDisposition(f *testing.F) {
	for _, s := range []string{"", "a.txt", "../../etc/passwd\r\nX: y\".txt", "日本語", "\x00", "%41", `a\"b`, ".", "x/", "\u202e"} {
		f.Add("attachment", s)
	}
	f.Add("inline", "a.png")
	f.Fuzz(func(t *testing.T, kind, name string) {
		got := ContentDisposition(kind, name)
		for i := 0; i < len(got); i++ {
			if got[i] < 0x20 || got[i] > 0x7e {
				t.Fatalf("ContentDisposition(%q, %q) = %q holds a byte outside printable ASCII", kind, name, got)
			}
		}
		if strings.ContainsAny(got, `/\`) {
			t.Fatalf("ContentDisposition(%q, %q) = %q holds a path separator", kind, name, got)
		}
		if !strings.HasPrefix(got, "inline") && !strings.HasPrefix(got, "attachment") {
			t.Fatalf("ContentDisposition(%q, %q) = %q: bad kind", kind, name, got)
		}
		if name == "" {
			return
		}
		_, rest, _ := strings.Cut(got, `filename="`)
		quoted, _, ok := strings.Cut(rest, `"; filename*=`)
		if !ok || strings.ContainsAny(quoted, `"\%`) {
			t.Fatalf("ContentDisposition(%q, %q) = %q: bad quoted filename", kind, name, got)
		}
		clean := SanitizeFilename(name)
		if clean == "" || clean[0] == '.' || !utf8.ValidString(clean) || len(clean) > maxFilenameBytes {
			t.Fatalf("SanitizeFilename(%q) = %q", name, clean)
		}
		for _, r := range clean {
			if unsafeRune(r) {
				t.Fatalf("SanitizeFilename(%q) = %q keeps %U", name, clean, r)
			}
		}
		_, params, err := mime.ParseMediaType(got)
		if err != nil || params["filename"] != clean {
			t.Fatalf("ParseMediaType(%q) = %q, %v; want filename %q", got, params["filename"], err, clean)
		}
	})
}
