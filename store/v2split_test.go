package store_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc64"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tusvault/tusvault/internal/tusclient"
	"github.com/tusvault/tusvault/store"
	"github.com/tusvault/tusvault/store/crypt"
)

// patchSchedule is how a client sends an upload: PATCHes of sizes, the
// last one repeated, at most maxPatches of them before the rest goes in
// one; head, if not nil, says whether the client asks HEAD for the offset
// before request i; cut, if not nil, says after how many bytes request
// i's body breaks off (negative: it does not), after which the client
// asks HEAD where to resume.
type patchSchedule struct {
	sizes []int
	head  func(i int) bool
	cut   func(i int) int
}

// always asks HEAD before every request.
func always(int) bool { return true }

// maxPatches bounds the requests of a schedule.
const maxPatches = 48

var errBodyCut = errors.New("the body breaks off here")

// send uploads data to u by the schedule and returns how many of the
// requests whose body broke off stored some of it (the server keeps what
// arrived).
func (p patchSchedule) send(t *testing.T, ts *testServer, u string, data []byte) (kept int) {
	t.Helper()
	ctx := context.Background()
	total := int64(len(data))
	var off int64
	for i := 0; off < total; i++ {
		if i == 4*maxPatches {
			t.Fatalf("%d requests did not send the upload", i)
		}
		if p.head != nil && p.head(i) || i > 0 && p.cut != nil {
			o, _, err := ts.Client.Head(ctx, u)
			if err != nil || o < off || o > total {
				t.Fatalf("request %d: HEAD: offset %d, %v; sent up to %d", i, o, err, off)
			}
			if o > off {
				kept++ // bytes of a request that broke off
			}
			off = o
			if off == total {
				break
			}
		}
		n := total - off
		if i < maxPatches {
			n = min(n, int64(p.sizes[min(i, len(p.sizes)-1)]))
		}
		if k := p.cutAt(i); k >= 0 && k < n {
			body := &brokenBody{r: bytes.NewReader(data[off : off+k]), encrypted: &ts.Store.Stats().EncryptedBytes}
			body.want = body.encrypted.Load() + k - brokenSlack
			if _, err := ts.Client.Patch(ctx, u, off, body, n); err == nil {
				t.Fatalf("request %d: a PATCH whose body broke off succeeded", i)
			}
			if body.stalled {
				t.Fatalf("request %d: the store did not get %d bytes of a body that then broke off", i, k-brokenSlack)
			}
			continue
		}
		got, err := ts.Client.Patch(ctx, u, off, bytes.NewReader(data[off:off+n]), n)
		if status := tusclient.Status(err); p.cut != nil && (status == http.StatusConflict || status == http.StatusBadRequest && strings.Contains(err.Error(), "ERR_UPLOAD_INTERRUPTED")) {
			// The server went on with a broken-off request after the
			// HEAD: ask again.
			continue
		}
		if err != nil || got != off+n {
			t.Fatalf("request %d: PATCH of %d bytes at %d: offset %d, %v", i, n, off, got, err)
		}
		off = got
	}
	return kept
}

// cutAt is where request i's body breaks off, or -1.
func (p patchSchedule) cutAt(i int) int64 {
	if p.cut == nil {
		return -1
	}
	return int64(p.cut(i))
}

// brokenBody is a request body that breaks off after r: once the store
// has encrypted all of it but brokenSlack bytes, at least, so that the
// server holds some of them when the connection drops (the client's
// buffer may keep the last ones), it fails.
type brokenBody struct {
	r         *bytes.Reader
	encrypted *atomic.Int64
	want      int64
	// stalled says that the store did not get the bytes in 10 s.
	stalled bool
}

// brokenSlack bounds what the HTTP client may hold back of a body
// (its connection's write buffer, 4 KiB, and more).
const brokenSlack = 16 << 10

func (b *brokenBody) Read(p []byte) (int, error) {
	if b.r.Len() > 0 {
		return b.r.Read(p)
	}
	for deadline := time.Now().Add(10 * time.Second); b.encrypted.Load() < b.want; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			b.stalled = true
			break
		}
	}
	return 0, errBodyCut
}

// checkSplit checks that the finished upload u reads back as data: whole,
// as a reader of the format verifies it (finishedV2), in ranges (at chunk
// and part boundaries, the ends, and random ones drawn from seed) and
// through Decrypt.
func checkSplit(t *testing.T, ts *testServer, u string, data []byte, seed uint64) {
	t.Helper()
	ctx := context.Background()
	id := tusclient.UploadID(u)
	size := int64(len(data))
	ts.mustEqual(t, u, data)
	if got := finishedV2(t, ts, id); !bytes.Equal(got, data) {
		t.Fatalf("the stored objects read back as %d bytes that differ", len(got))
	}
	var out bytes.Buffer
	if err := ts.Store.Decrypt(ctx, id, &out); err != nil || !bytes.Equal(out.Bytes(), data) {
		t.Fatalf("Decrypt: %d bytes, %v", out.Len(), err)
	}
	if size == 0 {
		return
	}
	C := int64(crypt.ChunkSize)
	ranges := [][2]int64{{0, 0}, {C - 1, C}, {5*mib - 1, 5 * mib}, {size - 1, size - 1}}
	r := rand.New(rand.NewPCG(seed, 29))
	for range 5 {
		from := r.Int64N(size)
		ranges = append(ranges, [2]int64{from, from + r.Int64N(min(size, 3*C))})
	}
	for _, rg := range ranges {
		from, to := rg[0], min(rg[1], size-1)
		if from > to {
			continue
		}
		status, body, _, err := ts.Client.Get(ctx, u, fmt.Sprintf("bytes=%d-%d", from, to))
		if err != nil || status != http.StatusPartialContent || !bytes.Equal(body, data[from:to+1]) {
			t.Fatalf("range %d-%d: status %d, %d bytes, %v", from, to, status, len(body), err)
		}
	}
}

// repeated is n PATCHes of size each, then PATCHes of 2 MiB.
func repeated(n, size int) []int {
	s := make([]int, n, n+1)
	for i := range s {
		s[i] = size
	}
	return append(s, 2*mib)
}

// growing is a few 1-byte sizes, then doubling ones up to max.
func growing(max int) []int {
	s := []int{1, 1, 1, 1, 1}
	for n := 2; n <= max; n *= 2 {
		s = append(s, n)
	}
	return s
}

// Any schedule of PATCHes (1 byte, a chunk ± 1, a part ± 1, random sizes,
// resumes from HEAD, bodies that break off) stores a v2 upload that reads
// back byte for byte, whole, in ranges and through Decrypt, with an
// object-level tag and chunk tags a reader of the format verifies.
func TestFormatV2SplitEquivalence(t *testing.T) {
	ts := newTestServerWith(t, 4, store.SetFormatV2)
	const C, P = crypt.ChunkSize, 5 * mib
	small := P + 3*C + 5 // two parts, a short last chunk
	large := 2*P + 17
	random := func(seed uint64, max int) []int {
		r := rand.New(rand.NewPCG(seed, 1))
		s := make([]int, 16, 17)
		for i := range s {
			s[i] = 1 + r.IntN(max)
		}
		return append(s, 2*mib)
	}
	cutRandom := func(seed uint64) func(int) int {
		r := rand.New(rand.NewPCG(seed, 2))
		return func(i int) int {
			if i%2 == 1 {
				return -1
			}
			return 2*brokenSlack + r.IntN(mib)
		}
	}
	for _, tc := range []struct {
		name string
		size int
		p    patchSchedule
	}{
		{"1-byte PATCHes, then growing ones", small, patchSchedule{sizes: growing(2 * mib)}},
		{"1-byte PATCHes across a chunk boundary", small, patchSchedule{sizes: []int{C - 2, 1, 1, 1, 1, 2 * mib}}},
		{"1-byte PATCHes across a part boundary", small, patchSchedule{sizes: []int{P - 2, 1, 1, 1, 1, 2 * mib}}},
		{"a chunk - 1", small, patchSchedule{sizes: repeated(6, C-1)}},
		{"a chunk + 1", small, patchSchedule{sizes: repeated(6, C+1)}},
		{"a chunk - 1 and + 1, with HEADs", small, patchSchedule{sizes: []int{C - 1, C + 1, C - 1, C + 1, C - 1, C + 1, 2 * mib}, head: always}},
		{"a part - 1, then + 1", large, patchSchedule{sizes: []int{P - 1, P + 1}}},
		{"a part + 1, then - 1", large, patchSchedule{sizes: []int{P + 1, P - 1}}},
		{"random sizes, with HEADs", large, patchSchedule{sizes: random(3, 3*mib/2), head: always}},
		{"random small sizes, with HEADs", small, patchSchedule{sizes: random(4, 3*C), head: always}},
		{"bodies that break off, resumed from HEAD", large, patchSchedule{sizes: []int{2 * mib}, cut: cutRandom(5)}},
		{"one PATCH", large, patchSchedule{sizes: []int{large}}},
	} {
		data := randomBytes(uint64(len(tc.name)), tc.size)
		u, err := ts.Client.Create(context.Background(), ts.URL, int64(len(data)), nil)
		if err != nil {
			t.Fatal(err)
		}
		if kept := tc.p.send(t, ts, u, data); tc.p.cut != nil && kept == 0 {
			t.Errorf("%s: no request whose body broke off kept a byte", tc.name)
		}
		t.Run(tc.name, func(t *testing.T) { checkSplit(t, ts, u, data, uint64(len(tc.name))) })
	}
}

// FuzzPatchSchedule sends an upload of up to two parts by a schedule the
// input describes and checks it as TestFormatV2SplitEquivalence does. The
// input: 3 bytes of size (modulo 5 MiB + 4 chunks), then 2 bytes per
// PATCH, (op, v): op&3 picks 1 + v%16 bytes, a chunk + int8(v), up to
// the next part boundary + int8(v), or 1 + v·4099 bytes; op&4 asks HEAD
// first. The last size repeats, for at most maxPatches requests.
func FuzzPatchSchedule(f *testing.F) {
	const C, P = crypt.ChunkSize, 5 * mib
	f.Add([]byte{0x50, 0x00, 0x05, 0, 1, 0, 0, 1, 0xff, 2, 0xfe, 3, 200})
	f.Add([]byte{0x52, 0x34, 0x56, 4, 15, 1, 1, 5, 0x80, 2, 1, 3, 0})
	f.Add([]byte{0x00, 0x00, 0x01})
	f.Add([]byte{0x00, 0xff, 0xff, 1, 0, 0, 3})
	f.Add([]byte{0x50, 0x40, 0x00, 2, 0xff, 0, 0, 0, 0, 2, 0, 7, 100})
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) < 3 {
			return
		}
		size := int(binary.BigEndian.Uint32(append([]byte{0}, in[:3]...))) % (P + 4*C)
		var sizes []int
		var heads []bool
		at := 0
		for ops := in[3:]; len(ops) >= 2 && len(sizes) < maxPatches; ops = ops[2:] {
			op, v := ops[0], int(ops[1])
			n := 0
			switch op & 3 {
			case 0:
				n = 1 + v%16
			case 1:
				n = C + int(int8(v))
			case 2:
				n = P - at%P + int(int8(v))
			case 3:
				n = 1 + v*4099
			}
			n = max(n, 1)
			sizes, heads, at = append(sizes, n), append(heads, op&4 != 0), at+n
		}
		if len(sizes) == 0 {
			sizes, heads = []int{max(size, 1)}, []bool{false}
		}
		ts := newTestServerWith(t, 4, store.SetFormatV2)
		seed := crc64.Checksum(in, crc64.MakeTable(crc64.ECMA))
		data := randomBytes(seed, size)
		u, err := ts.Client.Create(context.Background(), ts.URL, int64(size), nil)
		if err != nil {
			t.Fatal(err)
		}
		p := patchSchedule{sizes: sizes, head: func(i int) bool { return heads[min(i, len(heads)-1)] }}
		p.send(t, ts, u, data)
		checkSplit(t, ts, u, data, seed)
	})
}
