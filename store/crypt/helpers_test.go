package crypt

import (
	"bytes"
	"crypto/aes"
	"encoding/hex"
	"math/big"
	"math/rand/v2"
	"testing"
)

// refXOR is a deliberately naive reference for the data cipher: for every
// byte it finds its segment by linear scan, computes IV + floor(o/16) mod
// 2^128 with math/big, encrypts that block and XORs byte o%16.
func refXOR(t testing.TB, key []byte, segs []Segment, src []byte, off int64) []byte {
	t.Helper()
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	mod := new(big.Int).Lsh(big.NewInt(1), 128)
	out := make([]byte, len(src))
	for i := range src {
		o := off + int64(i)
		s := -1
		for j := range segs {
			if segs[j].Off <= o {
				s = j
			}
		}
		if s < 0 {
			t.Fatalf("reference: offset %d not covered", o)
		}
		ctr := new(big.Int).SetBytes(segs[s].IV)
		ctr.Add(ctr, big.NewInt(o/16))
		ctr.Mod(ctr, mod)
		var in, ks [16]byte
		ctr.FillBytes(in[:])
		block.Encrypt(ks[:], in[:])
		out[i] = src[i] ^ ks[o%16]
	}
	return out
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// detRand returns deterministic pseudo-random bytes for test inputs.
func detRand(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// carryIVs returns IVs exercising the 128-bit counter's carries: random,
// low 64 bits 0xff..fe and 0xff..ff (carry into the high half) and all ones
// (wrap to zero).
func carryIVs(t testing.TB) map[string][]byte {
	return map[string][]byte{
		"random":   detRand(1, 16),
		"low-fffe": mustHex(t, "0123456789abcdeffffffffffffffffe"),
		"low-ffff": mustHex(t, "0123456789abcdefffffffffffffffff"),
		"all-ones": bytes.Repeat([]byte{0xff}, 16),
	}
}
