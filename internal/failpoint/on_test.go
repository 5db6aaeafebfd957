//go:build failpoint

package failpoint

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

func TestParseSpec(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Spec
		err  bool
	}{
		{in: "spool", want: Spec{Stage: "spool", Nth: 1}},
		{in: "upload-part:2", want: Spec{Stage: "upload-part", Nth: 2}},
		{in: "tail=block", want: Spec{Stage: "tail", Nth: 1, Block: true}},
		{in: "remove:3=kill", want: Spec{Stage: "remove", Nth: 3}},
		{in: "", err: true},
		{in: ":2", err: true},
		{in: "spool:0", err: true},
		{in: "spool:x", err: true},
		{in: "spool=stop", err: true},
	} {
		got, err := ParseSpec(tc.in)
		if (err != nil) != tc.err || (!tc.err && got != tc.want) {
			t.Errorf("ParseSpec(%q) = %+v, %v; want %+v, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

// A pass over the wrapped body hits the stage once, when it crosses the
// middle; a second pass after a rewind hits it again.
func TestReaderHitsAtTheMiddle(t *testing.T) {
	old := armed
	t.Cleanup(func() { armed = old; hits.Store(0) })
	armed = Spec{Stage: "body", Nth: 1 << 40} // counted, never fires
	hits.Store(0)
	body := bytes.NewReader([]byte(strings.Repeat("x", 100)))
	if Reader("other", body, 100) != io.ReadSeeker(body) {
		t.Fatal("Reader wrapped the body of a stage that is not armed")
	}
	r := Reader("body", body, 100)
	buf := make([]byte, 10)
	for pass := 1; pass <= 2; pass++ {
		for i := 0; i < 10; i++ {
			if _, err := io.ReadFull(r, buf); err != nil {
				t.Fatal(err)
			}
			want := int64(pass - 1)
			if i >= 5 { // bytes 50..59 cross the middle (50)
				want = int64(pass)
			}
			if got := hits.Load(); got != want {
				t.Fatalf("pass %d, after %d bytes: %d hits, want %d", pass, (i+1)*10, got, want)
			}
		}
		if _, err := r.Seek(0, io.SeekStart); err != nil {
			t.Fatal(err)
		}
	}
}

// A seal line names the nonce's inputs and digests the piece and the
// message; a message that differs only in its AAD, or in where the piece
// ends and the AAD begins, has another digest.
func TestSealLine(t *testing.T) {
	iv := bytes.Repeat([]byte{0xab}, 16)
	got := sealLine("u1", iv, 7, 100, false, []byte("abc"), []byte("aad"))
	f := strings.Fields(got)
	if len(f) != 7 || strings.ContainsAny(got, "\n") {
		t.Fatalf("record %q: want 7 fields on one line", got)
	}
	want := []string{"u1", strings.Repeat("ab", 16), "7", "100", "0",
		"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"} // SHA-256("abc")
	for i, w := range want {
		if f[i] != w {
			t.Errorf("field %d = %q, want %q", i, f[i], w)
		}
	}
	msg := func(line string) string { return strings.Fields(line)[6] }
	for _, other := range []string{
		sealLine("u1", iv, 7, 100, false, []byte("abc"), []byte("aaD")),
		sealLine("u1", iv, 7, 100, false, []byte("ab"), []byte("caad")),
	} {
		if msg(other) == msg(got) {
			t.Errorf("%q and %q have the same message digest", got, other)
		}
	}
	if again := sealLine("u1", iv, 7, 100, false, []byte("abc"), []byte("aad")); again != got {
		t.Errorf("the same seal gave %q, then %q", got, again)
	}
	final := strings.Fields(sealLine("u1", iv, 7, 100, true, nil, []byte("aad")))
	if final[4] != "1" || final[5] != "-" {
		t.Errorf("a re-seal as final: %v, want final 1 and no plaintext digest", final)
	}
}
