package crypt

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// v2VectorFence is the info string of the code blocks of FORMAT.md's v2
// worked example (the v1 example's are ```v1-vector).
const v2VectorFence = "v2-vector"

// TestFormatV2PythonReference runs the reference decryptor of FORMAT.md
// (one for both formats) on the v2 vector laid out as objects (keyring, .info, data object, tag
// object): it must output the plaintext, whole and for a range across the
// mosaic chunks, and nothing at all once an object is altered.
func TestFormatV2PythonReference(t *testing.T) {
	script := pythonBlock(t, formatDocPath)
	py := pythonWithCryptography(t)
	v := loadV2Vector(t)
	_, u, plain := computeV2Vector(t, v)

	write := tempWriter(t)
	b64 := base64.StdEncoding.EncodeToString
	kr, _ := json.Marshal(keyringFile{V: 1, Primary: v.Kid, Keys: map[string]string{v.Kid: b64(unhex(t, "kek", v.KEK))}})
	info, err := json.MarshalIndent(map[string]any{
		"ID": v.UploadID, "Size": v.Size,
		"Enc": map[string]any{
			"V": V2Version, "Alg": V2Alg, "Kid": v.Kid, "WrappedDEK": unhex(t, "wrapped_dek", v.WrappedDEK),
			"PartSize": v.PartSize, "Segments": u.segs, "Tag": unhex(t, "tag", v.Tag),
		},
	}, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	prog, ring, infoPath := write("tv_decrypt.py", []byte(script)), write("keyring.json", kr), write("up.info", info)
	run := func(ct, tags []byte, args ...string) ([]byte, error) {
		data := write("up", ct)
		write("up.tags.1", tags)
		cmd := exec.Command(py, append([]string{prog, ring, infoPath, data}, args...)...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		if err != nil {
			err = fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
		}
		return stdout.Bytes(), err
	}
	tags := u.tagBytes()
	got, err := run(u.ct, tags)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("python whole: err %v, %d bytes, equal %v", err, len(got), bytes.Equal(got, plain))
	}
	got, err = run(u.ct, tags, "99995", "70000")
	if err != nil || !bytes.Equal(got, plain[99995:99995+70000]) {
		t.Fatalf("python range: err %v", err)
	}
	flip := func(b []byte, at int) []byte { b = bytes.Clone(b); b[at] ^= 1; return b }
	for name, tc := range map[string]struct{ ct, tags []byte }{
		"flipped data":   {flip(u.ct, ChunkSize+50_000), tags},
		"flipped tag":    {u.ct, flip(tags, 20)},
		"truncated data": {u.ct[:3*ChunkSize], tags},
		"tags missing":   {u.ct, tags[:48]},
	} {
		for _, args := range [][]string{nil, {"99995", "70000"}} {
			got, err := run(tc.ct, tc.tags, args...)
			if err == nil || len(got) != 0 {
				t.Errorf("python, %s %v: err %v, %d bytes out; want a failure and no output", name, args, err, len(got))
			}
		}
	}
}

// flattenJSON maps every leaf of a decoded JSON value to its dotted path
// (segments.1.iv, chunks.3.tag, …), as text.
func flattenJSON(prefix string, x any, out map[string]string) {
	switch v := x.(type) {
	case map[string]any:
		for k, e := range v {
			flattenJSON(strings.TrimPrefix(prefix+"."+k, "."), e, out)
		}
	case []any:
		for i, e := range v {
			flattenJSON(fmt.Sprintf("%s.%d", prefix, i), e, out)
		}
	default:
		out[prefix] = fmt.Sprint(v)
	}
}

// TestFormatV2DocExample keeps the v2 worked example of FORMAT.md honest:
// every "name: value" line of its ```v2-vector blocks must be the vector's
// value at that dotted path (hex compared without spaces), and the example
// must show every chunk's tag and the object tag.
func TestFormatV2DocExample(t *testing.T) {
	raw, err := os.ReadFile(v2VectorPath)
	if err != nil {
		t.Fatal(err)
	}
	var x any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // 10485760, not 1.048576e+07
	if err := dec.Decode(&x); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	flattenJSON("", x, want)
	doc, err := os.ReadFile(formatDocPath)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	in := false
	for n, l := range strings.Split(string(doc), "\n") {
		switch {
		case strings.TrimSpace(l) == "```"+v2VectorFence:
			in = true
			continue
		case in && strings.HasPrefix(l, "```"):
			in = false
			continue
		case !in || strings.TrimSpace(l) == "":
			continue
		}
		m := docLineRE.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("FORMAT.md:%d: not a `name: value` line: %q", n+1, l)
			continue
		}
		w, ok := want[m[1]]
		if !ok {
			t.Errorf("FORMAT.md:%d: %s is not in the v2 vector", n+1, m[1])
			continue
		}
		got := m[2]
		if _, err := hex.DecodeString(strings.ReplaceAll(got, " ", "")); err == nil && strings.Contains(got, " ") {
			got = strings.ReplaceAll(got, " ", "")
		}
		if got != w {
			t.Errorf("FORMAT.md:%d: %s is %q, the v2 vector says %q", n+1, m[1], got, w)
		}
		seen[m[1]] = true
	}
	for _, name := range []string{"chunks.0.tag", "chunks.1.tag", "chunks.2.tag", "chunks.3.tag",
		"interim_tags.0.tag", "interim_tags.1.tag", "tag", "tags_sha256", "tag_input", "wrapped_dek"} {
		if !seen[name] {
			t.Errorf("FORMAT.md's v2 worked example does not show %s", name)
		}
	}
}
