// Package store is tusvault's encrypted tusd data store.
//
// It implements handler.DataStore with termination, creation-defer-length
// and a content server, over a small object-storage interface (Backend)
// that the embedded disk backend (store/disk) and the S3 backend implement.
// Every upload byte it hands to a backend is ciphertext of format v2 or
// v1 (store/crypt and docs/FORMAT.md): the upload's data object, its
// encrypted tail, beside its tag objects (v2: the chunk tags) and its
// .info, whose client metadata and running state (v1: the MAC; v2: the
// digest of the chunk tags) are sealed. New uploads are v2 (Config.Format, default 2); 1 keeps
// v1 for a fleet whose older binaries read only v1. Each upload keeps the
// format it was created in: every path branches on its Enc.V, so a v1
// upload in progress finishes in v1, and both are always read.
//
// Format v2 cuts the data into 64 KiB chunks, each with a detached 16-byte
// tag, so that every byte served is verified, ranges included; v1 has one
// HMAC over the whole object, checked only when it is read whole.
//
// One PATCH (WriteChunk) goes like this: a fresh segment (random IV) is
// stored in .info before any byte is encrypted under it; the spool file of
// the current part starts with the stored tail's ciphertext; the body is
// encrypted at its byte offset and fed to the running MAC (v1), or sealed
// chunk by chunk under the segment's key (v2, chunks.go), and spooled as
// ciphertext into part files of exactly PartSize bytes on local disk
// (nameless from the start, O_TMPFILE, so a crash leaves none); each full
// part is uploaded under a slot of the process-wide Limiter (up to two per
// request) while the next one fills, in v2 followed by its tag object
// <key>.tags.<p> under the same slot, and .info is committed over every
// confirmed part, in order. What is left at the end of the request is
// stored as the tail. WriteChunk returns the bytes of its request that are
// stored, so tusd's offset is always the stored one; a failing local spool
// is a 507 or 503, never a 413. FinishUpload assembles the parts and
// records the tag, retrying transient backend errors.
//
// The tail (layout 2 of unfinished uploads, docs/FORMAT.md 5.4) is a list
// of append-only fragments in .info (fragments.go): a request that ends
// inside a part stores only its own new bytes, as one fragment object
// <key>.part.<off>-<random>, then lists it; in v1 the sealed MAC state
// covers the tail, so its bytes are MACed once; in v2 the tags of the
// tail's chunks are in .info (TailTags), the last one interim when the
// tail ends inside a chunk. The request that fills the part
// sends the tail's ciphertext again at the part's start and, once the part
// is committed, deletes the fragments (the stage tail-absorbed). So each
// byte goes up at most twice (fragment, part), whatever the PATCH size.
// The spool file holding the tail stays open, unlinked, in the tail cache
// between requests (tailcache.go, bounded by Config.TailCacheBytes and
// TailCacheTTL): the next request of the upload on this process appends
// to it and reads nothing back; after a restart, on another instance or
// when the cache no longer matches .info, the fragments are read back
// from the backend and checked against their CRC-32C. Fragments that no
// .info lists (a request cut short, an absorbed fragment whose deletion
// failed) are deleted by the completion, the removal and the sweep (under
// the upload's lock). Uploads in progress of layout 1 (one <key>.part,
// rewritten by every request, the MAC state over the committed bytes
// only) keep working and turn into layout 2 at their next request that
// leaves a tail, or at their next .info write while their tail is empty.
//
// A request costs the same whatever the upload's history (segments.go):
// while it is unfinished, segments that lie wholly inside the committed
// bytes move out of .info, 64 at a time, into sealed, chained segment
// pages <key>.segs.<n> (layout 2, docs/FORMAT.md section 6.1), each
// written before the .info that stops listing its segments. Completion
// reads them once, writes the finished .info (no Layout) with every
// segment inline, and deletes them; removal and sweeps delete them too.
//
// Format v2 in this store. A v2 upload is in layout 2 from creation; its
// sealed TagState covers the committed chunks only (the tail's tags need
// no seal: each authenticates its chunk). Part sizes are whole MiB, so a
// chunk never spans two parts and parts are sealed on chunk boundaries;
// Committed is a chunk boundary too, and pages hold only segments wholly
// below it, so every chunk a request seals lies at or above Committed, with
// all its segments in .info: neither the write path nor a read ever reads a
// page. A request that completes a chunk the tail began finds the chunk's
// stored prefix in its spool (the tail cache or the fragments read back),
// verifies it against its interim tag, and seals the chunk under its own
// segment key (chunkSealer); stored ciphertext is never rewritten, and a
// segment's piece of a chunk is sealed once, when it ends, which is what
// keeps every (segment key, nonce) to one message (FORMAT.md 9.4). tusd
// declares a length before WriteChunk, so a request with data knows
// whether it writes the last chunk and seals it as final; a length
// declared by a PATCH without data re-seals the last chunk as final: from the spool when it is in the tail (resealLast), after
// CompleteMultipart when the data ended on a part boundary
// (resealCommitted, which reads and rewrites the last tag object).
// Completion takes TagsSHA256 from the tag state and reads no other tag
// object. Tag objects
// stay beside the finished data object, one per part; removal deletes
// them, and Cleanup deletes those whose .info is gone and those of a
// finished upload above its last part (tagobjects.go).
//
// Nothing acknowledged is lost. tusd calls FinishUpload once and reports
// the upload finished whatever its outcome, so the store completes an
// upload whose bytes are all committed but that was never completed
// whenever it meets one: when tusd loads it for a request (GetUpload),
// in Settle and in a Cleanup sweep, and reports it through
// Config.OnComplete, since tusd will not emit its post-finish event.
// The store shares tusd's upload locker (Config.Locker, store/lock): its
// own maintenance takes locks with TryLock, which never asks a request to
// let go, so a sweep never cuts a PATCH short. A sweep skips any upload
// whose .info it cannot read and removes .info last.
//
// Downloads (ServeContent, ranges.go). v2 (read_v2.go): the object-level
// tag is checked before any header, the enclosing chunks of the range and
// their tags are read (the first tag object beside the data GET, the next
// when the data reaches its part), every chunk is verified before a byte
// of it is returned, the first one before the status line (a later
// failure aborts the connection), and a whole read also checks the digest
// of the tags. v1: every GET whose answer is the whole object goes through
// the tag check; a range of part of it is decrypted without
// authentication. Decrypt writes nothing before it verified a spooled
// copy: v1's whole MAC, or every chunk of v2's data and tag copies.
//
// Listings: ListUploads pages the uploads under a few id prefixes (an
// account's home and its shares), newest .info first, with an opaque
// cursor; it lists the backend once per page, keeping only the page in
// memory, and reads the .info of the uploads of the page only. Every
// upload records when it was created in Storage["Created"].
//
// Memory does not grow with upload size or count: a request holds one copy
// buffer; part data lives in spool files, opened at a part's first byte
// (a request waiting for its body holds none); the limiter bounds part
// uploads.
//
// CPU per byte (docs/BENCHMARKS.md): the body is read, encrypted and MAC'd
// (v1) or sealed (v2, one AES-GCM pass) and spooled in 64 KiB pieces; spool files of finished parts are reused
// for the next parts while requests write (spoolPool: overwriting cached
// pages costs the kernel a quarter of filling new ones), and closed when
// the last request ends; for a backend that signs every payload's SHA-256
// (PayloadHasher: S3 over plain HTTP) the part is hashed in the same pass,
// so that the backend does not read the spool file again to hash it.
//
// Failpoints: the store marks each stage of the upload path where a crash
// matters with failpoint.Hit (internal/failpoint), and hands the bodies of
// parts and tails to the backend through failpoint.Reader. In an ordinary
// build these are empty and inlined away, and the binary holds no
// failpoint code; built with -tags failpoint (the chaos tests of
// internal/e2e), TUSVAULT_FAILPOINT=<stage>[:<n>][=kill|block] makes the
// process print a marker line and SIGKILL itself (or block) at the n-th
// hit of a stage, TUSVAULT_SEGMENT_LOG=<file> logs every segment just
// before it is persisted, for the tests' counter checker,
// TUSVAULT_SEAL_LOG=<file> every chunk of a v2 upload just before it is
// sealed, for their nonce checker, and
// TUSVAULT_SEGMENT_PAGE=<n> puts n segments in a segment page instead of
// 64. The stages:
//
//	multipart-created      POST: multipart upload created, no .info yet
//	segment-stored         PATCH: the request's segment is in .info, no byte encrypted
//	spool                  after each write to a spool file
//	upload-part            the middle of each pass over a part's body by the backend
//	chunk-sealed           v2: before each seal of a chunk (crypt.ChunkCipher.SealChunk)
//	tag-object             v2: a part confirmed by the backend, its tag object not stored yet
//	part-uploaded          a part (v2: and its tag object) confirmed by the backend, .info not committed
//	tail                   the middle of the body of the request's tail fragment
//	tail-stored            the fragment stored, not listed in .info yet
//	tail-absorbed          a part holding the tail's fragments committed, the fragments not deleted yet
//	tail-converted         layout 1 turned into layout 2 in .info, <key>.part not deleted yet
//	segments-paged         segment pages stored, the .info that counts them not yet
//	complete-multipart     just before CompleteMultipart
//	disk-assemble          disk backend: parts concatenated, not renamed into place
//	multipart-completed    the data object assembled, no tag in .info yet
//	tags-resealed          v2, completion: the last tag object rewritten with the re-sealed final tag, no tag in .info yet
//	sweep-upload           a sweep holds an upload's lock, before reading it again
//	remove                 removal: data, tail and multipart gone, .info not yet
package store
