package disk

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ErrInvalidKey is returned (wrapped, with the reason) for a key that the
// disk backend refuses to map to a file name.
var ErrInvalidKey = errors.New("disk: invalid key")

// maxKeyLen is the S3 limit on key length in bytes.
const maxKeyLen = 1024

// internalDir is the name of the directory under the root that holds the
// backend's own files. Keys can never name it: no segment starts with '.'.
const internalDir = ".tusvault"

// validateKey checks that key is a slash-separated relative name that maps
// to a path strictly inside the backend's directory.
func validateKey(key string) error {
	if key == "" {
		return fmt.Errorf("%w: empty key", ErrInvalidKey)
	}
	if len(key) > maxKeyLen {
		return fmt.Errorf("%w: key is %d bytes, limit is %d", ErrInvalidKey, len(key), maxKeyLen)
	}
	if !utf8.ValidString(key) {
		return fmt.Errorf("%w: %q is not valid UTF-8", ErrInvalidKey, key)
	}
	for _, r := range key {
		switch {
		case r < 0x20 || r == 0x7f:
			return fmt.Errorf("%w: %q contains a control character", ErrInvalidKey, key)
		case r == '\\':
			return fmt.Errorf("%w: %q contains a backslash", ErrInvalidKey, key)
		}
	}
	segs := strings.Split(key, "/")
	for _, s := range segs {
		if err := checkSegment(s); err != nil {
			return fmt.Errorf("%w: %q: %s", ErrInvalidKey, key, err)
		}
	}
	if reservedName(segs[len(segs)-1]) {
		return fmt.Errorf("%w: %q: names ending in .lock, .stop or .lock.<digits> are reserved for lock files", ErrInvalidKey, key)
	}
	return nil
}

// checkSegment reports why s cannot be one segment of a key, or nil.
func checkSegment(s string) error {
	switch {
	case s == "":
		return errors.New("empty segment (leading, trailing or double slash)")
	case s == "." || s == "..":
		return fmt.Errorf("segment %q is not allowed", s)
	case s[0] == '.':
		return fmt.Errorf("segment %q starts with a dot", s)
	}
	return nil
}

// reservedName reports whether a file name belongs to tusd's filelocker,
// which keeps "<id>.lock" and "<id>.stop" files in the same directory; while
// taking a lock it also briefly creates a temp file "<id>.lock.<digits>".
func reservedName(name string) bool {
	if strings.HasSuffix(name, ".lock") || strings.HasSuffix(name, ".stop") {
		return true
	}
	i := strings.LastIndex(name, ".lock.")
	if i < 0 || i+len(".lock.") == len(name) {
		return false
	}
	for _, c := range name[i+len(".lock."):] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// validName reports whether a directory entry found under the root can be
// part of a key: List uses it to skip foreign and internal files.
func validName(name string, isDir bool) bool {
	if checkSegment(name) != nil || !utf8.ValidString(name) {
		return false
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return false
		}
	}
	return isDir || !reservedName(name)
}

// validMultipartID reports whether id has the form CreateMultipart hands
// out: 32 lower-case hex digits. Anything else cannot name an upload, which
// also keeps ids from reaching outside the multipart directory.
func validMultipartID(id string) bool {
	if len(id) != 32 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// lowerMeta returns meta with lower-case keys, or nil if meta is empty. Two
// keys that differ only in case are an error: one value would be lost.
func lowerMeta(meta map[string]string) (map[string]string, error) {
	if len(meta) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(meta))
	for k, v := range meta {
		lk := strings.ToLower(k)
		if old, dup := out[lk]; dup && old != v {
			return nil, fmt.Errorf("disk: metadata keys differing only in case: %q", lk)
		}
		out[lk] = v
	}
	return out, nil
}
