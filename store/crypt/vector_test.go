package crypt

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"testing"
)

type vectorFile struct {
	DEK      string `json:"dek"`
	KEK      string `json:"kek"`
	Kid      string `json:"kid"`
	UploadID string `json:"upload_id"`
	PartSize int64  `json:"part_size"`
	Segments []struct {
		Off int64  `json:"off"`
		IV  string `json:"iv"`
	} `json:"segments"`
	Plaintext      string            `json:"plaintext"`
	MetaJSON       string            `json:"meta_json"`
	StatePlain     string            `json:"state_plain"`
	StateCommitted int64             `json:"state_committed"`
	StateSeq       uint64            `json:"state_seq"`
	Subkeys        map[string]string `json:"subkeys"`
	WrappedDEK     string            `json:"wrapped_dek"`
	Ciphertext     string            `json:"ciphertext"`
	Trailer        string            `json:"trailer"`
	Tag            string            `json:"tag"`
	MetaSealed     string            `json:"meta_sealed"`
	StateSealed    string            `json:"state_sealed"`
}

func b64(t *testing.T, name, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		t.Fatalf("vector %s: %v", name, err)
	}
	return b
}

func TestFormatV1Vector(t *testing.T) {
	raw, err := os.ReadFile("testdata/format-v1-vector.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectorFile
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	dek, kek := b64(t, "dek", v.DEK), b64(t, "kek", v.KEK)
	plain := b64(t, "plaintext", v.Plaintext)
	var segs []Segment
	for _, s := range v.Segments {
		segs = append(segs, Segment{Off: s.Off, IV: b64(t, "iv", s.IV)})
	}
	check := func(name string, got, want []byte) {
		t.Helper()
		if !bytes.Equal(got, want) {
			t.Errorf("%s:\n got %s\nwant %s", name,
				base64.StdEncoding.EncodeToString(got), base64.StdEncoding.EncodeToString(want))
		}
	}

	sk, err := DeriveSubkeys(dek)
	if err != nil {
		t.Fatal(err)
	}
	check("subkey enc", sk.Enc, b64(t, "enc", v.Subkeys["enc"]))
	check("subkey mac", sk.MAC, b64(t, "mac", v.Subkeys["mac"]))
	check("subkey state", sk.State, b64(t, "state", v.Subkeys["state"]))
	check("subkey meta", sk.Meta, b64(t, "meta", v.Subkeys["meta"]))

	wantWrapped := b64(t, "wrapped_dek", v.WrappedDEK)
	wrapped, err := wrapDEK(kek, wantWrapped[:NonceSize], dek, v.UploadID, v.Kid)
	if err != nil {
		t.Fatal(err)
	}
	check("wrapped_dek", wrapped, wantWrapped)
	if len(wrapped) != WrappedDEKSize {
		t.Errorf("wrapped dek is %d bytes, want %d", len(wrapped), WrappedDEKSize)
	}
	got, err := UnwrapDEK(kek, wantWrapped, v.UploadID, v.Kid)
	if err != nil {
		t.Fatal(err)
	}
	check("unwrapped dek", got, dek)

	c, err := NewCipher(sk.Enc, segs)
	if err != nil {
		t.Fatal(err)
	}
	wantCT := b64(t, "ciphertext", v.Ciphertext)
	ct := make([]byte, len(plain))
	c.XORAt(ct, plain, 0)
	check("ciphertext", ct, wantCT)
	check("ciphertext (reference)", refXOR(t, sk.Enc, segs, plain, 0), wantCT)
	pt := make([]byte, len(wantCT))
	c.XORAt(pt, wantCT, 0)
	check("decrypted", pt, plain)

	trailer := Trailer(v.UploadID, v.PartSize, segs, int64(len(plain)))
	check("trailer", trailer, b64(t, "trailer", v.Trailer))
	m := NewMAC(sk.MAC)
	m.Write(ct)
	wantTag := b64(t, "tag", v.Tag)
	check("tag", m.Tag(trailer), wantTag)
	if !TagEqual(m.Tag(trailer), wantTag) {
		t.Error("TagEqual rejects the vector tag")
	}

	metaJSON := []byte(v.MetaJSON)
	wantMeta := b64(t, "meta_sealed", v.MetaSealed)
	sealedMeta, err := sealMeta(sk.Meta, wantMeta[:NonceSize], metaJSON, v.UploadID)
	if err != nil {
		t.Fatal(err)
	}
	check("meta_sealed", sealedMeta, wantMeta)
	gotMeta, err := OpenMeta(sk.Meta, wantMeta, v.UploadID)
	if err != nil {
		t.Fatal(err)
	}
	check("opened meta", gotMeta, metaJSON)

	statePlain := b64(t, "state_plain", v.StatePlain)
	wantState := b64(t, "state_sealed", v.StateSealed)
	sealedState, err := sealState(sk.State, wantState[:NonceSize], statePlain, v.UploadID, v.StateCommitted, v.StateSeq)
	if err != nil {
		t.Fatal(err)
	}
	check("state_sealed", sealedState, wantState)
	gotState, err := OpenState(sk.State, wantState, v.UploadID, v.StateCommitted, v.StateSeq)
	if err != nil {
		t.Fatal(err)
	}
	check("opened state", gotState, statePlain)
}
