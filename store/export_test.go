package store

// SetMaxParts replaces MaxParts for the store built from c, so that tests
// reach the part limit with small uploads.
func SetMaxParts(c *Config, n int64) { c.maxParts = n }
