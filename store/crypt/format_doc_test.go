package crypt

import (
	"bufio"
	"bytes"
	"crypto/aes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// This file keeps the format v1 parts of docs/FORMAT.md honest: every
// value its v1 worked example states must equal the known-answer vector
// (testdata/format-v1-vector.json) and what this package computes, and its
// Python reference decryptor (one for both formats) must decrypt the
// vector (when python3 and the cryptography package are there).
// v2_doc_test.go does the same for format v2.

const formatDocPath = "../../docs/FORMAT.md"

// The markers of the v1 worked example in FORMAT.md: the heading of its
// section and the info string of its code blocks (the v2 example's blocks
// are ```v2-vector).
const (
	v1ExampleHeading = "Worked example, format v1"
	v1VectorFence    = "v1-vector"
)

// fmtDocInputs is the vector, decoded.
type fmtDocInputs struct {
	v                                   vectorFile
	kek, dek, plain, ct, statePlain     []byte
	wrapped, trailer, tag, meta, sealed []byte
	segs                                []Segment
	sk                                  Subkeys
}

func loadFmtDocVector(t *testing.T) *fmtDocInputs {
	t.Helper()
	raw, err := os.ReadFile("testdata/format-v1-vector.json")
	if err != nil {
		t.Fatal(err)
	}
	in := &fmtDocInputs{}
	if err := json.Unmarshal(raw, &in.v); err != nil {
		t.Fatal(err)
	}
	dec := func(name, s string) []byte {
		b, err := base64.StdEncoding.Strict().DecodeString(s)
		if err != nil {
			t.Fatalf("vector %s: %v", name, err)
		}
		return b
	}
	v := &in.v
	in.kek, in.dek = dec("kek", v.KEK), dec("dek", v.DEK)
	in.plain, in.ct = dec("plaintext", v.Plaintext), dec("ciphertext", v.Ciphertext)
	in.statePlain = dec("state_plain", v.StatePlain)
	in.wrapped, in.trailer, in.tag = dec("wrapped_dek", v.WrappedDEK), dec("trailer", v.Trailer), dec("tag", v.Tag)
	in.meta, in.sealed = dec("meta_sealed", v.MetaSealed), dec("state_sealed", v.StateSealed)
	for _, s := range v.Segments {
		in.segs = append(in.segs, Segment{Off: s.Off, IV: dec("iv", s.IV)})
	}
	for _, x := range []string{"enc", "mac", "state", "meta"} {
		dec("subkey "+x, v.Subkeys[x]) // checks the encoding
	}
	in.sk = Subkeys{
		Enc: dec("enc", v.Subkeys["enc"]), MAC: dec("mac", v.Subkeys["mac"]),
		State: dec("state", v.Subkeys["state"]), Meta: dec("meta", v.Subkeys["meta"]),
	}
	return in
}

// docLine is one "name: value" line of a ```v1-vector or ```v2-vector
// block.
type docLine struct {
	name, value string
	line        int
}

var docLineRE = regexp.MustCompile(`^([A-Za-z0-9_.@]+):\s+(\S.*?)\s*$`)

// formatDocExample returns the lines of the ```v1-vector blocks of the v1
// worked example of FORMAT.md, and the section's text outside code blocks.
func formatDocExample(t *testing.T) (lines []docLine, prose string) {
	t.Helper()
	raw, err := os.ReadFile(formatDocPath)
	if err != nil {
		t.Fatalf("read %s: %v", formatDocPath, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	inSection, fence := false, ""
	var pb strings.Builder
	for n := 1; sc.Scan(); n++ {
		l := sc.Text()
		if fence == "" && strings.HasPrefix(l, "## ") {
			inSection = strings.Contains(l, v1ExampleHeading)
			continue
		}
		if !inSection {
			continue
		}
		if strings.HasPrefix(l, "```") {
			if fence == "" {
				fence = strings.TrimSpace(strings.TrimPrefix(l, "```"))
				if fence == "" {
					fence = "plain"
				}
			} else {
				fence = ""
			}
			continue
		}
		switch fence {
		case "":
			pb.WriteString(l + "\n")
		case v1VectorFence:
			if strings.TrimSpace(l) == "" {
				continue
			}
			m := docLineRE.FindStringSubmatch(l)
			if m == nil {
				t.Errorf("FORMAT.md:%d: not a `name: value` line: %q", n, l)
				continue
			}
			lines = append(lines, docLine{name: m[1], value: m[2], line: n})
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if fence != "" {
		t.Errorf("FORMAT.md: unterminated code block in the worked example")
	}
	if len(lines) == 0 {
		t.Fatalf("FORMAT.md has no section %q with ```%s blocks", v1ExampleHeading, v1VectorFence)
	}
	return lines, pb.String()
}

// lpT is lp(s) = u16 len(s) ‖ s, written independently of appendLP.
func lpT(s string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(len(s))), s...)
}

func u64T(x uint64) []byte { return binary.BigEndian.AppendUint64(nil, x) }

// counterRef is IV + floor(off/16) mod 2^128 computed with math/big.
func counterRef(iv []byte, off int64) []byte {
	c := new(big.Int).SetBytes(iv)
	c.Add(c, big.NewInt(off/16))
	c.Mod(c, new(big.Int).Lsh(big.NewInt(1), 128))
	out := make([]byte, 16)
	return c.FillBytes(out)
}

type docWant struct {
	kind  string // hex, text
	value string
}

// fmtDocExpected returns what the worked example must say for every fixed
// name, checking on the way that the package reproduces the vector.
func fmtDocExpected(t *testing.T, in *fmtDocInputs) map[string]docWant {
	t.Helper()
	v := &in.v
	eq := func(what string, got, want []byte) {
		t.Helper()
		if !bytes.Equal(got, want) {
			t.Errorf("code vs vector: %s:\n got %x\nwant %x", what, got, want)
		}
	}
	w := map[string]docWant{}
	hx := func(name string, b []byte) { w[name] = docWant{"hex", hex.EncodeToString(b)} }
	tx := func(name, s string) { w[name] = docWant{"text", s} }
	b64 := base64.StdEncoding.EncodeToString

	// Inputs.
	hx("kek", in.kek)
	tx("kek.base64", b64(in.kek))
	tx("kid", v.Kid)
	kr, err := json.Marshal(keyringFile{V: 1, Primary: v.Kid, Keys: map[string]string{v.Kid: b64(in.kek)}})
	if err != nil {
		t.Fatal(err)
	}
	tx("keyring.json", string(kr))
	tx("upload_id", v.UploadID)
	hx("dek", in.dek)
	tx("part_size", strconv.FormatInt(v.PartSize, 10))
	tx("size", strconv.Itoa(len(in.plain)))
	for i, s := range in.segs {
		tx(fmt.Sprintf("seg%d.off", i), strconv.FormatInt(s.Off, 10))
		hx(fmt.Sprintf("seg%d.iv", i), s.IV)
	}
	hx("plaintext", in.plain)
	tx("meta_json", v.MetaJSON)

	// Step 1: the wrapped DEK.
	aad := append(append([]byte("tusvault/v1/dek"), lpT(v.UploadID)...), lpT(v.Kid)...)
	codeAAD, err := dekAAD(v.UploadID, v.Kid)
	if err != nil {
		t.Fatal(err)
	}
	eq("dek aad", codeAAD, aad)
	hx("dek.aad", aad)
	if len(in.wrapped) != WrappedDEKSize {
		t.Fatalf("vector wrapped dek is %d bytes", len(in.wrapped))
	}
	wrapped, err := wrapDEK(in.kek, in.wrapped[:NonceSize], in.dek, v.UploadID, v.Kid)
	if err != nil {
		t.Fatal(err)
	}
	eq("wrapped dek", wrapped, in.wrapped)
	if got, err := UnwrapDEK(in.kek, in.wrapped, v.UploadID, v.Kid); err != nil {
		t.Errorf("UnwrapDEK: %v", err)
	} else {
		eq("unwrapped dek", got, in.dek)
	}
	hx("wrapped_dek.nonce", in.wrapped[:NonceSize])
	hx("wrapped_dek.ct", in.wrapped[NonceSize:NonceSize+KeySize])
	hx("wrapped_dek.gcmtag", in.wrapped[NonceSize+KeySize:])
	hx("wrapped_dek", in.wrapped)
	tx("wrapped_dek.base64", b64(in.wrapped))

	// Step 2: subkeys.
	sk, err := DeriveSubkeys(in.dek)
	if err != nil {
		t.Fatal(err)
	}
	eq("k_enc", sk.Enc, in.sk.Enc)
	eq("k_mac", sk.MAC, in.sk.MAC)
	eq("k_state", sk.State, in.sk.State)
	eq("k_meta", sk.Meta, in.sk.Meta)
	hx("k_enc", in.sk.Enc)
	hx("k_mac", in.sk.MAC)
	hx("k_state", in.sk.State)
	hx("k_meta", in.sk.Meta)

	// Step 4: ciphertext (step 3, the counters, is checked line by line).
	c, err := NewCipher(in.sk.Enc, in.segs)
	if err != nil {
		t.Fatal(err)
	}
	ct := make([]byte, len(in.plain))
	c.XORAt(ct, in.plain, 0)
	eq("ciphertext", ct, in.ct)
	hx("ciphertext", in.ct)

	// Step 5: trailer, field by field.
	size := int64(len(in.plain))
	fields := []struct {
		name string
		b    []byte
	}{
		{"trailer.magic", []byte("tusvault/v1/tag")},
		{"trailer.lp_id", lpT(v.UploadID)},
		{"trailer.part_size", u64T(uint64(v.PartSize))},
		{"trailer.nsegs", binary.BigEndian.AppendUint32(nil, uint32(len(in.segs)))},
	}
	for i, s := range in.segs {
		fields = append(fields, struct {
			name string
			b    []byte
		}{fmt.Sprintf("trailer.seg%d", i), append(u64T(uint64(s.Off)), s.IV...)})
	}
	fields = append(fields, struct {
		name string
		b    []byte
	}{"trailer.size", u64T(uint64(size))})
	var whole []byte
	for _, f := range fields {
		hx(f.name, f.b)
		whole = append(whole, f.b...)
	}
	eq("trailer fields", whole, in.trailer)
	eq("Trailer()", Trailer(v.UploadID, v.PartSize, in.segs, size), in.trailer)
	if want := 37 + len(v.UploadID) + 24*len(in.segs); len(in.trailer) != want {
		t.Errorf("trailer is %d bytes, FORMAT.md says 37 + len(ID) + 24·n = %d", len(in.trailer), want)
	}
	hx("trailer", in.trailer)

	// Step 6: tag, by the package's MAC and by crypto/hmac.
	m := NewMAC(in.sk.MAC)
	m.Write(in.ct)
	eq("tag (MAC)", m.Tag(in.trailer), in.tag)
	h := hmac.New(sha256.New, in.sk.MAC)
	h.Write(in.ct)
	h.Write(in.trailer)
	eq("tag (crypto/hmac)", h.Sum(nil), in.tag)
	hx("tag", in.tag)
	tx("tag.base64", b64(in.tag))

	// Step 7: sealed metadata.
	maad := append([]byte("tusvault/v1/meta"), lpT(v.UploadID)...)
	if got, err := metaAAD(v.UploadID); err != nil {
		t.Fatal(err)
	} else {
		eq("meta aad", got, maad)
	}
	sm, err := sealMeta(in.sk.Meta, in.meta[:NonceSize], []byte(v.MetaJSON), v.UploadID)
	if err != nil {
		t.Fatal(err)
	}
	eq("meta_sealed", sm, in.meta)
	if got, err := OpenMeta(in.sk.Meta, in.meta, v.UploadID); err != nil {
		t.Errorf("OpenMeta: %v", err)
	} else {
		eq("opened meta", got, []byte(v.MetaJSON))
	}
	hx("meta.aad", maad)
	hx("meta_sealed.nonce", in.meta[:NonceSize])
	hx("meta_sealed", in.meta)
	tx("meta_sealed.base64", b64(in.meta))

	// Step 8: sealed MAC state.
	saad := append(append([]byte("tusvault/v1/state"), lpT(v.UploadID)...), u64T(uint64(v.StateCommitted))...)
	saad = append(saad, u64T(v.StateSeq)...)
	if got, err := stateAAD(v.UploadID, v.StateCommitted, v.StateSeq); err != nil {
		t.Fatal(err)
	} else {
		eq("state aad", got, saad)
	}
	ss, err := sealState(in.sk.State, in.sealed[:NonceSize], in.statePlain, v.UploadID, v.StateCommitted, v.StateSeq)
	if err != nil {
		t.Fatal(err)
	}
	eq("state_sealed", ss, in.sealed)
	if got, err := OpenState(in.sk.State, in.sealed, v.UploadID, v.StateCommitted, v.StateSeq); err != nil {
		t.Errorf("OpenState: %v", err)
	} else {
		eq("opened state", got, in.statePlain)
	}
	if len(in.statePlain) != StateSize {
		t.Errorf("state_plain is %d bytes, FORMAT.md says %d", len(in.statePlain), StateSize)
	}
	hx("state_plain", in.statePlain)
	tx("state_committed", strconv.FormatInt(v.StateCommitted, 10))
	tx("state_seq", strconv.FormatUint(v.StateSeq, 10))
	hx("state.aad", saad)
	hx("state_sealed.nonce", in.sealed[:NonceSize])
	hx("state_sealed", in.sealed)
	tx("state_sealed.base64", b64(in.sealed))
	return w
}

var (
	docCounterRE = regexp.MustCompile(`^seg(\d+)\.(counter|keystream)@(\d+)$`)
	docByteRE    = regexp.MustCompile(`^byte@(\d+)$`)
	docByteValRE = regexp.MustCompile(`^pt ([0-9a-f]{2}) xor ks\[(\d+)\] ([0-9a-f]{2}) = ct ([0-9a-f]{2})$`)
	docHexRE     = regexp.MustCompile(`^[0-9a-f]+( [0-9a-f]+)*$`)
	strayHexRE   = regexp.MustCompile(`[0-9a-fA-F]{16,}`)
)

// docHex decodes a hex value that may contain single spaces.
func docHex(s string) ([]byte, bool) {
	if !docHexRE.MatchString(s) {
		return nil, false
	}
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	return b, err == nil
}

func TestFormatDocWorkedExample(t *testing.T) {
	in := loadFmtDocVector(t)
	want := fmtDocExpected(t, in)
	lines, prose := formatDocExample(t)

	// Values belong in the checked blocks, not in the prose around them.
	for _, s := range strayHexRE.FindAllString(prose, -1) {
		t.Errorf("FORMAT.md worked example: hex value %q outside a ```v1-vector block is not checked; move it into one", s)
	}

	block, err := aes.NewCipher(in.sk.Enc)
	if err != nil {
		t.Fatal(err)
	}
	keystream := func(seg int, off int64) []byte {
		ctr := CounterBlock(in.segs[seg].IV, off)
		ks := make([]byte, 16)
		block.Encrypt(ks, ctr[:])
		return ks
	}
	// segOf checks the segment a line names and returns it.
	segOf := func(l docLine, segStr string, off int64) (int, bool) {
		n, _ := strconv.Atoi(segStr)
		if off >= int64(len(in.plain)) {
			t.Errorf("FORMAT.md:%d: %s: offset %d is past the upload's end", l.line, l.name, off)
			return 0, false
		}
		if got := FindSegment(in.segs, off); got != n {
			t.Errorf("FORMAT.md:%d: %s: offset %d is in segment %d, not %d", l.line, l.name, off, got, n)
			return 0, false
		}
		return n, true
	}

	seen := map[string]bool{}
	for _, l := range lines {
		if seen[l.name] {
			t.Errorf("FORMAT.md:%d: %s stated twice", l.line, l.name)
			continue
		}
		seen[l.name] = true
		if m := docCounterRE.FindStringSubmatch(l.name); m != nil {
			off, _ := strconv.ParseInt(m[3], 10, 64)
			n, ok := segOf(l, m[1], off)
			if !ok {
				continue
			}
			got, ok := docHex(l.value)
			if !ok {
				t.Errorf("FORMAT.md:%d: %s: not lower-case hex: %q", l.line, l.name, l.value)
				continue
			}
			ctr := CounterBlock(in.segs[n].IV, off)
			if !bytes.Equal(ctr[:], counterRef(in.segs[n].IV, off)) {
				t.Errorf("CounterBlock(seg%d, %d) = %x, reference %x", n, off, ctr, counterRef(in.segs[n].IV, off))
			}
			exp := ctr[:]
			if m[2] == "keystream" {
				exp = keystream(n, off)
			}
			if !bytes.Equal(got, exp) {
				t.Errorf("FORMAT.md:%d: %s = %x, want %x", l.line, l.name, got, exp)
			}
			continue
		}
		if m := docByteRE.FindStringSubmatch(l.name); m != nil {
			off, _ := strconv.ParseInt(m[1], 10, 64)
			n, ok := segOf(l, strconv.Itoa(FindSegment(in.segs, off)), off)
			if !ok {
				continue
			}
			vm := docByteValRE.FindStringSubmatch(l.value)
			if vm == nil {
				t.Errorf("FORMAT.md:%d: %s: want `pt XX xor ks[I] YY = ct ZZ`, got %q", l.line, l.name, l.value)
				continue
			}
			ks := keystream(n, off)
			exp := fmt.Sprintf("pt %02x xor ks[%d] %02x = ct %02x", in.plain[off], off%16, ks[off%16], in.ct[off])
			if l.value != exp {
				t.Errorf("FORMAT.md:%d: %s: %q, want %q", l.line, l.name, l.value, exp)
			}
			continue
		}
		w, ok := want[l.name]
		if !ok {
			t.Errorf("FORMAT.md:%d: %s is not a value the test knows how to check", l.line, l.name)
			continue
		}
		switch w.kind {
		case "hex":
			got, ok := docHex(l.value)
			if !ok {
				t.Errorf("FORMAT.md:%d: %s: not lower-case hex: %q", l.line, l.name, l.value)
			} else if hex.EncodeToString(got) != w.value {
				t.Errorf("FORMAT.md:%d: %s:\n doc %x\nwant %s", l.line, l.name, got, w.value)
			}
		default:
			if l.value != w.value {
				t.Errorf("FORMAT.md:%d: %s:\n doc %s\nwant %s", l.line, l.name, l.value, w.value)
			}
		}
	}
	var missing []string
	for name := range want {
		if !seen[name] {
			missing = append(missing, name)
		}
	}
	// The counter lines that show the carry and the mid-block segment start.
	for _, name := range []string{"seg0.counter@0", "seg0.counter@16", "seg0.counter@32", "seg1.counter@37", "seg1.keystream@37"} {
		if !seen[name] {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	for _, name := range missing {
		t.Errorf("FORMAT.md worked example does not state %s", name)
	}

	// What the prose around the counters claims about the vector.
	if c := CounterBlock(in.segs[0].IV, 32); bytes.Equal(c[:8], in.segs[0].IV[:8]) {
		t.Error("vector: segment 0's counter at offset 32 does not carry into the high 64 bits")
	}
	if len(in.segs) != 2 || in.segs[1].Off != 37 || len(in.plain) != 100 {
		t.Error("vector: expected two segments (0 and 37) over 100 bytes, as FORMAT.md describes")
	}

	// The keyring.json line is a keyring this package loads.
	for _, l := range lines {
		if l.name != "keyring.json" {
			continue
		}
		p := filepath.Join(t.TempDir(), "keyring.json")
		if err := os.WriteFile(p, []byte(l.value), 0o600); err != nil {
			t.Fatal(err)
		}
		kr, err := LoadKeyring(p)
		if err != nil {
			t.Errorf("FORMAT.md:%d: keyring.json does not load: %v", l.line, err)
			continue
		}
		if kek, err := kr.KEK(in.v.Kid); err != nil || !bytes.Equal(kek, in.kek) || kr.Primary != in.v.Kid {
			t.Errorf("FORMAT.md:%d: keyring.json does not hold kek under kid %q as primary", l.line, in.v.Kid)
		}
	}
}

// pythonWithCryptography returns the python3 that runs the reference
// decryptors, or skips the test when there is none with the cryptography
// package.
func pythonWithCryptography(t *testing.T) string {
	t.Helper()
	// make test sets TUSVAULT_PYTHON_REQUIRED (and installs the package):
	// there, a missing Python fails instead of skipping.
	skip := t.Skip
	if os.Getenv("TUSVAULT_PYTHON_REQUIRED") != "" {
		skip = t.Fatal
	}
	py, err := exec.LookPath("python3")
	if err != nil {
		skip("python3 not found")
	}
	if err := exec.Command(py, "-c", "import cryptography").Run(); err != nil {
		skip("python3 has no cryptography package")
	}
	return py
}

// formatDocPython returns the one ```python block of FORMAT.md.
func formatDocPython(t *testing.T) string { return pythonBlock(t, formatDocPath) }

// pythonBlock returns the one ```python block, the reference decryptor, of
// the markdown file at path.
func pythonBlock(t *testing.T, path string) string {
	t.Helper()
	blocks := markdownBlocks(t, path, "python")
	if len(blocks) != 1 {
		t.Fatalf("%s has %d ```python blocks, want exactly 1 (the reference decryptor)", path, len(blocks))
	}
	return blocks[0]
}

// tempWriter returns a function that writes a file into a fresh temporary
// directory and returns its path.
func tempWriter(t *testing.T) func(name string, b []byte) string {
	dir := t.TempDir()
	return func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
}

// TestFormatDocPythonReference runs the reference decryptor printed in
// FORMAT.md on the v1 vector laid out as tusvault stores it: it must
// output the plaintext, whole and for a range across the segment boundary
// (decrypted once the whole object verified), and nothing at all once the
// ciphertext is altered.
func TestFormatDocPythonReference(t *testing.T) {
	script := formatDocPython(t)
	in := loadFmtDocVector(t)
	py := pythonWithCryptography(t)

	write := tempWriter(t)
	kr, err := json.Marshal(keyringFile{V: 1, Primary: in.v.Kid,
		Keys: map[string]string{in.v.Kid: base64.StdEncoding.EncodeToString(in.kek)}})
	if err != nil {
		t.Fatal(err)
	}
	// The .info of the finished vector upload, shaped as the store writes it.
	info, err := json.MarshalIndent(map[string]any{
		"ID": in.v.UploadID, "Size": len(in.plain), "SizeIsDeferred": false,
		"Offset": len(in.plain), "IsFinal": false, "IsPartial": false,
		"Storage": map[string]string{"Type": "disk", "Key": in.v.UploadID},
		"Enc": map[string]any{
			"V": Version, "Alg": Alg, "Kid": in.v.Kid, "WrappedDEK": in.wrapped,
			"PartSize": in.v.PartSize, "Segments": in.segs,
			"Committed": len(in.plain), "TailLen": 0, "Seq": in.v.StateSeq,
			"MacState": in.sealed, "Meta": in.meta, "Tag": in.tag,
		},
	}, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	scriptPath := write("tv_decrypt.py", []byte(script))
	krPath, infoPath := write("keyring.json", kr), write(in.v.UploadID+".info", info)

	run := func(data []byte, args ...string) ([]byte, string, error) {
		dataPath := write(in.v.UploadID, data)
		cmd := exec.Command(py, append([]string{scriptPath, krPath, infoPath, dataPath}, args...)...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return stdout.Bytes(), stderr.String(), err
	}
	out, stderr, err := run(in.ct)
	if err != nil {
		t.Fatalf("reference decryptor failed: %v\n%s", err, stderr)
	}
	if !bytes.Equal(out, in.plain) {
		t.Errorf("reference decryptor output:\n got %x\nwant %x", out, in.plain)
	}
	const rangeOff, rangeLen = 30, 20 // segment 0's end, segment 1's start (37)
	out, stderr, err = run(in.ct, strconv.Itoa(rangeOff), strconv.Itoa(rangeLen))
	if err != nil || !bytes.Equal(out, in.plain[rangeOff:rangeOff+rangeLen]) {
		t.Errorf("reference decryptor, range %d+%d: err %v (%s), got %x, want %x",
			rangeOff, rangeLen, err, stderr, out, in.plain[rangeOff:rangeOff+rangeLen])
	}
	// Byte 50 is outside the range: a v1 range is decrypted only once the
	// whole object verified.
	for name, data := range map[string][]byte{
		"flipped byte": func() []byte { b := bytes.Clone(in.ct); b[50] ^= 1; return b }(),
		"truncated":    in.ct[:len(in.ct)-1],
		"extended":     append(bytes.Clone(in.ct), 0),
	} {
		for _, args := range [][]string{nil, {strconv.Itoa(rangeOff), strconv.Itoa(rangeLen)}} {
			out, _, err := run(data, args...)
			if err == nil || len(out) != 0 {
				t.Errorf("%s %v: reference decryptor exited with %v and wrote %d bytes; want failure and no output", name, args, err, len(out))
			}
		}
	}
}

// formatDocBlocks returns the contents of every code block of FORMAT.md
// whose info string is lang, in order.
func formatDocBlocks(t *testing.T, lang string) []string {
	return markdownBlocks(t, formatDocPath, lang)
}

// markdownBlocks returns the bodies of the ```lang code blocks of the
// markdown file at path.
func markdownBlocks(t *testing.T, path, lang string) []string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var blocks []string
	var cur *strings.Builder
	for _, l := range strings.Split(string(raw), "\n") {
		switch {
		case cur == nil && strings.TrimSpace(l) == "```"+lang:
			cur = &strings.Builder{}
		case cur != nil && strings.HasPrefix(l, "```"):
			blocks = append(blocks, cur.String())
			cur = nil
		case cur != nil:
			cur.WriteString(l + "\n")
		}
	}
	return blocks
}

// fmtDocInfo is the v1 .info document as FORMAT.md section 6 describes it;
// decoding the sample with unknown fields disallowed checks that the
// sample holds no field the section does not explain.
type fmtDocInfo struct {
	ID             string
	Size           int64
	SizeIsDeferred bool
	Offset         int64
	IsFinal        bool
	IsPartial      bool
	Storage        map[string]string
	MultipartID    string
	Enc            struct {
		V          int
		Alg        string
		Kid        string
		WrappedDEK []byte
		PartSize   int64
		Segments   []Segment
		Committed  int64
		TailLen    int64
		Seq        uint64
		MacState   []byte
		Meta       []byte
		Tag        []byte
	}
}

// TestFormatDocSample decrypts the real upload shown in FORMAT.md
// (keyring of section 4, .info and data object of section 6) with this
// package, and checks what section 18 says about the sealed MAC state.
func TestFormatDocSample(t *testing.T) {
	var keyringJSON, infoJSON string
	for _, b := range formatDocBlocks(t, "json") {
		switch {
		case strings.Contains(b, `"primary"`):
			keyringJSON = b
		case strings.Contains(b, `"Enc"`):
			infoJSON = b
		}
	}
	samples := formatDocBlocks(t, "sample")
	if keyringJSON == "" || infoJSON == "" || len(samples) != 1 {
		t.Fatalf("FORMAT.md: want a keyring json block, an .info json block and one sample block")
	}
	vals := map[string]string{}
	for _, l := range strings.Split(samples[0], "\n") {
		if m := docLineRE.FindStringSubmatch(l); m != nil {
			vals[m[1]] = m[2]
		}
	}
	data, ok := docHex(vals["data_object"])
	var plain string
	if err := json.Unmarshal([]byte(vals["plaintext"]), &plain); err != nil || !ok {
		t.Fatalf("FORMAT.md sample block: bad data_object or plaintext (%v)", err)
	}

	p := filepath.Join(t.TempDir(), "keyring.json")
	if err := os.WriteFile(p, []byte(keyringJSON), 0o600); err != nil {
		t.Fatal(err)
	}
	kr, err := LoadKeyring(p)
	if err != nil {
		t.Fatalf("FORMAT.md keyring sample: %v", err)
	}
	var info fmtDocInfo
	dec := json.NewDecoder(strings.NewReader(infoJSON))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&info); err != nil {
		t.Fatalf("FORMAT.md .info sample: %v", err)
	}
	e := &info.Enc
	if e.V != Version || e.Alg != Alg || info.Storage["Key"] != info.ID ||
		info.Offset != e.Committed+e.TailLen || e.Committed != info.Size || e.Tag == nil {
		t.Errorf("FORMAT.md .info sample is not a finished v1 upload as section 6 describes: %+v", info)
	}
	if err := ValidateSegments(e.Segments); err != nil {
		t.Error(err)
	}

	kek, err := kr.KEK(e.Kid)
	if err != nil {
		t.Fatal(err)
	}
	dek, err := UnwrapDEK(kek, e.WrappedDEK, info.ID, e.Kid)
	if err != nil {
		t.Fatalf("sample: %v", err)
	}
	sk, err := DeriveSubkeys(dek)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(data)) != info.Size {
		t.Fatalf("sample data object is %d bytes, .info says %d", len(data), info.Size)
	}
	trailer := Trailer(info.ID, e.PartSize, e.Segments, info.Size)
	m := NewMAC(sk.MAC)
	m.Write(data)
	if !TagEqual(m.Tag(trailer), e.Tag) {
		t.Error("sample: tag does not verify")
	}
	c, err := NewCipher(sk.Enc, e.Segments)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(data))
	c.XORAt(got, data, 0)
	if string(got) != plain {
		t.Errorf("sample decrypts to %q, FORMAT.md says %q", got, plain)
	}
	meta, err := OpenMeta(sk.Meta, e.Meta, info.ID)
	if err != nil || string(meta) != vals["meta_json"] {
		t.Errorf("sample Meta opens to %q (%v), FORMAT.md says %q", meta, err, vals["meta_json"])
	}

	// Section 9: the state is "sha\x03" ‖ H0..H7 ‖ 64-byte block buffer ‖
	// u64 L, with L = 64 + Committed and the pending input being the last
	// L mod 64 bytes fed (here: ciphertext); resuming it gives the tag.
	state, err := OpenState(sk.State, e.MacState, info.ID, e.Committed, e.Seq)
	if err != nil {
		t.Fatalf("sample MacState: %v", err)
	}
	if len(state) != StateSize || string(state[:4]) != "sha\x03" {
		t.Fatalf("sample MacState: %d bytes starting %q", len(state), state[:min(4, len(state))])
	}
	l := binary.BigEndian.Uint64(state[100:])
	if l != uint64(64+e.Committed) {
		t.Errorf("sample MacState: L = %d, FORMAT.md says 64 + Committed = %d", l, 64+e.Committed)
	}
	pending := int(l % 64)
	if pending <= len(data) && (!bytes.Equal(state[36:36+pending], data[len(data)-pending:]) ||
		!bytes.Equal(state[36+pending:100], make([]byte, 64-pending))) {
		t.Error("sample MacState: block buffer is not the pending ciphertext followed by zeros")
	}
	rm, err := ResumeMAC(sk.MAC, state)
	if err != nil {
		t.Fatal(err)
	}
	if !TagEqual(rm.Tag(trailer), e.Tag) {
		t.Error("sample: resumed MAC state does not give the tag")
	}
}
