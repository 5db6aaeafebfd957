package e2e

import (
	"bytes"
	"fmt"
	"strconv"
	"testing"
	"time"
)

const MiB = 1 << 20

// byteRange is an inclusive range of an upload of size bytes.
type byteRange struct {
	spec       string
	start, end int64 // inclusive
}

// resolveRange computes what an RFC 9110 server must return for a single
// range spec on size bytes. ok is false for a range that is not
// satisfiable (start at or past the end).
func resolveRange(spec string, size int64) (byteRange, bool) {
	var a, b int64
	r := byteRange{spec: spec}
	switch {
	case len(spec) > 7 && spec[6] == '-':
		n, _ := strconv.ParseInt(spec[7:], 10, 64)
		if n == 0 || size == 0 {
			return r, false
		}
		r.start, r.end = max(0, size-n), size-1
		return r, true
	default:
		if _, err := fmt.Sscanf(spec, "bytes=%d-%d", &a, &b); err == nil {
			if a >= size {
				return r, false
			}
			r.start, r.end = a, min(b, size-1)
			return r, true
		}
		if _, err := fmt.Sscanf(spec, "bytes=%d-", &a); err == nil {
			if a >= size {
				return r, false
			}
			r.start, r.end = a, size-1
			return r, true
		}
	}
	panic("bad range spec " + spec)
}

func TestUnevenPieces(t *testing.T) {
	s := startServer(t, t.TempDir())
	c := newClient()
	pieces := []int64{1, 15, 16, 17, 5*MiB + 3, 64 << 10, 1*MiB + 7, 3*MiB - 5}
	sizes := []int64{0, 1, 17, 5*MiB - 1, 5 * MiB, 5*MiB + 1, 12*MiB + 5}

	for i, size := range sizes {
		t.Run(fmt.Sprintf("size=%d", size), func(t *testing.T) {
			ctx := testCtx(t, 60*time.Second)
			data := randomBytes(uint64(100+i), int(size))
			meta := map[string]string{"filename": fmt.Sprintf("uneven-%d.bin", size), "filetype": "application/octet-stream"}
			u, err := c.Create(ctx, s.Endpoint, size, meta)
			if err != nil {
				t.Fatalf("POST Upload-Length %d: %v", size, err)
			}
			id := uploadID(t, u)
			if off, length, err := c.Head(ctx, u); err != nil || off != 0 || length != size {
				t.Fatalf("HEAD after POST = offset %d, length %d, %v; want 0, %d", off, length, err, size)
			}

			// PATCH in uneven pieces, HEAD after each.
			var starts []int64 // offsets at which PATCHes started
			off := int64(0)
			for k := 0; off < size; k++ {
				if k > 1000 {
					t.Fatal("too many PATCHes")
				}
				n := min(pieces[min(k, len(pieces)-1)], size-off)
				got, err := c.Patch(ctx, u, off, bytes.NewReader(data[off:off+n]), n)
				if err != nil {
					t.Fatalf("PATCH #%d at %d with %d bytes: %v", k, off, n, err)
				}
				if got != off+n {
					t.Fatalf("PATCH #%d at %d with %d bytes: response Upload-Offset %d, want %d", k, off, n, got, off+n)
				}
				starts = append(starts, off)
				off += n
				hOff, hLen, err := c.Head(ctx, u)
				if err != nil || hOff != off || hLen != size {
					t.Fatalf("HEAD after PATCH #%d = offset %d, length %d, %v; want %d, %d", k, hOff, hLen, err, off, size)
				}
			}

			// The .info of a finished upload: v2 (the default), one segment
			// per PATCH at its offset with a distinct 16-byte IV, and a tag.
			info := readInfo(t, s.Dir, id)
			if info.Offset != size || info.Size != size {
				t.Errorf(".info Offset/Size = %d/%d, want %d", info.Offset, info.Size, size)
			}
			if info.Enc.V != 2 || info.Enc.Alg != "A256GCM-C64K" {
				t.Errorf(".info Enc.V/Alg = %d/%q, want 2/A256GCM-C64K", info.Enc.V, info.Enc.Alg)
			}
			if len(info.Enc.Tag) != 32 {
				t.Errorf(".info Enc.Tag has %d bytes, want 32 (the object-level tag) on a finished upload", len(info.Enc.Tag))
			}
			var segOffs []int64
			ivs := map[string]bool{}
			for _, sg := range info.Enc.Segments {
				segOffs = append(segOffs, sg.Off)
				if len(sg.IV) != 16 {
					t.Errorf("segment at %d has a %d-byte IV", sg.Off, len(sg.IV))
				}
				if ivs[string(sg.IV)] {
					t.Errorf("segment at %d reuses an IV", sg.Off)
				}
				ivs[string(sg.IV)] = true
			}
			if fmt.Sprint(segOffs) != fmt.Sprint(starts) && !(len(segOffs) == 0 && len(starts) == 0) {
				t.Errorf(".info segment offsets %v, want one per PATCH at %v", segOffs, starts)
			}

			checkGetFull(t, c, ctx, u, data)

			// Ranged GETs.
			specs := []string{"bytes=0-0", "bytes=10-99", "bytes=40-60", "bytes=-100", fmt.Sprintf("bytes=%d-", size/2+3)}
			if size > 5*MiB-100 {
				// Crosses the 5 MiB part boundary and the PATCH boundary at
				// 5 MiB+52.
				specs = append(specs, fmt.Sprintf("bytes=%d-%d", 5*MiB-100, 5*MiB+100), fmt.Sprintf("bytes=%d-", 5*MiB-1))
			}
			if size > 10*MiB {
				// Crosses the 10 MiB part boundary inside one PATCH, and
				// several PATCH boundaries.
				specs = append(specs, fmt.Sprintf("bytes=%d-%d", 10*MiB-7, 10*MiB+9), fmt.Sprintf("bytes=%d-%d", 5*MiB-3, 7*MiB))
			}
			checkGetRanges(t, c, ctx, u, data, specs)

			checkDecrypt(t, s, id, data)
		})
	}
}
