package crypt

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"testing"
)

// BenchmarkFormatCrypto compares, on 64 KiB buffers and one goroutine, the
// crypto each format spends per stored (or served) byte: v1's AES-CTR plus
// HMAC-SHA256 (v1-ctr-range: a v1 ranged read, unauthenticated), v2's
// chunk seal and open (a chunk of one request, a partial one, the last one,
// one completed from a stored 32 KiB prefix, opening such a mosaic), the
// alternatives considered for v2 (a: plain GCM per chunk, b: CTR plus a
// GMAC over the ciphertext) and plain SHA-256. Besides ns/op it reports cpu-ns/B, the thread's CPU time
// per byte, which stays meaningful on a loaded machine. Run:
//
//	go test -run '^$' -bench FormatCrypto -count 8 ./store/crypt/
func BenchmarkFormatCrypto(b *testing.B) {
	const n = ChunkSize
	buf := detRand(300, n+ChunkTagSize)[:n]
	key := detRand(301, KeySize)
	segs := []Segment{{Off: 0, IV: detRand(302, IVSize)}}
	v1, err := NewCipher(key, segs)
	if err != nil {
		b.Fatal(err)
	}
	v2, err := NewChunkCipher(key, "bench", segs)
	if err != nil {
		b.Fatal(err)
	}
	block, _ := aes.NewCipher(key)
	gcm, _ := cipher.NewGCM(block)
	nonce := make([]byte, NonceSize)
	out := make([]byte, 0, n+ChunkTagSize)
	sealed, err := v2.SealChunk(append(make([]byte, 0, n+ChunkTagSize), buf...), 0, 0, false, nil)
	if err != nil {
		b.Fatal(err)
	}
	sealed = append([]byte(nil), sealed...)
	work := make([]byte, n+ChunkTagSize)
	// A chunk begun by one request (32 KiB, interim tag) and completed by
	// another.
	two, err := NewChunkCipher(key, "bench", append(segs, Segment{Off: n / 2, IV: detRand(303, IVSize)}))
	if err != nil {
		b.Fatal(err)
	}
	interim, err := two.SealChunk(append(make([]byte, 0, n+ChunkTagSize), buf[:n/2]...), 0, 0, false, nil)
	if err != nil {
		b.Fatal(err)
	}
	interim = append([]byte(nil), interim...)
	mosaic, err := two.SealChunk(append(append(make([]byte, 0, n+ChunkTagSize), interim[:n/2]...), buf[n/2:]...), 0, n/2, false, interim[n/2:])
	if err != nil {
		b.Fatal(err)
	}
	mosaic = append([]byte(nil), mosaic...)

	run := func(name string, f func()) {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(n)
			b.ReportAllocs()
			cpu := startThreadCPU()
			for b.Loop() {
				f()
			}
			if ns, ok := cpu.stop(); ok {
				b.ReportMetric(float64(ns)/float64(b.N)/n, "cpu-ns/B")
			}
		})
	}
	mac := NewMAC(key)
	run("v1-ctr+hmac", func() {
		v1.XORAt(buf, buf, 0)
		mac.Write(buf)
	})
	run("v1-ctr-range", func() { v1.XORAt(buf, buf, 0) })
	run("v2-seal", func() {
		if _, err := v2.SealChunk(buf[:n:n+ChunkTagSize], 0, 0, false, nil); err != nil {
			b.Fatal(err)
		}
	})
	run("v2-open", func() {
		copy(work, sealed)
		if _, err := v2.OpenChunk(work, 0, false); err != nil {
			b.Fatal(err)
		}
	})
	run("v2-partial", func() {
		if _, err := v2.SealChunk(buf[:n-1:n+ChunkTagSize], 0, 0, false, nil); err != nil {
			b.Fatal(err)
		}
	})
	run("v2-final", func() {
		if _, err := v2.SealChunk(buf[:n:n+ChunkTagSize], 0, 0, true, nil); err != nil {
			b.Fatal(err)
		}
	})
	run("v2-complete-32k", func() {
		copy(work, interim[:n/2])
		copy(work[n/2:], buf[n/2:])
		if _, err := two.SealChunk(work[:n], 0, n/2, false, interim[n/2:]); err != nil {
			b.Fatal(err)
		}
	})
	run("v2-open-mosaic", func() {
		copy(work, mosaic)
		if _, err := two.OpenChunk(work, 0, false); err != nil {
			b.Fatal(err)
		}
	})
	run("alt-a-gcm", func() { gcm.Seal(out[:0], nonce, buf, nil) })
	run("alt-b-ctr+gmac", func() {
		v1.XORAt(buf, buf, 0)
		gcm.Seal(out[:0], nonce, nil, buf)
	})
	// The open benchmarks restore the ciphertext with this copy first.
	run("copy-64k", func() { copy(work, sealed) })
	run("sha256", func() {
		sum := sha256.Sum256(buf)
		buf[0] ^= sum[0]
	})
}
