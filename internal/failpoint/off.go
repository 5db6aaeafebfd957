//go:build !failpoint

package failpoint

import "io"

// Enabled reports whether this build has failpoints (-tags failpoint).
const Enabled = false

// Hit marks the stage name; a no-op in this build.
func Hit(name string) {}

// Reader returns r, which the backend reads size bytes of, for stage name;
// r itself in this build.
func Reader(name string, r io.ReadSeeker, size int64) io.ReadSeeker { return r }

// Segment records that upload id is about to persist the segment {off, iv};
// a no-op in this build.
func Segment(id string, off int64, iv []byte) {}

// ChunkSealed records that upload id is about to seal a chunk; a no-op in
// this build.
func ChunkSealed(id string, iv []byte, chunk int64, end int, final bool, plaintext, aad []byte) {}
