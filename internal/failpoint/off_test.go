//go:build !failpoint

package failpoint

import (
	"bytes"
	"io"
	"testing"
)

// Without the tag every hook is inert: Reader hands the body back as it is.
func TestOffIsInert(t *testing.T) {
	if Enabled {
		t.Fatal("Enabled without -tags failpoint")
	}
	body := bytes.NewReader([]byte("abc"))
	if Reader("upload-part", body, 3) != io.ReadSeeker(body) {
		t.Fatal("Reader wrapped the body")
	}
	Hit("upload-part")
	Segment("id", 0, make([]byte, 16))
	ChunkSealed("id", make([]byte, 16), 0, 1, true, []byte("x"), nil)
}
