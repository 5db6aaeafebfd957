package loadgen

import (
	"bytes"
	"io"
	"testing"
)

func TestContent(t *testing.T) {
	c := Content{Seed: 9, Size: 3*contentBlock + 1234}
	whole, err := io.ReadAll(c.Reader(0))
	if err != nil || int64(len(whole)) != c.Size {
		t.Fatalf("read %d bytes, %v", len(whole), err)
	}
	// Any offset, odd read sizes: the same bytes.
	for _, off := range []int64{0, 1, 4095, contentBlock - 1, contentBlock, contentBlock + 1, 2*contentBlock + 777, c.Size - 1, c.Size} {
		r := c.Reader(off)
		var got []byte
		buf := make([]byte, 5000)
		for i := 1; i < 1000; i++ {
			n, err := r.Read(buf[:1+i*131%len(buf)])
			got = append(got, buf[:n]...)
			if err == io.EOF {
				break
			}
		}
		if !bytes.Equal(got, whole[off:]) {
			t.Errorf("from %d: %d bytes differ from the whole read's", off, len(got))
		}
	}
	if n, _ := io.ReadAll(c.Reader(c.Size + 5)); len(n) != 0 {
		t.Errorf("past the end: %d bytes", len(n))
	}
	if n, _ := io.ReadAll(c.Reader(-3)); !bytes.Equal(n, whole) {
		t.Error("negative offset: not read from 0")
	}
	other, _ := io.ReadAll(Content{Seed: 10, Size: c.Size}.Reader(0))
	if bytes.Equal(other, whole) {
		t.Error("seeds 9 and 10 give the same content")
	}
	// Blocks differ from each other.
	if bytes.Equal(whole[:contentBlock], whole[contentBlock:2*contentBlock]) {
		t.Error("blocks 0 and 1 are equal")
	}
	if n, err := io.ReadAll(Content{Seed: 1}.Reader(0)); len(n) != 0 || err != nil {
		t.Errorf("empty content: %d bytes, %v", len(n), err)
	}
}
