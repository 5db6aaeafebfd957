package store

import (
	"crypto/sha256"
	"hash"
	"io"
)

// PayloadHasher is implemented by a Backend that signs the SHA-256 of the
// bodies it sends (store/s3 over plain HTTP, where SigV4 signs the
// payload). When HashesPayloads is true, the store hashes every part
// while it spools it, with the bytes in the CPU cache, and hands the part
// to UploadPart as a *HashedBody, so that the backend need not read the
// spool file once more to hash it.
type PayloadHasher interface {
	HashesPayloads() bool
}

// HashedBody is a part's body with the SHA-256 of its bytes.
type HashedBody struct {
	*io.SectionReader
	sum []byte
}

// PayloadSHA256 returns the SHA-256 of the body's Size bytes.
func (b *HashedBody) PayloadSHA256() []byte { return b.sum }

// partHash hashes the bytes of the current spool file for a backend that
// signs payloads; without one (h nil) it does nothing.
type partHash struct {
	h hash.Hash
	n int64 // bytes hashed since reset
}

func newPartHash(on bool) partHash {
	if !on {
		return partHash{}
	}
	return partHash{h: sha256.New()}
}

func (p *partHash) reset() {
	if p.h != nil {
		p.h.Reset()
	}
	p.n = 0
}

func (p *partHash) write(b []byte) {
	if p.h != nil {
		p.h.Write(b)
		p.n += int64(len(b))
	}
}

// sum returns the SHA-256 of the spool's first size bytes, or nil when it
// did not hash exactly those (not hashing, or bytes that came another
// way): the backend then hashes the body itself.
func (p *partHash) sum(size int64) []byte {
	if p.h == nil || p.n != size {
		return nil
	}
	return p.h.Sum(nil)
}

// partBody is the body of a spooled part: with its SHA-256 when known.
func partBody(f io.ReaderAt, size int64, sum []byte) io.ReadSeeker {
	sr := io.NewSectionReader(f, 0, size)
	if sum == nil {
		return sr
	}
	return &HashedBody{SectionReader: sr, sum: sum}
}
