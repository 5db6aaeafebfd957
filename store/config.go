package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/tus/tusd/v2/pkg/handler"

	"github.com/tusvault/tusvault/store/crypt"
	"github.com/tusvault/tusvault/store/lock"
)

// DefaultPartSize is the size of every part but the last (5 MiB, S3's
// minimum): 5 MiB PATCHes, a common client chunk size, then fill one part
// each and store no tail.
const DefaultPartSize = 5 << 20

// DefaultFormat is the format of new uploads: v2, whose every chunk is
// authenticated, so that ranged reads are verified too.
const DefaultFormat = crypt.V2Version

// The defaults of the tail cache: 256 MiB of disk, 10 minutes a tail.
const (
	DefaultTailCacheBytes = 256 << 20
	DefaultTailCacheTTL   = 10 * time.Minute
)

// MaxParts is the most parts an upload may have (the S3 limit).
const MaxParts = 10000

// MaxPartSize is the largest part S3 accepts (5 GiB). Part sizes are
// raised per upload up to it, so the largest upload is MaxUploadSize.
const MaxPartSize = 5 << 30

// MaxUploadSize is the largest upload the store accepts: MaxParts parts of
// MaxPartSize bytes (about 48.8 TiB), whatever -max-size says.
const MaxUploadSize = MaxParts * MaxPartSize

// minPartSize is S3's lower bound for every part but the last.
const minPartSize = 5 << 20

// Locker is the upload locker tusd uses, which the store takes too for
// its own maintenance (the expiry sweep, completing an upload whose last
// request failed). TryLock takes a lock only if nobody holds it and never
// asks a holder to let go, so maintenance never cuts a request short.
// store/lock has the implementations.
type Locker interface {
	handler.Locker
	TryLock(id string) (release func(), ok bool, err error)
}

// Config configures a Store. The zero value of every optional field selects
// the default written beside it.
type Config struct {
	// Backend stores the objects. Required.
	Backend Backend
	// Format is the format of new uploads: 2 (docs/FORMAT.md, every chunk
	// authenticated) or 1 (one MAC over the whole object), for a fleet
	// whose older binaries read only v1. Uploads keep the format they
	// were created in. Default DefaultFormat.
	Format int
	// Keyring holds the KEKs; its primary key wraps new uploads' DEKs.
	// Required.
	Keyring *crypt.Keyring
	// PartSize is the size of every part but the last, from 5 MiB to
	// MaxPartSize. Default DefaultPartSize. It is raised per upload, when
	// needed, so that no upload needs more than MaxParts parts.
	PartSize int64
	// SpoolDir receives ciphertext part files while they wait for upload.
	// Default os.TempDir().
	SpoolDir string
	// TailCacheBytes bounds the local disk (in SpoolDir) that the tail
	// cache may hold: between two requests of an upload its tail's
	// ciphertext stays in an unlinked spool file, so that the next
	// request on this process reads nothing back from the object store
	// (tailcache.go). Default DefaultTailCacheBytes; negative turns the
	// cache off.
	TailCacheBytes int64
	// TailCacheTTL is how long a cached tail is kept after its request.
	// Default DefaultTailCacheTTL.
	TailCacheTTL time.Duration
	// Limiter bounds the part uploads in flight across the process.
	// Default NewLimiter(4).
	Limiter *Limiter
	// Locker is the locker tusd's handler uses for the same uploads (give
	// the same value to the composer, see UseIn). Default lock.NewMemory(),
	// which only serves one process.
	Locker Locker
	// OnComplete is called once for every upload the store completes on
	// its own, which tusd never reports as finished: one whose parts were
	// all committed but whose FinishUpload failed or never ran, completed
	// when a later request loads it, by Settle or by a Cleanup sweep. The
	// info is the upload's after completion (Storage carries the tag).
	// Uploads finished by tusd's FinishUpload are not reported here: tusd
	// emits their post-finish event itself. Default nil.
	OnComplete func(ctx context.Context, info handler.FileInfo)
	// Progress, when set, is told how far the long maintenance runs are:
	// done of total uploads of Rewrap or Cleanup, after each one. The
	// offline commands show it. Default nil.
	Progress func(done, total int)
	// Logger receives operational logs. Default: discard.
	Logger *slog.Logger
	// StorageType is recorded as Storage["Type"] of every upload ("disk",
	// "s3"). Default "disk".
	StorageType string
	// Bucket is recorded as Storage["Bucket"] when set.
	Bucket string

	// maxParts replaces MaxParts in tests. Default MaxParts.
	maxParts int64
	// pageLen replaces defaultPageLen in tests; negative writes the v1
	// layout, never paging segments. Default defaultPageLen.
	pageLen int
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
	if c.Format == 0 {
		c.Format = DefaultFormat
	}
	if c.Format != crypt.Version && c.Format != crypt.V2Version {
		return fmt.Errorf("store: format %d: must be %d or %d", c.Format, crypt.Version, crypt.V2Version)
	}
	if c.PartSize == 0 {
		c.PartSize = DefaultPartSize
	}
	if c.PartSize < minPartSize || c.PartSize > MaxPartSize {
		return fmt.Errorf("store: part size %d is outside S3's bounds of %d to %d bytes", c.PartSize, minPartSize, MaxPartSize)
	}
	if c.SpoolDir == "" {
		c.SpoolDir = os.TempDir()
	}
	if err := os.MkdirAll(c.SpoolDir, 0o700); err != nil {
		return fmt.Errorf("store: spool dir: %w", err)
	}
	if c.TailCacheBytes == 0 {
		c.TailCacheBytes = DefaultTailCacheBytes
	}
	if c.TailCacheTTL <= 0 {
		c.TailCacheTTL = DefaultTailCacheTTL
	}
	if c.Limiter == nil {
		c.Limiter = NewLimiter(4)
	}
	if c.Locker == nil {
		c.Locker = lock.NewMemory()
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.StorageType == "" {
		c.StorageType = "disk"
	}
	if c.maxParts == 0 {
		c.maxParts = MaxParts
	}
	if c.pageLen == 0 {
		c.pageLen = defaultPageLen
	}
	return nil
}
