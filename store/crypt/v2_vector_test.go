package crypt

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"testing"
)

// The format v2 known-answer vector, testdata/format-v2-vector.json: four
// chunks written by three requests (at 0, 100000 and 150000), so chunk 0 is
// plain GCM, chunks 1 and 2 are completed by a second request with a
// segment boundary inside, and chunk 3 is the final partial chunk (1000
// bytes). Binary values are hex. The plaintext is not stored: it is
// SHA-256(plaintext_seed ‖ u32 k) for k = 0, 1, … concatenated and cut to
// size. Regenerate (only when the format changes) with
// TUSVAULT_WRITE_V2_VECTOR=1 go test -run TestFormatV2Vector ./store/crypt/.
const v2VectorPath = "testdata/format-v2-vector.json"

type v2Vector struct {
	About         string            `json:"about"`
	KEK           string            `json:"kek"`
	Kid           string            `json:"kid"`
	UploadID      string            `json:"upload_id"`
	DEK           string            `json:"dek"`
	PartSize      int64             `json:"part_size"`
	Size          int64             `json:"size"`
	PlaintextSeed string            `json:"plaintext_seed"`
	Segments      []v2VectorSeg     `json:"segments"`
	MetaJSON      string            `json:"meta_json"`
	Nonces        map[string]string `json:"fixed_gcm_nonces"`

	PlaintextSHA256  string            `json:"plaintext_sha256"`
	Subkeys          map[string]string `json:"subkeys"`
	WrappedDEK       string            `json:"wrapped_dek"`
	MetaSealed       string            `json:"meta_sealed"`
	Chunks           []v2VectorChunk   `json:"chunks"`
	Interim          []v2VectorChunk   `json:"interim_tags"`
	Bytes            []v2VectorByte    `json:"bytes"`
	CiphertextSHA256 string            `json:"ciphertext_sha256"`
	Tags             string            `json:"tags"`
	TagsSHA256       string            `json:"tags_sha256"`
	TagInput         string            `json:"tag_input"`
	Tag              string            `json:"tag"`
}

type v2VectorSeg struct {
	Off int64  `json:"off"`
	IV  string `json:"iv"`
	Key string `json:"key,omitempty"` // output: SegmentKey
}

type v2VectorChunk struct {
	Index       int64  `json:"index"`
	Len         int    `json:"len"`
	Final       bool   `json:"final"`
	SealSegment int    `json:"seal_segment"`
	Nonce       string `json:"nonce"`
	AAD         string `json:"aad"`
	Tag         string `json:"tag"`
	CTHead      string `json:"ciphertext_head,omitempty"` // first 16 bytes
	CTSHA256    string `json:"ciphertext_sha256,omitempty"`
}

// v2VectorByte shows how one byte of the vector is encrypted.
type v2VectorByte struct {
	Off       int64  `json:"off"`
	Chunk     int64  `json:"chunk"`
	Pos       int    `json:"pos"` // position in the chunk
	Segment   int    `json:"segment"`
	PieceFrom int    `json:"piece_from"` // the segment's piece of the chunk, [from, to)
	PieceTo   int    `json:"piece_to"`
	Counter   string `json:"counter_block"` // ChunkNonce(chunk, to, false) ‖ u32 (2 + (pos-from)/16)
	KSIndex   int    `json:"keystream_index"`
	Keystream string `json:"keystream_block"`
	Plain     string `json:"pt"`
	Cipher    string `json:"ct"`
}

// vectorBytes are the offsets the vector details: the first and last byte
// of every segment and chunk boundary.
var vectorBytes = []int64{0, 99_999, 100_000, 131_071, 131_072, 149_999, 150_000, 197_607}

func describeByte(t testing.TB, u *v2Upload, plain []byte, off int64) v2VectorByte {
	t.Helper()
	c := u.cipher(t)
	i, pos := ChunkIndex(off), int(off-ChunkStart(ChunkIndex(off)))
	ps, err := c.pieces(i, ChunkLen(i, u.size))
	if err != nil {
		t.Fatal(err)
	}
	var p piece
	for _, q := range ps {
		if q.from <= pos && pos < q.to {
			p = q
		}
	}
	k, err := c.key(p.seg)
	if err != nil {
		t.Fatal(err)
	}
	var ctr, ks [16]byte
	nonce := pieceNonce(i, p.to)
	copy(ctr[:], nonce[:])
	binary.BigEndian.PutUint32(ctr[NonceSize:], uint32(counterBase+(pos-p.from)/16))
	k.block.Encrypt(ks[:], ctr[:])
	ksi := (pos - p.from) % 16
	if plain[off]^ks[ksi] != u.ct[off] {
		t.Fatalf("byte %d: keystream does not explain the ciphertext", off)
	}
	return v2VectorByte{Off: off, Chunk: i, Pos: pos, Segment: p.seg, PieceFrom: p.from, PieceTo: p.to,
		Counter: hx(ctr[:]), KSIndex: ksi, Keystream: hx(ks[:]), Plain: hx(plain[off : off+1]), Cipher: hx(u.ct[off : off+1])}
}

func v2VectorPlaintext(seed []byte, size int64) []byte {
	var out []byte
	for k := uint32(0); int64(len(out)) < size; k++ {
		sum := sha256.Sum256(binary.BigEndian.AppendUint32(bytes.Clone(seed), k))
		out = append(out, sum[:]...)
	}
	return out[:size]
}

func hx(b []byte) string { return hex.EncodeToString(b) }

func unhex(t testing.TB, name, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("vector %s: %v", name, err)
	}
	return b
}

func defaultV2Vector(t testing.TB) v2Vector {
	return v2Vector{
		About:         "format v2 known-answer vector (docs/FORMAT.md, section 23); binary values hex; see store/crypt/v2_vector_test.go",
		KEK:           hx(detRand(900, KeySize)),
		Kid:           "k-2026",
		UploadID:      "vec-upload-2",
		DEK:           hx(detRand(901, KeySize)),
		PartSize:      10 << 20,
		Size:          3*ChunkSize + 1000,
		PlaintextSeed: hx([]byte("tusvault/v2/vector")),
		Segments: []v2VectorSeg{
			{Off: 0, IV: hx(detRand(902, IVSize))},
			{Off: 100_000, IV: hx(detRand(903, IVSize))},
			{Off: 150_000, IV: hx(detRand(904, IVSize))},
		},
		MetaJSON: `{"filename":"holiday.mp4","filetype":"video/mp4"}`,
		Nonces:   map[string]string{"wrapped_dek": hx(detRand(905, NonceSize)), "meta": hx(detRand(906, NonceSize))},
	}
}

// computeV2Vector fills the outputs of v from its inputs with this package.
func computeV2Vector(t testing.TB, v v2Vector) (v2Vector, *v2Upload, []byte) {
	t.Helper()
	dek, kek := unhex(t, "dek", v.DEK), unhex(t, "kek", v.KEK)
	plain := v2VectorPlaintext(unhex(t, "plaintext_seed", v.PlaintextSeed), v.Size)
	sum := sha256.Sum256(plain)
	v.PlaintextSHA256 = hx(sum[:])
	u := newV2Upload(t, v.UploadID, dek)
	var err error
	v.Subkeys = map[string]string{"chunk": hx(u.sk.Chunk), "tag": hx(u.sk.Tag), "state": hx(u.sk.State), "meta": hx(u.sk.Meta)}
	wrapped, err := wrapDEKV2(kek, unhex(t, "nonce", v.Nonces["wrapped_dek"]), dek, v.UploadID, v.Kid)
	if err != nil {
		t.Fatal(err)
	}
	v.WrappedDEK = hx(wrapped)
	meta, err := sealMeta(u.sk.Meta, unhex(t, "nonce", v.Nonces["meta"]), []byte(v.MetaJSON), v.UploadID)
	if err != nil {
		t.Fatal(err)
	}
	v.MetaSealed = hx(meta)

	v.Interim = nil
	for k, s := range v.Segments {
		end := v.Size
		if k+1 < len(v.Segments) {
			end = v.Segments[k+1].Off
		}
		if int64(len(u.ct)) != s.Off {
			t.Fatalf("vector segment %d starts at %d, upload is at %d", k, s.Off, len(u.ct))
		}
		iv := unhex(t, "iv", s.IV)
		u.patchIV(t, iv, plain[s.Off:end], true, v.Size, false)
		key, err := SegmentKey(u.sk.Chunk, iv)
		if err != nil {
			t.Fatal(err)
		}
		v.Segments[k].Key = hx(key)
		if last := ChunkIndex(end - 1); end < v.Size && ChunkLen(last, end) < ChunkSize {
			v.Interim = append(v.Interim, describeChunk(t, u, last, ChunkLen(last, end), false))
		}
	}
	u.size = v.Size
	v.Chunks = nil
	for i := int64(0); i < ChunkCount(v.Size); i++ {
		v.Chunks = append(v.Chunks, describeChunk(t, u, i, ChunkLen(i, v.Size), i == ChunkCount(v.Size)-1))
	}
	v.Bytes = nil
	for _, o := range vectorBytes {
		v.Bytes = append(v.Bytes, describeByte(t, u, plain, o))
	}
	sum = sha256.Sum256(u.ct)
	v.CiphertextSHA256 = hx(sum[:])
	v.Tags = hx(u.tagBytes())
	digest := TagsDigest(u.tagBytes())
	v.TagsSHA256 = hx(digest)
	v.TagInput = hx(TagInput(v.UploadID, v.PartSize, v.Size, digest))
	tag, err := ObjectTag(u.sk.Tag, v.UploadID, v.PartSize, v.Size, digest)
	if err != nil {
		t.Fatal(err)
	}
	v.Tag = hx(tag)
	return v, u, plain
}

// loadV2Vector reads the vector file.
func loadV2Vector(t testing.TB) v2Vector {
	t.Helper()
	raw, err := os.ReadFile(v2VectorPath)
	if err != nil {
		t.Fatal(err)
	}
	var v v2Vector
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// describeChunk states how chunk i, n bytes long, is sealed in u now.
func describeChunk(t testing.TB, u *v2Upload, i int64, n int, final bool) v2VectorChunk {
	t.Helper()
	c := u.cipher(t)
	ps, err := c.pieces(i, n)
	if err != nil {
		t.Fatal(err)
	}
	aad, err := c.aad(i, n, final, ps, nil)
	if err != nil {
		t.Fatal(err)
	}
	nonce := ChunkNonce(i, n, final)
	ct := u.ct[ChunkStart(i) : ChunkStart(i)+int64(n)]
	sum := sha256.Sum256(ct)
	return v2VectorChunk{
		Index: i, Len: n, Final: final, SealSegment: ps[len(ps)-1].seg,
		Nonce: hx(nonce[:]), AAD: hx(aad), Tag: hx(u.tags[i]),
		CTHead: hx(ct[:min(16, n)]), CTSHA256: hx(sum[:]),
	}
}

func TestFormatV2Vector(t *testing.T) {
	if os.Getenv("TUSVAULT_WRITE_V2_VECTOR") == "1" {
		v, _, _ := computeV2Vector(t, defaultV2Vector(t))
		out, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(v2VectorPath, append(out, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want := loadV2Vector(t)
	got, u, plain := computeV2Vector(t, want)
	gj, _ := json.MarshalIndent(got, "", "  ")
	wj, _ := json.MarshalIndent(want, "", "  ")
	if !bytes.Equal(gj, wj) {
		t.Fatalf("the code no longer reproduces %s:\n%s", v2VectorPath, firstDiff(string(gj), string(wj)))
	}
	// The vector opens: the DEK unwraps (not under v1's AAD), every chunk
	// verifies, and the whole upload reads back.
	kek := unhex(t, "kek", want.KEK)
	wrapped := unhex(t, "wrapped_dek", want.WrappedDEK)
	if dek, err := UnwrapDEKV2(kek, wrapped, want.UploadID, want.Kid); err != nil || hx(dek) != want.DEK {
		t.Fatalf("unwrap: %v", err)
	}
	if _, err := UnwrapDEK(kek, wrapped, want.UploadID, want.Kid); !isAuth(err) {
		t.Fatal("a v2 wrapped DEK unwraps as v1")
	}
	checkV2(t, u, plain)
}

// firstDiff shows the first line where two texts differ.
func firstDiff(a, b string) string {
	al, bl := bytes.Split([]byte(a), []byte("\n")), bytes.Split([]byte(b), []byte("\n"))
	for i := range min(len(al), len(bl)) {
		if !bytes.Equal(al[i], bl[i]) {
			return fmt.Sprintf("line %d:\n got %s\nwant %s", i+1, al[i], bl[i])
		}
	}
	return fmt.Sprintf("lengths differ: %d vs %d lines", len(al), len(bl))
}
