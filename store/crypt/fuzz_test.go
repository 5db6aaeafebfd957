package crypt

import (
	"bytes"
	"errors"
	"testing"
	"testing/iotest"
)

// FuzzXORAtSplit checks that encrypting at an offset in one call, in two
// calls split anywhere, and through NewReader all equal the reference, with
// a second segment starting anywhere in the buffer.
func FuzzXORAtSplit(f *testing.F) {
	f.Add([]byte("hello, world: split me somewhere"), []byte("0123456789abcdef"), uint64(0), uint(5), uint(0))
	f.Add(detRand(100, 70), bytes.Repeat([]byte{0xff}, 16), uint64(17), uint(33), uint(20))
	f.Add(detRand(101, 40), mustHex(f, "0123456789abcdefffffffffffffffff"), uint64(15), uint(1), uint(16))
	f.Add([]byte{}, []byte{}, uint64(1<<40), uint(0), uint(0))
	key := detRand(102, KeySize)
	f.Fuzz(func(t *testing.T, data, ivIn []byte, off uint64, split, boundary uint) {
		if len(data) > 4096 {
			data = data[:4096]
		}
		iv := make([]byte, IVSize)
		copy(iv, ivIn)
		iv2 := bytes.Clone(iv)
		iv2[0] ^= 0x80
		base := int64(off % (1 << 50))
		segs := []Segment{{Off: 0, IV: iv}}
		if b := base + int64(boundary%uint(len(data)+1)); b > 0 {
			segs = append(segs, Segment{Off: b, IV: iv2})
		}
		c, err := NewCipher(key, segs)
		if err != nil {
			t.Fatal(err)
		}
		want := refXOR(t, key, segs, data, base)
		got := make([]byte, len(data))
		c.XORAt(got, data, base)
		if !bytes.Equal(got, want) {
			t.Fatal("one-call XORAt differs from reference")
		}
		s := int(split % uint(len(data)+1))
		got = make([]byte, len(data))
		c.XORAt(got[:s], data[:s], base)
		c.XORAt(got[s:], data[s:], base+int64(s))
		if !bytes.Equal(got, want) {
			t.Fatalf("XORAt split at %d differs", s)
		}
		rd := c.NewReader(iotest.OneByteReader(bytes.NewReader(data)), base)
		got = make([]byte, len(data))
		if _, err := rd.Read(got[:0]); err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if _, err := rd.Read(got[i : i+1]); err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(got, want) {
			t.Fatal("NewReader differs")
		}
	})
}

// The genuine values use fixed nonces: the fuzzing engine reruns this setup
// in each worker process, and seeds must match there too.

// FuzzOpenState: garbage never panics and never authenticates; only the one
// genuine sealed value opens, with its own binding data.
func FuzzOpenState(f *testing.F) {
	key := detRand(110, KeySize)
	state := detRand(111, StateSize)
	genuine, err := sealState(key, detRand(112, NonceSize), state, "up", 100, 3)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(genuine, "up", int64(100), uint64(3))
	f.Add(genuine, "up", int64(100), uint64(4))
	f.Add(genuine[:20], "up", int64(100), uint64(3))
	f.Add([]byte{}, "", int64(0), uint64(0))
	f.Add(bytes.Repeat([]byte{0}, 200), "x", int64(-1), uint64(1<<63))
	f.Fuzz(func(t *testing.T, sealed []byte, id string, committed int64, seq uint64) {
		got, err := OpenState(key, sealed, id, committed, seq)
		if bytes.Equal(sealed, genuine) && id == "up" && committed == 100 && seq == 3 {
			if err != nil || !bytes.Equal(got, state) {
				t.Fatalf("genuine state does not open: %v", err)
			}
			return
		}
		if err == nil || got != nil || !errors.Is(err, ErrAuth) {
			t.Fatalf("garbage: got %d bytes, err %v", len(got), err)
		}
	})
}

// FuzzUnwrapDEK: garbage never panics and never authenticates.
func FuzzUnwrapDEK(f *testing.F) {
	kek, dek := detRand(120, KeySize), detRand(121, KeySize)
	genuine, err := wrapDEK(kek, detRand(122, NonceSize), dek, "up", "k-1")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(genuine, "up", "k-1")
	f.Add(genuine, "up", "k-2")
	f.Add(genuine[:59], "up", "k-1")
	f.Add([]byte{}, "", "")
	f.Add(bytes.Repeat([]byte{0xff}, WrappedDEKSize), "up", "k-1")
	f.Fuzz(func(t *testing.T, wrapped []byte, id, kid string) {
		got, err := UnwrapDEK(kek, wrapped, id, kid)
		if bytes.Equal(wrapped, genuine) && id == "up" && kid == "k-1" {
			if err != nil || !bytes.Equal(got, dek) {
				t.Fatalf("genuine dek does not unwrap: %v", err)
			}
			return
		}
		if err == nil || got != nil || !errors.Is(err, ErrAuth) {
			t.Fatalf("garbage: got %d bytes, err %v", len(got), err)
		}
	})
}

// FuzzOpenMeta: garbage never panics and never authenticates.
func FuzzOpenMeta(f *testing.F) {
	key := detRand(130, KeySize)
	genuine, err := sealMeta(key, detRand(131, NonceSize), []byte(`{"filename":"x"}`), "up")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(genuine, "up")
	f.Add(genuine, "uq")
	f.Add([]byte{1, 2, 3}, "up")
	f.Fuzz(func(t *testing.T, sealed []byte, id string) {
		got, err := OpenMeta(key, sealed, id)
		if bytes.Equal(sealed, genuine) && id == "up" {
			if err != nil {
				t.Fatalf("genuine meta does not open: %v", err)
			}
			return
		}
		if err == nil || got != nil || !errors.Is(err, ErrAuth) {
			t.Fatalf("garbage: got %d bytes, err %v", len(got), err)
		}
	})
}

// FuzzResumeMAC: garbage state never panics; a rejected state wraps ErrAuth;
// an accepted one yields a usable MAC whose State round-trips through
// ResumeMAC.
func FuzzResumeMAC(f *testing.F) {
	key := detRand(140, KeySize)
	m := NewMAC(key)
	m.Write([]byte("some data"))
	st, _ := m.State()
	f.Add(st, []byte("more"))
	f.Add(st[:107], []byte{})
	f.Add(bytes.Repeat([]byte{0}, StateSize), []byte("x"))
	f.Add([]byte("sha\x03"), []byte("x"))
	f.Fuzz(func(t *testing.T, state, data []byte) {
		r, err := ResumeMAC(key, state)
		if err != nil {
			if !errors.Is(err, ErrAuth) || r != nil {
				t.Fatalf("rejected state: %v", err)
			}
			return
		}
		r.Write(data)
		tag := r.Tag([]byte("trailer"))
		if len(tag) != 32 {
			t.Fatalf("tag of %d bytes", len(tag))
		}
		st2, err := r.State()
		if errors.Is(err, ErrMACTooLong) && hashedLen(state)+uint64(len(data)) > maxHashed {
			return // resumed just below the bound, pushed past it
		}
		if err != nil {
			t.Fatal(err)
		}
		r2, err := ResumeMAC(key, st2)
		if err != nil {
			t.Fatalf("state from a resumed MAC does not resume: %v", err)
		}
		if !TagEqual(r2.Tag([]byte("trailer")), tag) {
			t.Fatal("state round trip changes the tag")
		}
	})
}
