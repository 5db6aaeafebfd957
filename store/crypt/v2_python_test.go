package crypt

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const formatV2DocPath = "../../docs/FORMAT-v2.md"

// formatV2Python returns the one ```python block of FORMAT-v2.md, the
// reference decryptor.
func formatV2Python(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(formatV2DocPath)
	if err != nil {
		t.Fatal(err)
	}
	var blocks []string
	var cur *strings.Builder
	for _, l := range strings.Split(string(raw), "\n") {
		switch {
		case cur == nil && strings.TrimSpace(l) == "```python":
			cur = &strings.Builder{}
		case cur != nil && strings.HasPrefix(l, "```"):
			blocks = append(blocks, cur.String())
			cur = nil
		case cur != nil:
			cur.WriteString(l + "\n")
		}
	}
	if len(blocks) != 1 {
		t.Fatalf("FORMAT-v2.md has %d ```python blocks, want 1 (the reference decryptor)", len(blocks))
	}
	return blocks[0]
}

// TestFormatV2PythonReference runs the reference decryptor of FORMAT-v2.md
// on the v2 vector laid out as objects (keyring, .info, data object, tag
// object): it must output the plaintext, whole and for a range across the
// mosaic chunks, and nothing at all once an object is altered.
func TestFormatV2PythonReference(t *testing.T) {
	script := formatV2Python(t)
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not found")
	}
	if err := exec.Command(py, "-c", "import cryptography").Run(); err != nil {
		t.Skip("python3 has no cryptography package")
	}
	raw, err := os.ReadFile(v2VectorPath)
	if err != nil {
		t.Fatal(err)
	}
	var v v2Vector
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	_, u, plain := computeV2Vector(t, v)

	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
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
	prog, ring, infoPath := write("tv2_decrypt.py", []byte(script)), write("keyring.json", kr), write("up.info", info)
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
