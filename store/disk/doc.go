// Package disk is the embedded default object backend of tusvault: it
// implements store.Backend on a local directory, with the same semantics as
// the S3 backend (immutable objects replaced atomically, ranged reads,
// multipart uploads with numbered parts and ETags), so that tusvault runs
// without any external service and both backends pass the conformance suite
// in internal/backendtest.
//
// # Layout
//
// Objects are plain files, so an operator can see and back them up:
//
//	<dir>/<key>                           object (slashes in the key are directories)
//	<dir>/.tusvault/meta/<key>            JSON metadata of an object completed from a
//	                                      multipart upload with metadata
//	<dir>/.tusvault/multipart/<id>/       multipart upload in progress:
//	    upload.json                       target key and metadata
//	    00001 … 10000                     parts: header with the ETag, then the data
//	<dir>/.tusvault/tmp/                  files being written, not yet renamed into place
//
// Directories are created 0700 and files 0600. The metadata tree mirrors the
// object tree exactly (no suffix is added), so every set of keys that can
// coexist as files can also coexist as sidecars. A sidecar records the size
// of its object and is ignored when the size differs.
//
// Keys are checked before any file system access: non-empty, at most 1024
// bytes of UTF-8, slash-separated segments that are not empty, ".", ".." or
// start with a dot, no backslash or control characters. The last segment
// must not end in ".lock", ".stop" or ".lock.<digits>": tusd's filelocker
// keeps such files (and its temp files) in the same directory, and List
// skips them (as it skips .tusvault and any
// name that is not a valid key). Unlike S3, a key cannot be both an object
// and a "directory" of other keys ("a" and "a/b"); writing the second one
// fails. Multipart ids are 32 random hex digits.
//
// # Crash safety
//
// Every file that becomes visible — Put objects, parts, assembled objects,
// metadata sidecars, upload records — is written to a temp file in
// .tusvault/tmp (same file system), fsynced, renamed into place, and the
// directory holding it fsynced (as are directories created on the way).
// A crash therefore never leaves a partly written file under a visible name;
// at worst an orphan temp file stays behind, which New removes once it is
// an hour old. A part file carries its ETag in a fixed-size header, so data
// and ETag are replaced together.
//
// CompleteMultipart writes the sidecar before renaming the assembled object
// into place: a new object is never visible without its metadata, and a
// crash in between leaves the upload intact so that completing it again
// works. Put renames its object first and then drops an older sidecar; the
// size check covers a crash in between. Delete removes the object, then its
// sidecar, then parent directories that became empty.
//
// Readers returned by Get hold the file open, so they keep seeing the
// version they opened even if the object is replaced or deleted meanwhile.
package disk
