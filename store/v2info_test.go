package store_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/tusvault/tusvault/internal/tusclient"
	"github.com/tusvault/tusvault/store"
	"github.com/tusvault/tusvault/store/crypt"
)

// v2Info is what these tests read of a .info.
type v2Info struct {
	Offset int64
	Enc    struct {
		V                  int
		Alg, Kid           string
		Layout             int
		MacState, TagState []byte
		Seq                uint64
	}
}

func readV2Info(t *testing.T, ts *testServer, id string) (v2Info, []byte) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(ts.Dir, id+".info"))
	if err != nil {
		t.Fatal(err)
	}
	var info v2Info
	if err := json.Unmarshal(raw, &info); err != nil {
		t.Fatal(err)
	}
	return info, raw
}

// A store switched to format v2 creates v2 uploads (V 2, layout 2, a
// sealed tag state, no MAC state, v2's DEK wrap) that load, take data,
// rewrap and terminate. A v2 .info relabelled v1 does not open.
func TestFormatV2Uploads(t *testing.T) {
	ts := newTestServerWith(t, 4, store.SetFormatV2)
	ctx := context.Background()
	u, err := ts.Client.Create(ctx, ts.URL, 1000, map[string]string{"filename": "a.bin"})
	if err != nil {
		t.Fatal(err)
	}
	id := tusclient.UploadID(u)
	info, raw := readV2Info(t, ts, id)
	e := info.Enc
	if e.V != crypt.V2Version || e.Alg != crypt.V2Alg || e.Layout != 2 || e.MacState != nil || len(e.TagState) == 0 {
		t.Fatalf("created .info: %s", raw)
	}
	if off, size, err := ts.Client.Head(ctx, u); err != nil || off != 0 || size != 1000 {
		t.Fatalf("HEAD: offset %d, size %d, err %v", off, size, err)
	}
	if _, err := ts.Client.Patch(ctx, u, 0, bytes.NewReader(make([]byte, 10)), 10); err != nil {
		t.Fatalf("PATCH of a v2 upload: %v", err)
	}
	if info, raw := readV2Info(t, ts, id); info.Offset != 10 || info.Enc.V != crypt.V2Version || info.Enc.MacState != nil {
		t.Fatalf("after a PATCH: %s", raw)
	}

	// Rewrap under a new primary key, then read it under that key alone.
	old := ts.Keyring.Primary
	kid, err := ts.Keyring.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	if n, err := ts.Store.Rewrap(ctx); err != nil || n != 1 {
		t.Fatalf("Rewrap: n=%d err=%v, want 1", n, err)
	}
	delete(ts.Keyring.Keys, old)
	info, raw = readV2Info(t, ts, id)
	if info.Enc.Kid != kid || info.Enc.V != crypt.V2Version {
		t.Fatalf("after rewrap: %s", raw)
	}
	if _, _, err := ts.Client.Head(ctx, u); err != nil {
		t.Fatalf("HEAD after rewrap: %v", err)
	}

	// Relabelled v1 (with v1's algorithm and a MAC state, so that the
	// shape passes): the v1 DEK wrap AAD does not open it.
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	enc := doc["Enc"].(map[string]any)
	enc["V"], enc["Alg"], enc["MacState"] = crypt.Version, crypt.Alg, enc["TagState"]
	delete(enc, "TagState")
	delete(enc, "TailTags")
	relabelled, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(ts.Dir, id+".info")
	if err := os.WriteFile(path, relabelled, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ts.Client.Head(ctx, u); tusclient.Status(err) != http.StatusInternalServerError {
		t.Fatalf("HEAD of a v2 upload relabelled v1: %v, want 500", err)
	}
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}

	req, err := ts.Client.NewRequest(ctx, http.MethodDelete, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := ts.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, err := os.Stat(path); resp.StatusCode != http.StatusNoContent || !os.IsNotExist(err) {
		t.Fatalf("DELETE: status %d, .info %v", resp.StatusCode, err)
	}
}
