package store

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/tusvault/tusvault/store/crypt"
)

// DefaultPartSize is the size of every part but the last (10 MiB).
const DefaultPartSize = 10 << 20

// MaxParts is the most parts an upload may have (the S3 limit).
const MaxParts = 10000

// minPartSize is S3's lower bound for every part but the last.
const minPartSize = 5 << 20

// Config configures a Store. The zero value of every optional field selects
// the default written beside it.
type Config struct {
	// Backend stores the objects. Required.
	Backend Backend
	// Keyring holds the KEKs; its primary key wraps new uploads' DEKs.
	// Required.
	Keyring *crypt.Keyring
	// PartSize is the size of every part but the last. Default
	// DefaultPartSize. It is raised per upload, when needed, so that no
	// upload needs more than MaxParts parts.
	PartSize int64
	// SpoolDir receives ciphertext part files while they wait for upload.
	// Default os.TempDir().
	SpoolDir string
	// Limiter bounds the part uploads in flight across the process.
	// Default NewLimiter(4).
	Limiter *Limiter
	// Logger receives operational logs. Default: discard.
	Logger *slog.Logger
	// StorageType is recorded as Storage["Type"] of every upload ("disk",
	// "s3"). Default "disk".
	StorageType string
	// Bucket is recorded as Storage["Bucket"] when set.
	Bucket string
}

func (c *Config) validate() error {
	if c.Backend == nil {
		return errors.New("store: backend is required")
	}
	if c.Keyring == nil {
		return errors.New("store: keyring is required")
	}
	if _, err := c.Keyring.KEK(c.Keyring.Primary); err != nil {
		return fmt.Errorf("store: keyring primary: %w", err)
	}
	if c.PartSize == 0 {
		c.PartSize = DefaultPartSize
	}
	if c.PartSize < minPartSize {
		return fmt.Errorf("store: part size %d is below the S3 minimum of %d bytes", c.PartSize, minPartSize)
	}
	if c.SpoolDir == "" {
		c.SpoolDir = os.TempDir()
	}
	if err := os.MkdirAll(c.SpoolDir, 0o700); err != nil {
		return fmt.Errorf("store: spool dir: %w", err)
	}
	if c.Limiter == nil {
		c.Limiter = NewLimiter(4)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.StorageType == "" {
		c.StorageType = "disk"
	}
	return nil
}
