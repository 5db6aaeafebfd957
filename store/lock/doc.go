// Package lock holds tusvault's upload lockers: tusd handler.Locker
// implementations whose locks can also be tried politely.
//
// tusd asks the holder of an upload's lock to let go whenever another
// request wants it: that is how a client that lost its connection resumes
// at once instead of waiting for the old request to time out. The store's
// own maintenance (the expiry sweep, completing an upload whose last
// request failed) and requests from anyone but the uploader must never cut
// a running PATCH short, so each locker here also offers TryLock: take the
// lock only if nobody holds it, and never signal the holder. A lock taken
// with TryLock ignores release requests; a tusd request that wants it waits
// (up to its -acquire-lock-timeout) until the maintenance is done.
//
// Memory serves one process (the S3 backend without -redis-url); File
// keeps lock files in one directory of the local disk and works across
// processes on one machine, compatible with tusd's filelocker; Redis
// serves every instance that shares one Redis (-redis-url): leased locks
// with fenced renewal and release, and tusd's release requests carried
// between instances by pub/sub (see Redis). Reservations keeps the
// guests' max_files reservations in the same Redis, so that several
// instances count a share's uploads alike.
package lock
