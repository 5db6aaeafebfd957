package crypt

import (
	"io"
	"testing"
)

const benchSize = 32 << 10

func benchCipher(b *testing.B) *Cipher {
	c, err := NewCipher(detRand(200, KeySize), []Segment{{Off: 0, IV: detRand(201, IVSize)}})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

func BenchmarkXORAt(b *testing.B) {
	c := benchCipher(b)
	buf := detRand(202, benchSize)
	b.SetBytes(benchSize)
	b.ReportAllocs()
	var off int64 = 3 // not block aligned
	for b.Loop() {
		c.XORAt(buf, buf, off)
		off += benchSize
	}
}

func BenchmarkReader(b *testing.B) {
	c := benchCipher(b)
	r := c.NewReader(zeroReader{}, 3)
	buf := make([]byte, benchSize)
	b.SetBytes(benchSize)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := io.ReadFull(r, buf); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMAC(b *testing.B) {
	m := NewMAC(detRand(203, KeySize))
	buf := detRand(204, benchSize)
	b.SetBytes(benchSize)
	b.ReportAllocs()
	for b.Loop() {
		m.Write(buf)
	}
}
