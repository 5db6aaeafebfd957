// Package failpoint holds the store's test-only crash points and its
// segment and seal logs, for the chaos tests of internal/e2e
// (chaos_*_test.go).
//
// The store calls Hit(name) at each stage of the upload path where a crash
// matters (see store/doc.go for the list), wraps the bodies it hands to the
// backend for a part or a tail in Reader, calls Segment just before it
// persists a fresh segment, and ChunkSealed (from crypt.ChunkCipher's
// SealChunk) just before it seals a chunk of a format v2 upload. In an
// ordinary build these are empty functions that the compiler inlines
// away: the release binary holds no failpoint code and reads no
// environment variable for it (internal/e2e checks that the binary lacks
// the variables' names).
//
// Built with -tags failpoint, the process reads two environment variables
// at startup:
//
//	TUSVAULT_FAILPOINT=<stage>[:<n>][=kill|block]
//	    At the n-th hit (default 1) of stage, print the marker line
//	    "TUSVAULT-FAILPOINT <stage> <n>" on stderr, then SIGKILL the
//	    process (kill, the default: it dies exactly there) or block the
//	    goroutine that hit it forever (block: the test inspects the
//	    process, then SIGKILLs it). Other stages, and the other hits of
//	    this one, pass.
//	TUSVAULT_SEGMENT_LOG=<file>
//	    Append one record "<upload id> <Off> <IV in hex>" for every segment
//	    the store is about to persist, before its .info is written and so
//	    before a byte is encrypted under it. Records are single appends,
//	    each on a line of its own and closed by RecordEnd, so several
//	    processes may share the file, and a record a SIGKILL cut short is
//	    told from a whole one (records.go).
//	TUSVAULT_SEAL_LOG=<file>
//	    Append one line for every chunk of a format v2 upload about to be
//	    sealed (data, interim and final tags, re-seals as final): the
//	    upload id, the sealing segment's IV, the chunk index, its length
//	    and final flag (the nonce's inputs), and SHA-256 digests of the
//	    plaintext piece and of the message (piece and AAD), in the same
//	    way as the segment log, and framed as its records. ChunkSealed
//	    gives the format. The stage
//	    "chunk-sealed" is hit after each line.
//
// A stage hit through Reader counts one hit each time a pass over the body
// (from its start, after a Seek) crosses its middle: the backend is then
// in the middle of storing it. The AWS SDK reads a part's body twice over
// plain HTTP (once to sign its SHA-256, once to send it), so there the
// second hit of a part is the one on the wire.
package failpoint
