// Package store is tusvault's encrypted tusd data store.
//
// It implements handler.DataStore with termination, creation-defer-length
// and a content server, over a small object-storage interface (Backend)
// that the embedded disk backend (store/disk) and the S3 backend implement.
// Every byte it hands to a backend is format v1 ciphertext (store/crypt and
// docs/FORMAT.md): the upload's data object, its encrypted tail, and its
// .info, whose client metadata and running MAC state are sealed.
//
// One PATCH (WriteChunk) goes like this: a fresh segment (random IV) is
// stored in .info before any byte is encrypted under it; the stored tail
// ciphertext is copied into a spool file; the body is encrypted at its
// byte offset, fed to the running MAC and spooled as ciphertext into part
// files of exactly PartSize bytes on local disk (unlinked at creation, so
// a crash leaves none); each full part is uploaded under a slot of the
// process-wide Limiter (up to two per request) while the next one fills,
// and .info is committed over every confirmed part, in order. What is left
// at the end of the request is stored as the tail object. WriteChunk
// returns the bytes of its request that are stored, so tusd's offset is
// always the stored one; a failing local spool is a 507 or 503, never a
// 413. FinishUpload assembles the parts and records the tag, retrying
// transient backend errors.
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
// Downloads: every GET whose answer is the whole object goes through the
// tag check (ServeContent, ranges.go); a range of part of it is decrypted
// without authentication. Decrypt verifies a spooled copy of the
// ciphertext before it writes a byte.
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
// CPU per byte (docs/BENCHMARKS.md): the body is read, encrypted, MAC'd
// and spooled in 64 KiB pieces; spool files of finished parts are reused
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
// hit of a stage, and TUSVAULT_SEGMENT_LOG=<file> logs every segment just
// before it is persisted, for the tests' counter checker. The stages:
//
//	multipart-created      POST: multipart upload created, no .info yet
//	segment-stored         PATCH: the request's segment is in .info, no byte encrypted
//	spool                  after each write to a spool file
//	upload-part            the middle of each pass over a part's body by the backend
//	part-uploaded          a part confirmed by the backend, .info not committed
//	tail                   the middle of the tail's body
//	tail-stored            the tail stored, TailLen not committed
//	complete-multipart     just before CompleteMultipart
//	disk-assemble          disk backend: parts concatenated, not renamed into place
//	multipart-completed    the data object assembled, no tag in .info yet
//	sweep-upload           a sweep holds an upload's lock, before reading it again
//	remove                 removal: data, tail and multipart gone, .info not yet
package store
