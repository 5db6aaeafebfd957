package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/tus/tusd/v2/pkg/handler"

	"github.com/tusvault/tusvault/store/crypt"
)

// Store is the encrypted tusd data store: every byte it hands to the
// Backend is format v1 ciphertext.
type Store struct {
	cfg Config
	// active counts the requests of this process writing each upload, so
	// that a cleanup sweep leaves them alone.
	mu     sync.Mutex
	active map[string]int
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
	return &Store{cfg: cfg, active: map[string]int{}}, nil
}

// markActive records a request writing key until the returned func runs.
func (s *Store) markActive(key string) func() {
	s.mu.Lock()
	s.active[key]++
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		if s.active[key]--; s.active[key] == 0 {
			delete(s.active, key)
		}
		s.mu.Unlock()
	}
}

func (s *Store) isActive(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.active[key] > 0
}

// UseIn registers the store in composer as core, terminater, length
// deferrer and content server. Concatenation is not offered.
func (s *Store) UseIn(composer *handler.StoreComposer) {
	composer.UseCore(s)
	composer.UseTerminater(s)
	composer.UseLengthDeferrer(s)
	composer.UseContentServer(s)
}

// Client-visible errors. Everything else is logged and answered with
// errInternal so that no backend detail reaches an error body.
var (
	errInternal       = handler.NewError("ERR_INTERNAL_SERVER_ERROR", "the upload could not be stored; retry later", http.StatusInternalServerError)
	errUploadTooLarge = handler.NewError("ERR_UPLOAD_SIZE_EXCEEDED", "upload exceeds the maximum number of parts", http.StatusRequestEntityTooLarge)
	errTooManyPatches = handler.NewError("ERR_TOO_MANY_REQUESTS_FOR_UPLOAD", "upload has taken too many PATCH requests", http.StatusRequestEntityTooLarge)
	errNotFinished    = handler.NewError("ERR_INCOMPLETE_UPLOAD", "cannot download an unfinished upload", http.StatusBadRequest)
	errBadID          = handler.NewError("ERR_INVALID_UPLOAD_ID", "invalid upload id", http.StatusBadRequest)
)

// ErrTagMismatch means the stored ciphertext does not match its v1 tag.
var ErrTagMismatch = errors.New("tag mismatch: the upload was altered or truncated")

// internal logs err with its context and returns the generic client error.
func (s *Store) internal(ctx context.Context, op, id string, err error) error {
	var herr handler.Error
	if errors.As(err, &herr) {
		return err
	}
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		s.cfg.Logger.WarnContext(ctx, "store operation cancelled", "op", op, "id", id)
	} else {
		s.cfg.Logger.ErrorContext(ctx, "store operation failed", "op", op, "id", id, "error", err)
	}
	return errInternal
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
	partSize := s.partSizeFor(fi.Size, fi.SizeIsDeferred)
	if !fi.SizeIsDeferred && fi.Size > partSize*MaxParts {
		return nil, errUploadTooLarge
	}
	up, err := s.create(ctx, fi, partSize)
	if err != nil {
		return nil, s.internal(ctx, "new", fi.ID, err)
	}
	return up, nil
}

// partSizeFor raises the configured part size, in whole MiB, so that size
// fits in MaxParts parts.
func (s *Store) partSizeFor(size int64, deferred bool) int64 {
	ps := s.cfg.PartSize
	if deferred || size <= ps*MaxParts {
		return ps
	}
	const mib = 1 << 20
	need := (size + MaxParts - 1) / MaxParts
	return (need + mib - 1) / mib * mib
}

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
	wrapped, err := crypt.WrapDEK(kek, dek, fi.ID, kid)
	if err != nil {
		return nil, err
	}
	keys, err := crypt.DeriveSubkeys(dek)
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
	sealedMeta, err := crypt.SealMeta(keys.Meta, metaJSON, fi.ID)
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
	info := &infoFile{
		ID: fi.ID, Size: fi.Size, SizeIsDeferred: fi.SizeIsDeferred,
		Storage: storage,
		Enc: encInfo{
			V: crypt.Version, Alg: crypt.Alg, Kid: kid, WrappedDEK: wrapped,
			PartSize: partSize, Segments: []crypt.Segment{}, Meta: sealedMeta,
		},
	}
	if fi.SizeIsDeferred || fi.Size > 0 {
		info.MultipartID, err = s.cfg.Backend.CreateMultipart(ctx, key, map[string]string{
			"tusvault-format":      "1",
			"tusvault-kid":         kid,
			"tusvault-wrapped-dek": encodeB64(wrapped),
		})
		if err != nil {
			return nil, err
		}
	}
	up := &upload{s: s, key: key, info: info, keys: keys, meta: meta}
	state, err := crypt.NewMAC(keys.MAC).State()
	if err != nil {
		return nil, err
	}
	if err := up.save(ctx, state); err != nil {
		return nil, err
	}
	return up, nil
}

// GetUpload loads an upload's .info and unseals its keys and metadata.
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
	return up, nil
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
	metaJSON, err := crypt.OpenMeta(keys.Meta, info.Enc.Meta, info.ID)
	if err != nil {
		return nil, fmt.Errorf("open metadata: %w", err)
	}
	var meta handler.MetaData
	if err := json.Unmarshal(metaJSON, &meta); err != nil {
		return nil, fmt.Errorf("decode metadata: %w", err)
	}
	return &upload{s: s, key: key, info: info, raw: raw, keys: keys, meta: meta}, nil
}

// unwrap recovers an upload's subkeys through the keyring.
func (s *Store) unwrap(info *infoFile) (crypt.Subkeys, error) {
	kek, err := s.cfg.Keyring.KEK(info.Enc.Kid)
	if err != nil {
		return crypt.Subkeys{}, err
	}
	dek, err := crypt.UnwrapDEK(kek, info.Enc.WrappedDEK, info.ID, info.Enc.Kid)
	if err != nil {
		return crypt.Subkeys{}, fmt.Errorf("unwrap dek: %w", err)
	}
	return crypt.DeriveSubkeys(dek)
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
