package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tus/tusd/v2/pkg/handler"

	"github.com/tusvault/tusvault/store"
	"github.com/tusvault/tusvault/store/crypt"
	"github.com/tusvault/tusvault/store/disk"
	"github.com/tusvault/tusvault/store/lock"
	"github.com/tusvault/tusvault/store/s3"
)

// storageFlags say where the uploads and the keyring are. serve and the
// offline commands (decrypt, keys rewrap, cleanup) share them, so that each
// of them reaches either backend: the local disk under -upload-dir, or an S3
// bucket when -s3-bucket is set.
//
// With S3, credentials and region come from the AWS default chain. The
// region variables (AWS_REGION, then AWS_DEFAULT_REGION) are read through
// run's getenv; the rest of the chain (AWS_ACCESS_KEY_ID and the other
// credential variables, AWS_PROFILE and the shared config files, container
// and instance roles) is read by the AWS SDK itself, from the process
// environment. With a custom endpoint and no region anywhere, the region
// is us-east-1, which S3-compatible services accept.
type storageFlags struct {
	UploadDir         string // -upload-dir, default "./data" (with S3: the default home of the keyring and the spool)
	Keyring           string // -keyring, default "" = <upload-dir>/keyring.json
	S3Bucket          string // -s3-bucket, default "" (local disk)
	S3Endpoint        string // -s3-endpoint, default "" (AWS); a custom endpoint implies path-style addressing
	S3ObjectPrefix    string // -s3-object-prefix, default ""
	S3DisableSSL      bool   // -s3-disable-ssl, default false
	S3LogAPICalls     bool   // -s3-log-api-calls, default false
	S3SDKChecksums    bool   // -s3-sdk-checksums, default false (checksums only where required)
	S3UnsignedPayload bool   // -s3-unsigned-payload, default false (over plain HTTP, SigV4 signs every body's SHA-256)
	RedisURL          string // -redis-url, default "" (upload locks in the process, or lock files on disk)
}

func defaultStorageFlags() storageFlags { return storageFlags{UploadDir: "./data"} }

// register binds every storage flag to s, with s's values as defaults, for
// the offline commands.
func (s *storageFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.UploadDir, "upload-dir", s.UploadDir, "Directory the uploads are stored in (with -s3-bucket: only the default home of the keyring)")
	fs.StringVar(&s.Keyring, "keyring", s.Keyring, "Keyring file. Default <upload-dir>/"+defaultKeyringName)
	s.registerS3(fs)
	s.registerRedis(fs)
}

// registerRedis binds -redis-url.
func (s *storageFlags) registerRedis(fs *flag.FlagSet) {
	fs.StringVar(&s.RedisURL, "redis-url", s.RedisURL, "Keep the upload locks and the guests' max_files reservations in this Redis, redis://[user:password@]host:port[/db] (rediss:// for TLS), so that several tusvault instances can serve one bucket (same keyring and auth key on each). The password is never logged")
}

// registerS3 binds the -s3-* flags that say where the bucket is (the part
// flags belong to serve).
func (s *storageFlags) registerS3(fs *flag.FlagSet) {
	fs.StringVar(&s.S3Bucket, "s3-bucket", s.S3Bucket, "Store the uploads in this existing bucket of AWS S3 or an S3-compatible service instead of -upload-dir. Credentials and region come from the AWS default chain (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, shared config files, instance role)")
	fs.StringVar(&s.S3Endpoint, "s3-endpoint", s.S3Endpoint, "Endpoint of an S3-compatible service, such as http://127.0.0.1:7070 (implies path-style addressing; the region defaults to us-east-1 if none is configured)")
	fs.StringVar(&s.S3ObjectPrefix, "s3-object-prefix", s.S3ObjectPrefix, "Prefix of the keys of every object stored in the bucket, such as tusvault/")
	fs.BoolVar(&s.S3DisableSSL, "s3-disable-ssl", s.S3DisableSSL, "Use plain HTTP for AWS and for an -s3-endpoint given without a scheme")
	fs.BoolVar(&s.S3LogAPICalls, "s3-log-api-calls", s.S3LogAPICalls, "Log every S3 API call (operation, duration, attempts, outcome; never credentials or contents)")
	fs.BoolVar(&s.S3UnsignedPayload, "s3-unsigned-payload", s.S3UnsignedPayload, "Over plain HTTP, send bodies as UNSIGNED-PAYLOAD, as over HTTPS: saves hashing every byte, and the object store no longer checks that a body is the one signed, so one altered on the way is found only when read. Only for a link nothing else can write to")
	fs.BoolVar(&s.S3SDKChecksums, "s3-sdk-checksums", s.S3SDKChecksums, "Let the AWS SDK add and validate its default checksums on every request (for AWS itself). By default it does so only where an operation requires one, since several S3-compatible services reject the SDK's checksum trailers")
}

// useS3 reports whether the uploads are in a bucket.
func (s *storageFlags) useS3() bool { return s.S3Bucket != "" }

// validate reports the first invalid storage flag in one line.
func (s *storageFlags) validate() error {
	if s.UploadDir == "" {
		return errors.New("invalid -upload-dir: must not be empty")
	}
	if err := validRedisURL(s.RedisURL); err != nil {
		// Not echoed: the URL may carry a password.
		return fmt.Errorf("invalid -redis-url: %w", err)
	}
	if !s.useS3() {
		for _, f := range []struct {
			name string
			set  bool
		}{
			{"-s3-endpoint", s.S3Endpoint != ""},
			{"-s3-object-prefix", s.S3ObjectPrefix != ""},
			{"-s3-disable-ssl", s.S3DisableSSL},
			{"-s3-log-api-calls", s.S3LogAPICalls},
			{"-s3-sdk-checksums", s.S3SDKChecksums},
			{"-s3-unsigned-payload", s.S3UnsignedPayload},
		} {
			if f.set {
				return fmt.Errorf("%s needs -s3-bucket", f.name)
			}
		}
		return nil
	}
	if strings.ContainsAny(s.S3Bucket, "/ \t\r\n") {
		return fmt.Errorf("invalid -s3-bucket %q: must be a bucket name", s.S3Bucket)
	}
	if err := validEndpoint(s.S3Endpoint); err != nil {
		// Not echoed: an endpoint may carry credentials.
		return fmt.Errorf("invalid -s3-endpoint: %w", err)
	}
	return nil
}

// validEndpoint accepts "" (AWS), host[:port] and http(s)://host[:port][/path]
// without user information.
func validEndpoint(ep string) error {
	if ep == "" {
		return nil
	}
	if !strings.Contains(ep, "://") {
		ep = "https://" + ep
	}
	u, err := url.Parse(ep)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("must be http(s)://host[:port] or host[:port]")
	}
	if u.User != nil {
		return errors.New("must not carry credentials (they come from the AWS default chain)")
	}
	return nil
}

// validRedisURL accepts "" (no Redis) and redis:// or rediss:// URLs with
// a host.
func validRedisURL(raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("must be redis://[user:password@]host:port[/db] or rediss://…")
	}
	if (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
		return fmt.Errorf("%s: must be redis://[user:password@]host:port[/db] or rediss://…", lock.RedactURL(raw))
	}
	return nil
}

// redisPrefix namespaces the Redis keys and channels by where the uploads
// are, so that deployments can share one Redis: the bucket and object
// prefix, or the upload dir.
func (s *storageFlags) redisPrefix() string {
	if s.useS3() {
		return lock.DefaultRedisPrefix + "s3:" + s.S3Bucket + "/" + s.S3ObjectPrefix + ":"
	}
	dir, err := filepath.Abs(s.UploadDir)
	if err != nil {
		dir = s.UploadDir
	}
	return lock.DefaultRedisPrefix + "disk:" + dir + ":"
}

// redisReadyTimeout bounds the wait for Redis at startup.
const redisReadyTimeout = 5 * time.Second

// openRedis opens the Redis locker of -redis-url and waits until Redis
// answers and its subscription is up; it fails with a one-line reason
// naming the URL without its password.
func (s *storageFlags) openRedis(ctx context.Context, log *slog.Logger) (*lock.Redis, error) {
	lock.SetRedisLogger(log)
	r, err := lock.NewRedis(lock.RedisConfig{URL: s.RedisURL, Prefix: s.redisPrefix(), Logger: log})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, redisReadyTimeout)
	defer cancel()
	for {
		err = r.Ready(ctx)
		if err == nil {
			return r, nil
		}
		select {
		case <-ctx.Done():
			r.Close()
			return nil, fmt.Errorf("unable to reach Redis at %s: %w", lock.RedactURL(s.RedisURL), err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (s *storageFlags) keyringPath() string { return keyringPath(s.Keyring, s.UploadDir) }

// where describes the storage for logs and messages, never credentials.
func (s *storageFlags) where() string {
	if !s.useS3() {
		return fmt.Sprintf("directory '%s'", s.UploadDir)
	}
	w := fmt.Sprintf("S3 bucket '%s'", s.S3Bucket)
	if s.S3Endpoint != "" {
		w += " at endpoint " + s.S3Endpoint
	} else {
		w += " on AWS"
	}
	if s.S3ObjectPrefix != "" {
		w += fmt.Sprintf(" with object prefix '%s'", s.S3ObjectPrefix)
	}
	return w
}

// s3Config is the S3 backend's configuration; getenv supplies the region
// variables (see storageFlags).
func (s *storageFlags) s3Config(getenv func(string) string, log *slog.Logger) s3.Config {
	region := getenv("AWS_REGION")
	if region == "" {
		region = getenv("AWS_DEFAULT_REGION")
	}
	return s3.Config{
		Bucket:          s.S3Bucket,
		ObjectPrefix:    s.S3ObjectPrefix,
		Endpoint:        s.S3Endpoint,
		Region:          region,
		DisableSSL:      s.S3DisableSSL,
		LogAPICalls:     s.S3LogAPICalls,
		Logger:          log,
		SDKChecksums:    s.S3SDKChecksums,
		UnsignedPayload: s.S3UnsignedPayload,
	}
}

// openBackend opens the backend the flags select. The S3 backend checks
// the bucket and fails with a one-line reason. The upload dir of the disk
// backend is created when create is set, and must exist otherwise.
func (s *storageFlags) openBackend(ctx context.Context, getenv func(string) string, log *slog.Logger, create bool) (store.Backend, error) {
	if s.useS3() {
		b, err := s3.New(ctx, s.s3Config(getenv, log))
		if err != nil {
			return nil, fmt.Errorf("unable to open storage: %w", err)
		}
		return b, nil
	}
	if create {
		if err := os.MkdirAll(s.UploadDir, 0o700); err != nil {
			return nil, fmt.Errorf("upload dir: %w", err)
		}
	} else if fi, err := os.Stat(s.UploadDir); err != nil {
		return nil, fmt.Errorf("upload dir: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("upload dir %s: not a directory", s.UploadDir)
	}
	b, err := disk.New(s.UploadDir)
	if err != nil {
		return nil, fmt.Errorf("open upload dir %s: %w", s.UploadDir, err)
	}
	return b, nil
}

// storeConfig is the store configuration over backend, without the
// serve-only settings.
func (s *storageFlags) storeConfig(backend store.Backend, kr *crypt.Keyring, log *slog.Logger) store.Config {
	c := store.Config{Backend: backend, Keyring: kr, Logger: log, StorageType: "disk"}
	if s.useS3() {
		c.StorageType, c.Bucket = "s3", s.S3Bucket
	}
	return c
}

// openStore opens the store of the offline commands over an existing
// keyring and existing storage. They write no parts: the disk backend's
// spool is its own, S3's is the system's temporary directory. On disk they
// lock uploads with the server's lock files, so that a cleanup never
// touches an upload a running server is writing.
//
// progress, if not nil, is told how far Rewrap and Cleanup are.
func (s *storageFlags) openStore(ctx context.Context, getenv func(string) string, log *slog.Logger, progress func(done, total int)) (*store.Store, *crypt.Keyring, error) {
	kr, err := loadKeyring(s.keyringPath())
	if err != nil {
		return nil, nil, err
	}
	backend, err := s.openBackend(ctx, getenv, log, false)
	if err != nil {
		return nil, nil, err
	}
	cfg := s.storeConfig(backend, kr, log)
	cfg.Progress = progress
	if s.RedisURL != "" {
		// The servers' locks: a cleanup never touches an upload one of
		// them is writing. The client lives as long as the command.
		if cfg.Locker, err = s.openRedis(ctx, log); err != nil {
			return nil, nil, err
		}
	} else if !s.useS3() {
		cfg.SpoolDir = defaultSpoolDir(s.UploadDir)
		if cfg.Locker, err = lock.NewFile(lockDir(s.UploadDir), lock.DefaultHolderPoll, lock.DefaultAcquirerPoll); err != nil {
			return nil, nil, err
		}
	}
	st, err := store.New(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("open store: %w", err)
	}
	return st, kr, nil
}

// offlineLogger is the stderr logger of an offline command: warnings and
// errors, plus the API calls with -s3-log-api-calls.
func (s *storageFlags) offlineLogger(stderr io.Writer) *slog.Logger {
	level := slog.LevelWarn
	if s.S3LogAPICalls {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
}

// lockDir is where the lock files of uploads on disk are kept.
func lockDir(uploadDir string) string {
	return filepath.Join(uploadDir, ".tusvault", "locks")
}

// openServeStore opens the keyring, the backend and the store of serve,
// and picks the upload locker, logging each choice: Redis with
// -redis-url (returned too, for the max_files reservations; the caller
// closes it), else lock files on disk or locks in memory with S3.
// onComplete receives the uploads the store completes on its own
// (store.Config.OnComplete).
func openServeStore(ctx context.Context, cfg Config, getenv func(string) string, out *output, onComplete func(context.Context, handler.FileInfo)) (st *store.Store, rl *lock.Redis, err error) {
	sf := cfg.storageFlags
	dir, err := filepath.Abs(sf.UploadDir)
	if err != nil {
		return nil, nil, fmt.Errorf("upload dir: %w", err)
	}
	sf.UploadDir = dir

	var kr *crypt.Keyring
	var backend store.Backend
	if sf.useS3() {
		// The keyring first (a local check), then the bucket. It is never
		// created here: one made beside a throw-away server would take
		// the bucket's uploads with it.
		if kr, err = openExistingKeyring(sf.keyringPath(), out.log); err != nil {
			return nil, nil, err
		}
		if backend, err = sf.openBackend(ctx, getenv, out.log, true); err != nil {
			return nil, nil, err
		}
	} else {
		// The upload dir first: the default keyring lives in it.
		if backend, err = sf.openBackend(ctx, getenv, out.log, true); err != nil {
			return nil, nil, err
		}
		if kr, err = openOrCreateKeyring(sf.keyringPath(), out.log); err != nil {
			return nil, nil, err
		}
	}
	if sf.useS3() {
		out.startup("Using %s as storage (credentials from the AWS default chain).", sf.where())
	} else {
		out.startup("Using '%s' as directory storage.", dir)
	}
	var lk store.Locker
	switch {
	case sf.RedisURL != "":
		if rl, err = sf.openRedis(ctx, out.log); err != nil {
			return nil, nil, err
		}
		defer func() {
			if err != nil {
				rl.Close()
			}
		}()
		out.startup("Using Redis at %s for the upload locks and the max_files reservations (lease %s): run as many instances on this storage as needed, each with the same keyring and auth key.",
			lock.RedactURL(sf.RedisURL), lock.DefaultLease)
		lk = rl
	case sf.useS3():
		out.startup("Using the in-memory locker: run one tusvault per bucket and prefix, or give every instance -redis-url to lock through Redis.")
		lk = lock.NewMemory()
	default:
		if lk, err = lock.NewFile(lockDir(dir), cfg.FilelockHolderPollInterval, cfg.FilelockAcquirerPollInterval); err != nil {
			return nil, nil, err
		}
	}
	out.startup("Using keyring %s (%d keys, primary %s).", sf.keyringPath(), len(kr.Keys), kr.Primary)

	sc := sf.storeConfig(backend, kr, out.log)
	sc.PartSize = cfg.PartSize
	sc.Format = cfg.UploadFormat
	sc.SpoolDir = cfg.spoolDir()
	sc.TailCacheBytes, sc.TailCacheTTL = cfg.TailCacheMB<<20, cfg.TailCacheTTL
	if cfg.TailCacheMB == 0 {
		sc.TailCacheBytes = -1
	}
	sc.Limiter = store.NewLimiter(cfg.ConcurrentPartUploads)
	sc.Locker = lk
	sc.OnComplete = onComplete
	st, err = store.New(sc)
	if err != nil {
		return nil, nil, fmt.Errorf("store: %w", err)
	}
	out.startup("Using %.2fMB parts, %d concurrent part uploads, spooled in '%s'.",
		float64(cfg.PartSize)/1024/1024, cfg.ConcurrentPartUploads, sc.SpoolDir)
	return st, rl, nil
}
