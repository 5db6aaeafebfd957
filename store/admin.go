package store

import (
	"context"
	"fmt"
	"strings"
)

// Rewrap re-wraps the DEK of every upload whose .info names another kid
// under the keyring's primary key. Data objects are not touched; their
// recovery metadata keeps naming the old kid, so keep old keys in the
// keyring. Run it while no upload is in progress: it takes no upload locks.
func (s *Store) Rewrap(ctx context.Context) (int, error) {
	keys, err := s.UploadIDs(ctx, "")
	if err != nil {
		return 0, fmt.Errorf("list uploads: %w", err)
	}
	primary := s.cfg.Keyring.Primary
	kek, err := s.cfg.Keyring.KEK(primary)
	if err != nil {
		return 0, err
	}
	n := 0
	for i, key := range keys {
		s.progress(i, len(keys))
		u, err := s.load(ctx, key)
		if err != nil {
			return n, fmt.Errorf("upload %s: %w", key, err)
		}
		if u.info.Enc.Kid == primary {
			continue
		}
		if err := u.rewrap(ctx, primary, kek); err != nil {
			return n, fmt.Errorf("upload %s: %w", key, err)
		}
		s.cfg.Logger.InfoContext(ctx, "re-wrapped upload key", "id", u.info.ID, "kid", primary)
		n++
	}
	s.progress(len(keys), len(keys))
	return n, nil
}

// progress reports done of total to Config.Progress, if set.
func (s *Store) progress(done, total int) {
	if f := s.cfg.Progress; f != nil {
		f(done, total)
	}
}

// rewrap wraps the upload's DEK under kek and rewrites .info.
func (u *upload) rewrap(ctx context.Context, kid string, kek []byte) error {
	e := &u.info.Enc
	old, err := u.s.cfg.Keyring.KEK(e.Kid)
	if err != nil {
		return err
	}
	dek, err := unwrapDEK(old, u.info)
	if err != nil {
		return err
	}
	state, err := u.runningState()
	if err != nil {
		return err
	}
	wrapped, err := wrapDEK(e.V, kek, dek, u.info.ID, kid)
	if err != nil {
		return err
	}
	return u.update(ctx, state, func(info *infoFile) {
		info.Enc.Kid, info.Enc.WrappedDEK = kid, wrapped
	})
}

// UploadIDs returns the ids of the uploads (finished or not) that start
// with prefix, e.g. "guest/alice/trip/", by listing their .info objects.
func (s *Store) UploadIDs(ctx context.Context, prefix string) ([]string, error) {
	var ids []string
	err := s.cfg.Backend.List(ctx, prefix, func(oi ObjectInfo) error {
		if k, ok := strings.CutSuffix(oi.Key, infoSuffix); ok && validID(k) {
			ids = append(ids, k)
		}
		return nil
	})
	return ids, err
}
