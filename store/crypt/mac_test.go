package crypt

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"testing"
)

func oneShotHMAC(key []byte, parts ...[]byte) []byte {
	h := hmac.New(sha256.New, key)
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

func TestMACMatchesHMAC(t *testing.T) {
	data := detRand(20, 200)
	trailer := Trailer("up-1", 10<<20, []Segment{{Off: 0, IV: detRand(21, 16)}}, int64(len(data)))
	for _, keyLen := range []int{0, 1, 32, 63, 64, 65, 200} {
		key := detRand(uint64(22+keyLen), keyLen)
		m := NewMAC(key)
		m.Write(data)
		if got, want := m.Tag(trailer), oneShotHMAC(key, data, trailer); !bytes.Equal(got, want) {
			t.Errorf("key of %d bytes: tag %x, want %x", keyLen, got, want)
		}
	}
}

func TestMACResume(t *testing.T) {
	key := detRand(30, KeySize)
	data := detRand(31, 300)
	trailer := Trailer("up-2", 5<<20, []Segment{{Off: 0, IV: detRand(32, 16)}}, int64(len(data)))
	want := oneShotHMAC(key, data, trailer)
	for split := 0; split <= len(data); split++ {
		m := NewMAC(key)
		m.Write(data[:split])
		st, err := m.State()
		if err != nil {
			t.Fatal(err)
		}
		if len(st) != StateSize {
			t.Fatalf("state is %d bytes, want %d", len(st), StateSize)
		}
		r, err := ResumeMAC(key, st)
		if err != nil {
			t.Fatalf("split %d: %v", split, err)
		}
		r.Write(data[split:])
		if got := r.Tag(trailer); !bytes.Equal(got, want) {
			t.Fatalf("split %d: resumed tag differs from one-shot HMAC", split)
		}
	}
	// Many resumes in a chain, one per 13-byte piece.
	m := NewMAC(key)
	for i := 0; i < len(data); i += 13 {
		m.Write(data[i:min(i+13, len(data))])
		st, _ := m.State()
		var err error
		if m, err = ResumeMAC(key, st); err != nil {
			t.Fatal(err)
		}
	}
	if got := m.Tag(trailer); !bytes.Equal(got, want) {
		t.Error("chain of resumes gives a different tag")
	}
	// Resuming under another key gives another tag.
	st, _ := NewMAC(key).State()
	other, err := ResumeMAC(detRand(33, KeySize), st)
	if err != nil {
		t.Fatal(err)
	}
	other.Write(data)
	if bytes.Equal(other.Tag(trailer), want) {
		t.Error("resume under another key gives the same tag")
	}
}

func TestMACTagDoesNotMutate(t *testing.T) {
	key := detRand(40, KeySize)
	m := NewMAC(key)
	m.Write([]byte("hello "))
	before, _ := m.State()
	t1 := m.Tag([]byte("trailer-a"))
	t2 := m.Tag([]byte("trailer-b"))
	t3 := m.Tag([]byte("trailer-a"))
	after, _ := m.State()
	if !bytes.Equal(before, after) {
		t.Error("Tag changed the MAC state")
	}
	if !bytes.Equal(t1, t3) || bytes.Equal(t1, t2) {
		t.Error("Tag is not a pure function of data and trailer")
	}
	m.Write([]byte("world"))
	if got, want := m.Tag([]byte("T")), oneShotHMAC(key, []byte("hello worldT")); !bytes.Equal(got, want) {
		t.Error("writing after Tag gives a wrong tag")
	}
}

func TestResumeMACRejectsGarbage(t *testing.T) {
	key := detRand(50, KeySize)
	good, _ := NewMAC(key).State()
	badMagic := bytes.Clone(good)
	badMagic[0] ^= 1
	noKey := bytes.Clone(good)
	binary.BigEndian.PutUint64(noKey[StateSize-8:], 10)
	huge := bytes.Clone(good)
	binary.BigEndian.PutUint64(huge[StateSize-8:], 1<<63+64)
	for name, st := range map[string][]byte{
		"nil": nil, "short": good[:50], "long": append(bytes.Clone(good), 0),
		"bad magic": badMagic, "before key block": noKey, "huge length": huge,
	} {
		if _, err := ResumeMAC(key, st); !errors.Is(err, ErrAuth) {
			t.Errorf("%s: err = %v, want ErrAuth", name, err)
		}
	}
}

func TestTrailerLayout(t *testing.T) {
	iv := bytes.Repeat([]byte{0xaa}, 16)
	got := Trailer("ab", 0x0102, []Segment{{Off: 7, IV: iv}}, 0x99)
	var want []byte
	want = append(want, "tusvault/v1/tag"...)
	want = append(want, 0, 2, 'a', 'b')
	want = append(want, 0, 0, 0, 0, 0, 0, 1, 2)
	want = append(want, 0, 0, 0, 1)
	want = append(want, 0, 0, 0, 0, 0, 0, 0, 7)
	want = append(want, iv...)
	want = append(want, 0, 0, 0, 0, 0, 0, 0, 0x99)
	if !bytes.Equal(got, want) {
		t.Errorf("trailer = %x\nwant      %x", got, want)
	}
	if TagEqual([]byte{1, 2}, []byte{1, 3}) || TagEqual([]byte{1}, []byte{1, 0}) || !TagEqual([]byte{4}, []byte{4}) {
		t.Error("TagEqual is wrong")
	}
}
