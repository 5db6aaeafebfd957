// Package backendtest is the conformance suite for store.Backend
// implementations. Every backend (disk, S3) runs it, so that they behave
// alike:
//
//	func TestConformance(t *testing.T) {
//		backendtest.Run(t, func(t *testing.T) store.Backend { ... })
//	}
//
// newBackend is called once per subtest and should return an empty backend
// (a fresh directory, bucket or prefix). Keys used by different subtests do
// not overlap anyway, and List is only called with subtest-specific
// prefixes. Multipart subtests use 5 MiB parts except the last one, as S3
// servers require. All data is deterministic pseudo-random (RandomBytes).
package backendtest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/tusvault/tusvault/store"
)

// Sizes used by the suite.
const (
	KiB = 1 << 10
	MiB = 1 << 20
	// MinPartSize is the smallest part size S3 accepts for all parts but
	// the last.
	MinPartSize = 5 * MiB
)

// RandomBytes returns n deterministic pseudo-random bytes derived from seed:
// the same seed and n give the same bytes on every run and platform.
func RandomBytes(seed uint64, n int) []byte {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	copy(key[8:], "tusvault/backendtest/RandomBytes")
	b := make([]byte, n)
	rand.NewChaCha8(key).Read(b)
	return b
}

// Run runs the conformance suite against the backends newBackend returns.
func Run(t *testing.T, newBackend func(t *testing.T) store.Backend) {
	tests := []struct {
		name string
		fn   func(t *testing.T, b store.Backend)
	}{
		{"PutGetRoundTrip", testPutGet},
		{"GetRange", testGetRange},
		{"PutReplacesAtomically", testPutReplaceAtomic},
		{"HeadSizeAndMeta", testHead},
		{"NotFound", testNotFound},
		{"DeleteIdempotent", testDelete},
		{"KeysWithSlashes", testSlashes},
		{"ListPrefix", testList},
		{"ListStopsOnError", testListError},
		{"Multipart", testMultipart},
		{"MultipartMissingPart", testMultipartMissingPart},
		{"MultipartAbort", testMultipartAbort},
		{"MultipartUnknownID", testMultipartUnknownID},
		{"MultipartOddSizes", testMultipartOddSizes},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newBackend(t))
		})
	}
}

// put stores data under key or fails the test.
func put(t *testing.T, b store.Backend, key string, data []byte) {
	t.Helper()
	if err := b.Put(t.Context(), key, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatalf("Put(%q, %d bytes): %v", key, len(data), err)
	}
}

// Get reads a range of key's object (length < 0: to the end) or fails
// the test.
func Get(t *testing.T, b store.Backend, key string, off, length int64) []byte {
	t.Helper()
	data, err := read(t, b, key, off, length)
	if err != nil {
		t.Fatalf("Get(%q, %d, %d): %v", key, off, length, err)
	}
	return data
}

func read(t *testing.T, b store.Backend, key string, off, length int64) ([]byte, error) {
	rc, err := b.Get(t.Context(), key, off, length)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(rc)
	if cerr := rc.Close(); err == nil {
		err = cerr
	}
	return data, err
}

// wantNotFound fails the test unless err wraps store.ErrObjectNotFound.
func wantNotFound(t *testing.T, err error, what string) {
	t.Helper()
	if !errors.Is(err, store.ErrObjectNotFound) {
		t.Errorf("%s: error %v, want one wrapping store.ErrObjectNotFound", what, err)
	}
}

// equalBytes fails the test if got and want differ, without printing
// megabytes of data.
func equalBytes(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if bytes.Equal(got, want) {
		return
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	t.Errorf("%s: got %d bytes, want %d; first difference at offset %d", what, len(got), len(want), i)
}

// listKeys returns the keys and sizes List reports for prefix.
func listKeys(t *testing.T, b store.Backend, prefix string) ([]string, []int64) {
	t.Helper()
	var keys []string
	var sizes []int64
	err := b.List(t.Context(), prefix, func(oi store.ObjectInfo) error {
		keys = append(keys, oi.Key)
		sizes = append(sizes, oi.Size)
		return nil
	})
	if err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	return keys, sizes
}
