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
// at the end of the request is stored as the tail object. FinishUpload
// assembles the parts and records the tag.
//
// Memory does not grow with upload size or count: a request holds one copy
// buffer; part data lives in spool files; the limiter bounds part uploads.
package store
