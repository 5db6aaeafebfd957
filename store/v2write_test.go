package store_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/tusvault/tusvault/internal/tusclient"
	"github.com/tusvault/tusvault/internal/v2tamper"
	"github.com/tusvault/tusvault/store"
	"github.com/tusvault/tusvault/store/crypt"
)

// storedV2 reads back what the store holds of an unfinished v2 upload:
// the committed parts then the tail fragments (ciphertext), the tag
// objects then TailTags, and a cipher over its segments.
func storedV2(t *testing.T, ts *testServer, id string) (ct, tags []byte, c *crypt.ChunkCipher, offset int64) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(ts.Dir, id+".info"))
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		Offset      int64
		MultipartID string
		Enc         struct {
			Kid                  string
			WrappedDEK, TailTags []byte
			PartSize, Committed  int64
			Segments             []crypt.Segment
			Tail                 []struct{ Name string }
		}
	}
	if err := json.Unmarshal(raw, &info); err != nil {
		t.Fatal(err)
	}
	e := info.Enc
	read := func(path string, skip int) []byte {
		t.Helper()
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return b[skip:]
	}
	for p := int64(1); p <= (e.Committed+e.PartSize-1)/e.PartSize; p++ {
		ct = append(ct, read(filepath.Join(ts.Dir, ".tusvault", "multipart", info.MultipartID, fmt.Sprintf("%05d", p)), 41)...)
		tags = append(tags, read(filepath.Join(ts.Dir, fmt.Sprintf("%s.tags.%d", id, p)), 0)...)
	}
	for _, f := range e.Tail {
		ct = append(ct, read(filepath.Join(ts.Dir, id+".part."+f.Name), 0)...)
	}
	tags = append(tags, e.TailTags...)
	keys := v2Keys(t, ts, id, e.Kid, e.WrappedDEK)
	if c, err = crypt.NewChunkCipher(keys.Chunk, id, e.Segments); err != nil {
		t.Fatal(err)
	}
	return ct, tags, c, info.Offset
}

// PATCHes of a v2 upload that end anywhere (mid-chunk, on a chunk, one
// byte long, across a part) store chunks whose tags, in the tag objects
// of the committed parts and TailTags, open them to the plaintext: the
// interim tag of a chunk a request ends in, the one of a chunk completed
// later, over pieces of several requests.
func TestFormatV2Patches(t *testing.T) {
	for _, cache := range []int64{0, -1} { // the tail cache on, then off
		ts := newTestServerWith(t, 4, func(c *store.Config) {
			store.SetFormatV2(c)
			c.TailCacheBytes = cache
		})
		ctx := context.Background()
		data := randomBytes(51, 12*mib)
		u, err := ts.Client.Create(ctx, ts.URL, int64(len(data)), nil)
		if err != nil {
			t.Fatal(err)
		}
		id := tusclient.UploadID(u)
		var off int64
		for _, n := range []int64{100000, 1, 65536, 65535, 3 * mib, 2*mib + 12345} {
			if _, err := ts.Client.Patch(ctx, u, off, bytes.NewReader(data[off:off+n]), n); err != nil {
				t.Fatalf("PATCH of %d bytes at %d: %v", n, off, err)
			}
			off += n
			ct, tags, c, offset := storedV2(t, ts, id)
			if offset != off || int64(len(ct)) != off || int64(len(tags)) != crypt.ChunkCount(off)*crypt.ChunkTagSize {
				t.Fatalf("after %d bytes: offset %d, %d bytes and %d tags stored", off, offset, len(ct), len(tags)/crypt.ChunkTagSize)
			}
			for i := int64(0); i < crypt.ChunkCount(off); i++ {
				start := crypt.ChunkStart(i)
				end := min(start+crypt.ChunkSize, off)
				sealed := append(bytes.Clone(ct[start:end]), tags[i*crypt.ChunkTagSize:(i+1)*crypt.ChunkTagSize]...)
				plain, err := c.OpenChunk(sealed, i, false)
				if err != nil || !bytes.Equal(plain, data[start:end]) {
					t.Fatalf("cache %d, after %d bytes: chunk %d does not open to its plaintext: %v", cache, off, i, err)
				}
			}
		}
	}
}

// finishedV2 verifies a finished v2 upload as a reader of
// docs/FORMAT.md would, from the data object, the tag objects and
// .info: the object-level tag, every chunk, the digest of the tags; and
// returns its plaintext.
func finishedV2(t *testing.T, ts *testServer, id string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(ts.Dir, id+".info"))
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		Size        int64
		MultipartID string
		Enc         struct {
			Kid                          string
			WrappedDEK, Tag, TagsSHA256  []byte
			TagState, TailTags, MacState []byte
			PartSize                     int64
			Segments                     []crypt.Segment
		}
	}
	if err := json.Unmarshal(raw, &info); err != nil {
		t.Fatal(err)
	}
	e := info.Enc
	if e.Tag == nil || e.TagState != nil || e.TailTags != nil || e.MacState != nil || info.MultipartID != "" {
		t.Fatalf("finished .info: %s", raw)
	}
	keys := v2Keys(t, ts, id, e.Kid, e.WrappedDEK)
	if err := crypt.CheckObjectTag(keys.Tag, id, e.PartSize, info.Size, e.TagsSHA256, e.Tag); err != nil {
		t.Fatalf("object tag: %v", err)
	}
	var tags []byte
	for p := int64(1); p <= (info.Size+e.PartSize-1)/e.PartSize; p++ {
		b, err := os.ReadFile(filepath.Join(ts.Dir, fmt.Sprintf("%s.tags.%d", id, p)))
		if err != nil {
			t.Fatal(err)
		}
		tags = append(tags, b...)
	}
	if !bytes.Equal(crypt.TagsDigest(tags), e.TagsSHA256) {
		t.Fatal("the tag objects do not match TagsSHA256")
	}
	data, err := os.ReadFile(filepath.Join(ts.Dir, id))
	if err != nil {
		t.Fatal(err)
	}
	if info.Size == 0 {
		return data
	}
	c, err := crypt.NewChunkCipher(keys.Chunk, id, e.Segments)
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.OpenRange(bytes.NewReader(data), bytes.NewReader(tags), 0, info.Size, info.Size)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := out.ReadFrom(r); err != nil {
		t.Fatalf("reading the upload: %v", err)
	}
	return out.Bytes()
}

// A v2 upload sent in PATCHes that end anywhere completes into a data
// object, tag objects and an object-level tag that a reader of the format
// verifies.
func TestFormatV2Complete(t *testing.T) {
	ts := newTestServerWith(t, 4, store.SetFormatV2)
	for _, tc := range []struct {
		size   int
		pieces []int
	}{
		{0, nil},
		{1, nil},
		{11*mib + 17, []int{100000, 1, 65536, 3 * mib}},
		{10 * mib, []int{5 * mib}},
	} {
		data := randomBytes(uint64(53+tc.size), tc.size)
		u := ts.upload(t, data, tc.pieces...)
		if got := finishedV2(t, ts, tusclient.UploadID(u)); !bytes.Equal(got, data) {
			t.Fatalf("upload of %d bytes: read back %d bytes that differ", tc.size, len(got))
		}
	}
}

// A length declared by a PATCH without data: after data that ended inside
// a chunk of the tail, that request re-seals the stored last chunk as
// final (after verifying it) and sends the tail as the last part; after
// data that ended on a part boundary, completion re-seals it from the
// data object and rewrites the last tag object.
func TestFormatV2DeferredLength(t *testing.T) {
	ts := newTestServerWith(t, 4, store.SetFormatV2)
	ctx := context.Background()
	for _, n := range []int{100000, 5 * mib, 5*mib + crypt.ChunkSize} {
		data := randomBytes(uint64(n), n)
		u, err := ts.Client.Create(ctx, ts.URL, -1, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ts.Client.Patch(ctx, u, 0, bytes.NewReader(data), int64(len(data))); err != nil {
			t.Fatal(err)
		}
		if status := declareLength(t, ts, u, int64(len(data))); status != http.StatusNoContent {
			t.Fatalf("%d bytes: the PATCH declaring the length: status %d", n, status)
		}
		if got := finishedV2(t, ts, tusclient.UploadID(u)); !bytes.Equal(got, data) {
			t.Fatalf("%d bytes: read back %d bytes that differ", n, len(got))
		}
	}
}

// A request that would complete a chunk over a stored prefix whose
// interim tag does not match it (TailTags altered in .info) is refused
// before it stores anything: the server never seals altered bytes into
// a valid tag.
func TestFormatV2AlteredInterimTag(t *testing.T) {
	ts := newTestServerWith(t, 4, store.SetFormatV2)
	ctx := context.Background()
	data := randomBytes(54, 200000)
	u, err := ts.Client.Create(ctx, ts.URL, int64(len(data)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Client.Patch(ctx, u, 0, bytes.NewReader(data[:100000]), 100000); err != nil {
		t.Fatal(err)
	}
	// A bit of the interim tag, the last byte of TailTags.
	path := filepath.Join(ts.Dir, tusclient.UploadID(u)+".info")
	if err := v2tamper.EditInfo(path, func(_, enc map[string]any) error { return v2tamper.FlipBase64(enc, "TailTags", -1) }); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Client.Patch(ctx, u, 100000, bytes.NewReader(data[100000:]), 100000); tusclient.Status(err) != http.StatusInternalServerError {
		t.Fatalf("PATCH over an altered interim tag: %v, want 500", err)
	}
	if off, _, err := ts.Client.Head(ctx, u); err != nil || off != 100000 {
		t.Fatalf("after the refused PATCH: offset %d, %v", off, err)
	}
}

// v2Keys unwraps a v2 upload's DEK with ts's keyring and derives its
// subkeys, as a reader of docs/FORMAT.md would.
func v2Keys(t *testing.T, ts *testServer, id, kid string, wrapped []byte) crypt.SubkeysV2 {
	t.Helper()
	kek, err := ts.Keyring.KEK(kid)
	if err != nil {
		t.Fatal(err)
	}
	dek, err := crypt.UnwrapDEKV2(kek, wrapped, id, kid)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := crypt.DeriveSubkeysV2(dek)
	if err != nil {
		t.Fatal(err)
	}
	return keys
}
