package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/tus/tusd/v2/pkg/handler"

	"github.com/tusvault/tusvault/internal/failpoint"
	"github.com/tusvault/tusvault/store/crypt"
)

// Store is the encrypted tusd data store: every byte it hands to the
// Backend is ciphertext, in format v2 for new uploads (Config.Format) and
// in the format each upload was created in after that.
type Store struct {
	cfg    Config
	stats  *Stats
	tails  *tailCache
	spools *spoolPool
	// hashParts says that the backend signs a SHA-256 of every body
	// (PayloadHasher): parts are hashed as they are spooled.
	hashParts bool
}

var (
	_ handler.DataStore               = (*Store)(nil)
	_ handler.TerminaterDataStore     = (*Store)(nil)
	_ handler.LengthDeferrerDataStore = (*Store)(nil)
	_ handler.ContentServerDataStore  = (*Store)(nil)
)

// New returns a store, checking cfg and filling in its defaults.
func New(cfg Config) (*Store, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	stats := newStats()
	ph, ok := cfg.Backend.(PayloadHasher)
	hashParts := ok && ph.HashesPayloads()
	cfg.Backend = &metered{b: cfg.Backend, stats: stats}
	return &Store{
		cfg: cfg, stats: stats,
		tails:  newTailCache(cfg.TailCacheBytes, cfg.TailCacheTTL, stats),
		spools: &spoolPool{dir: cfg.SpoolDir}, hashParts: hashParts,
	}, nil
}

// Stats returns the store's live counters.
func (s *Store) Stats() *Stats { return s.stats }

// Limiter returns the limiter bounding the store's part uploads.
func (s *Store) Limiter() *Limiter { return s.cfg.Limiter }

// UseIn registers the store in composer as core, terminater, length
// deferrer and content server, and its Locker as the composer's locker, so
// that tusd and the store lock uploads alike. Concatenation is not offered.
func (s *Store) UseIn(composer *handler.StoreComposer) {
	composer.UseCore(s)
	composer.UseTerminater(s)
	composer.UseLengthDeferrer(s)
	composer.UseContentServer(s)
	composer.UseLocker(s.cfg.Locker)
}

// NewUpload creates an upload: a fresh DEK wrapped by the primary KEK,
// sealed metadata, a multipart upload for the data and the first .info.
func (s *Store) NewUpload(ctx context.Context, fi handler.FileInfo) (handler.Upload, error) {
	if fi.ID == "" {
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, s.internal(ctx, "new", "", err)
		}
		fi.ID = hex.EncodeToString(b[:])
	}
	if !validID(fi.ID) {
		return nil, errBadID
	}
	partSize, ok := s.partSizeFor(fi.Size, fi.SizeIsDeferred)
	if !ok {
		return nil, errTooLarge(s.maxUploadSize())
	}
	up, err := s.create(ctx, fi, partSize)
	if err != nil {
		return nil, s.internal(ctx, "new", fi.ID, err)
	}
	return up, nil
}

// partSizeFor raises the configured part size, in whole MiB, so that size
// fits in MaxParts parts; ok is false when even MaxPartSize is too small.
// A deferred length keeps the configured part size (it is known only at
// the end), which bounds such an upload to MaxParts of them.
func (s *Store) partSizeFor(size int64, deferred bool) (partSize int64, ok bool) {
	ps, n := s.cfg.PartSize, s.cfg.maxParts
	switch {
	case deferred || size <= ps*n:
		return ps, true
	case size > s.maxUploadSize():
		return 0, false
	}
	const mib = 1 << 20
	need := (size + n - 1) / n
	return (need + mib - 1) / mib * mib, true
}

// maxUploadSize is the largest Upload-Length accepted at creation.
func (s *Store) maxUploadSize() int64 { return s.cfg.maxParts * MaxPartSize }

func (s *Store) create(ctx context.Context, fi handler.FileInfo, partSize int64) (*upload, error) {
	key := fi.ID
	if _, err := s.cfg.Backend.Head(ctx, key+infoSuffix); err == nil {
		return nil, fmt.Errorf("upload %s already exists", key)
	} else if !errors.Is(err, ErrObjectNotFound) {
		return nil, err
	}
	kid := s.cfg.Keyring.Primary
	kek, err := s.cfg.Keyring.KEK(kid)
	if err != nil {
		return nil, err
	}
	dek, err := crypt.NewDEK()
	if err != nil {
		return nil, err
	}
	v, alg := crypt.Version, crypt.Alg
	if s.cfg.Format == crypt.V2Version {
		v, alg = crypt.V2Version, crypt.V2Alg
	}
	wrapped, err := wrapDEK(v, kek, dek, fi.ID, kid)
	if err != nil {
		return nil, err
	}
	keys, err := deriveKeys(v, dek)
	if err != nil {
		return nil, err
	}
	meta := fi.MetaData
	if meta == nil {
		meta = handler.MetaData{}
	}
	metaJSON, err := json.Marshal(meta)
	if err != nil {
		return nil, err
	}
	sealedMeta, err := crypt.SealMeta(keys.metaKey(v), metaJSON, fi.ID)
	if err != nil {
		return nil, err
	}
	storage := map[string]string{"Type": s.cfg.StorageType, "Key": key}
	if s.cfg.Bucket != "" {
		storage["Bucket"] = s.cfg.Bucket
	}
	for k, v := range fi.Storage {
		if k == "Route" || k == "Owner" || k == "Share" {
			storage[k] = v
		}
	}
	// When the upload was created, for listings (ListUploads); like the
	// rest of Storage it is plain and unauthenticated.
	storage[StorageCreated] = time.Now().UTC().Format(time.RFC3339)
	info := &infoFile{
		ID: fi.ID, Size: fi.Size, SizeIsDeferred: fi.SizeIsDeferred,
		Storage: storage,
		Enc: encInfo{
			V: v, Alg: alg, Kid: kid, WrappedDEK: wrapped,
			PartSize: partSize, Segments: []crypt.Segment{}, Meta: sealedMeta,
		},
	}
	if s.cfg.pageLen > 0 || v == crypt.V2Version { // (not the v1 writer of the tests)
		info.Enc.Layout = layout2
	}
	if fi.SizeIsDeferred || fi.Size > 0 {
		info.MultipartID, err = s.cfg.Backend.CreateMultipart(ctx, key, map[string]string{
			"tusvault-format":      strconv.Itoa(v),
			"tusvault-kid":         kid,
			"tusvault-wrapped-dek": encodeB64(wrapped),
		})
		if err != nil {
			return nil, err
		}
		failpoint.Hit("multipart-created")
	}
	up := &upload{s: s, key: key, info: info, uploadKeys: keys, meta: meta}
	state, err := keys.initialState(v)
	if err != nil {
		return nil, err
	}
	if err := up.update(ctx, state, nil); err != nil {
		return nil, err
	}
	return up, nil
}

// GetUpload implements handler.DataStore: it loads an upload's .info and
// unseals its keys and metadata. tusd calls it holding the upload's lock,
// so an upload whose bytes are all committed but that was never completed
// (its FinishUpload failed or never ran) is completed here, and reported
// through Config.OnComplete since tusd will not call FinishUpload again.
func (s *Store) GetUpload(ctx context.Context, id string) (handler.Upload, error) {
	if !validID(id) {
		return nil, handler.ErrNotFound
	}
	up, err := s.load(ctx, id)
	if errors.Is(err, ErrObjectNotFound) {
		return nil, handler.ErrNotFound
	}
	if err != nil {
		return nil, s.internal(ctx, "get", id, err)
	}
	if up.completable() {
		if err := up.settle(ctx); err != nil {
			// The request goes on with the stored state; the next one
			// tries again.
			s.internal(ctx, "complete", id, err)
		}
	}
	return up, nil
}

// Peek returns an upload's stored state without taking its lock and
// without changing anything: for readers that must not interrupt a
// request writing the upload. Storage["Tag"] is set once the upload is
// complete. A missing upload is handler.ErrNotFound.
func (s *Store) Peek(ctx context.Context, id string) (handler.FileInfo, error) {
	if !validID(id) {
		return handler.FileInfo{}, handler.ErrNotFound
	}
	up, err := s.load(ctx, id)
	if errors.Is(err, ErrObjectNotFound) {
		return handler.FileInfo{}, handler.ErrNotFound
	}
	if err != nil {
		return handler.FileInfo{}, s.internal(ctx, "peek", id, err)
	}
	return up.GetInfo(ctx)
}

func (s *Store) load(ctx context.Context, key string) (*upload, error) {
	info, raw, err := s.readInfo(ctx, key)
	if err != nil {
		return nil, err
	}
	if info.ID != key {
		// Every AAD and the tag bind the id: an .info copied under
		// another key must not pass as that upload.
		return nil, fmt.Errorf("info of %s names upload %q", key, info.ID)
	}
	keys, err := s.unwrap(info)
	if err != nil {
		return nil, err
	}
	metaJSON, err := crypt.OpenMeta(keys.metaKey(info.Enc.V), info.Enc.Meta, info.ID)
	if err != nil {
		return nil, fmt.Errorf("open metadata: %w", err)
	}
	var meta handler.MetaData
	if err := json.Unmarshal(metaJSON, &meta); err != nil {
		return nil, fmt.Errorf("decode metadata: %w", err)
	}
	return &upload{s: s, key: key, info: info, raw: raw, uploadKeys: keys, meta: meta}, nil
}

// unwrap recovers an upload's subkeys, of its format, through the keyring.
func (s *Store) unwrap(info *infoFile) (uploadKeys, error) {
	kek, err := s.cfg.Keyring.KEK(info.Enc.Kid)
	if errors.Is(err, crypt.ErrUnknownKid) {
		kid := info.Enc.Kid
		if !crypt.ValidKid(kid) {
			kid = fmt.Sprintf("(invalid id of %d bytes)", len(kid))
		}
		return uploadKeys{}, &missingKeyError{kid: kid, err: err}
	}
	if err != nil {
		return uploadKeys{}, err
	}
	dek, err := unwrapDEK(kek, info)
	if err != nil {
		return uploadKeys{}, fmt.Errorf("unwrap dek: %w", err)
	}
	return deriveKeys(info.Enc.V, dek)
}

// AsTerminatableUpload implements handler.TerminaterDataStore.
func (s *Store) AsTerminatableUpload(u handler.Upload) handler.TerminatableUpload {
	return u.(*upload)
}

// AsLengthDeclarableUpload implements handler.LengthDeferrerDataStore.
func (s *Store) AsLengthDeclarableUpload(u handler.Upload) handler.LengthDeclarableUpload {
	return u.(*upload)
}

// AsServableUpload implements handler.ContentServerDataStore.
func (s *Store) AsServableUpload(u handler.Upload) handler.ServableUpload {
	return u.(*upload)
}

// readyProbeKey is a key the store never writes: Ready asks the backend
// for it, and "not found" proves the backend answers.
const readyProbeKey = "tusvault-ready-probe"

// ReadyChecker is implemented by lockers that depend on a service (the
// Redis locker): Store.Ready asks them too.
type ReadyChecker interface {
	Ready(ctx context.Context) error
}

// Ready reports whether the store can serve: the keyring's primary key is
// loaded, the backend answers (a Head of readyProbeKey is not found, or
// found, rather than failing) and so does the locker's service, if any.
func (s *Store) Ready(ctx context.Context) error {
	if _, err := s.cfg.Keyring.KEK(s.cfg.Keyring.Primary); err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	if _, err := s.cfg.Backend.Head(ctx, readyProbeKey); err != nil && !errors.Is(err, ErrObjectNotFound) {
		return fmt.Errorf("object store: %w", err)
	}
	if rc, ok := s.cfg.Locker.(ReadyChecker); ok {
		if err := rc.Ready(ctx); err != nil {
			return fmt.Errorf("upload locks: %w", err)
		}
	}
	return nil
}
