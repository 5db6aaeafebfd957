package disk

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// sidecar is the JSON stored at .tusvault/meta/<key> for an object that was
// completed from a multipart upload with metadata. Size binds it to the
// object it was written for: a sidecar whose size differs from the object's
// is stale (left by a crash between two renames) and ignored.
type sidecar struct {
	Size int64             `json:"size"`
	Meta map[string]string `json:"meta"`
}

func (b *Backend) metaPath(key string) string {
	return filepath.Join(b.metaDir, filepath.FromSlash(key))
}

// readMeta returns the metadata of key's object, which has the given size.
func (b *Backend) readMeta(key string, size int64) (map[string]string, error) {
	data, err := os.ReadFile(b.metaPath(key))
	if err != nil {
		if isNotFound(err) || errors.Is(err, syscall.EISDIR) {
			return nil, nil // a directory: sidecars of keys below key
		}
		return nil, err
	}
	var sc sidecar
	if err := json.Unmarshal(data, &sc); err != nil {
		return nil, fmt.Errorf("disk: metadata of %q: %w", key, err)
	}
	if sc.Size != size || len(sc.Meta) == 0 {
		return nil, nil
	}
	return sc.Meta, nil
}

// writeMeta atomically stores the sidecar of key; with no metadata it
// removes any old sidecar instead.
func (b *Backend) writeMeta(key string, size int64, meta map[string]string) error {
	if len(meta) == 0 {
		return b.removeMeta(key)
	}
	data, err := json.Marshal(sidecar{Size: size, Meta: meta})
	if err != nil {
		return err
	}
	t, err := b.createTemp("meta-*")
	if err != nil {
		return err
	}
	defer t.discard()
	if _, err := t.Write(data); err != nil {
		return err
	}
	if err := t.finish(); err != nil {
		return err
	}
	return t.commit(b.metaDir, key)
}

// removeMeta removes key's sidecar and the meta directories left empty.
func (b *Backend) removeMeta(key string) error {
	err := os.Remove(b.metaPath(key))
	if err != nil {
		if isNotFound(err) {
			return nil
		}
		return err
	}
	removeEmptyParents(b.metaDir, key)
	return nil
}
