// Package v2tamper alters the stored objects of a finished format v2
// upload the way a storage provider could (docs/FORMAT.md, section
// 14): a flipped bit in the data object, a tag object or .info, chunks
// swapped or copied from another upload, objects cut short or missing.
// Each Case says which chunks no longer verify, so that the tests of the
// store (whole and ranged GETs, Decrypt) and of `tusvault decrypt` check
// that no byte of those chunks is ever served or written. It works on
// the directory of the disk backend (store/disk): <key>, <key>.info,
// <key>.tags.<p>. EditInfo and FlipBit also serve tests of unfinished
// uploads (tail fragments, TailTags).
package v2tamper
