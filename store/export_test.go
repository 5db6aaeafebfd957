package store

// SetMaxParts replaces MaxParts for the store built from c, so that tests
// reach the part limit with small uploads.
func SetMaxParts(c *Config, n int64) { c.maxParts = n }

// TruncateTailCache cuts the tail spool that s caches for upload id by
// one byte, as a damaged or stale cache file would be, and reports
// whether there was one.
func TruncateTailCache(s *Store, id string) bool {
	s.tails.mu.Lock()
	defer s.tails.mu.Unlock()
	e := s.tails.entries[id]
	return e != nil && e.file.Truncate(e.size-1) == nil
}

// BackendOf returns the backend s was configured with.
func BackendOf(s *Store) Backend { return s.cfg.Backend.(*metered).b }
