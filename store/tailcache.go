package store

import (
	"os"
	"sync"
	"time"
)

// The tail cache keeps, between two requests of an upload, the spool
// file that holds its tail (ciphertext, never plaintext), so that the
// next request of the upload on this process appends to it instead of
// reading the fragments back from the object store.
//
// A cached file is unlinked like every spool file: a crash or a restart
// leaves nothing behind, and no file name says which upload it belongs
// to. The cache is an in-process record of what this process wrote:
// the fragments the file holds, by name. A request uses it only when
// .info still starts its tail with exactly those fragments (names are
// random and fragments immutable, so equal names are equal bytes), and
// reads any later fragment (stored by another instance) from the object
// store; otherwise, or after a restart, it reads them all back, checking
// each fragment's CRC-32C.
//
// Its disk use is bounded: at most Config.TailCacheBytes bytes and
// maxCachedTails files, the oldest evicted first, each file kept at most
// Config.TailCacheTTL.

// maxCachedTails bounds the files (open descriptors) the cache holds.
const maxCachedTails = 256

// cachedTail is one upload's cached tail spool.
type cachedTail struct {
	key  string
	file *os.File
	// start is the offset of the file's first byte (Enc.Committed).
	start int64
	// frags are the fragments the file holds, in order, and size their
	// total length, the file's.
	frags []fragment
	size  int64
	// hash is the payload hash over the file's bytes, carried on to the
	// part they start (see partHash).
	hash  partHash
	at    time.Time
	timer *time.Timer
}

// holds reports how many of tail's leading fragments the file holds: all
// of its own, when the upload's committed bytes and the names and
// lengths of its fragments are those of tail's start; -1 otherwise.
func (c *cachedTail) holds(committed int64, tail []fragment) int {
	if c.start != committed || len(c.frags) > len(tail) {
		return -1
	}
	for i, f := range c.frags {
		if f.Name != tail[i].Name || f.Len != tail[i].Len {
			return -1
		}
	}
	// A file the spool pool reused may be longer than the tail: its
	// bytes past size are stale and never read. A shorter one was cut.
	if fi, err := c.file.Stat(); err != nil || fi.Size() < c.size {
		return -1
	}
	return len(c.frags)
}

// tailCache is the store's cache of tail spools, safe for concurrent use.
// A request takes its upload's entry out (tusd's lock makes it the only
// one) and puts it back at its end.
type tailCache struct {
	maxBytes int64
	ttl      time.Duration
	stats    *Stats

	mu      sync.Mutex
	entries map[string]*cachedTail
	bytes   int64
}

func newTailCache(maxBytes int64, ttl time.Duration, stats *Stats) *tailCache {
	return &tailCache{maxBytes: maxBytes, ttl: ttl, stats: stats, entries: map[string]*cachedTail{}}
}

// take removes and returns key's entry, or nil.
func (c *tailCache) take(key string) *cachedTail {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[key]
	if e != nil {
		c.unlink(e)
	}
	return e
}

// put caches e, replacing key's entry, or closes it when it does not
// fit; it evicts the oldest entries beyond the bounds.
func (c *tailCache) put(e *cachedTail) {
	if e.size <= 0 || e.size > c.maxBytes {
		e.file.Close()
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.entries[e.key]; old != nil {
		c.unlink(old)
		old.file.Close()
	}
	e.at = time.Now()
	c.entries[e.key] = e
	c.bytes += e.size
	c.stats.TailCacheBytes.Add(e.size)
	c.stats.TailCacheFiles.Add(1)
	e.timer = time.AfterFunc(c.ttl, func() { c.expire(e) })
	for c.bytes > c.maxBytes || len(c.entries) > maxCachedTails {
		var oldest *cachedTail
		for _, x := range c.entries {
			if oldest == nil || x.at.Before(oldest.at) {
				oldest = x
			}
		}
		c.unlink(oldest)
		oldest.file.Close()
	}
}

// drop closes key's entry, if any.
func (c *tailCache) drop(key string) {
	if e := c.take(key); e != nil {
		e.file.Close()
	}
}

// expire closes e if it is still cached.
func (c *tailCache) expire(e *cachedTail) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries[e.key] == e {
		c.unlink(e)
		e.file.Close()
	}
}

// unlink removes e from the map; the caller holds c.mu.
func (c *tailCache) unlink(e *cachedTail) {
	delete(c.entries, e.key)
	e.timer.Stop()
	c.bytes -= e.size
	c.stats.TailCacheBytes.Add(-e.size)
	c.stats.TailCacheFiles.Add(-1)
}
