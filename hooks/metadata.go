package hooks

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/tus/tusd/v2/pkg/handler"
)

// MaxMetadataBytes bounds the Upload-Metadata header, and
// MaxMetadataPairs the pairs it holds: tusd serializes an upload's
// metadata for every HEAD by appending pair after pair to a string, in
// time and garbage quadratic in the pairs (64 KiB of 10,000 one-letter
// keys cost 350 MB of allocation per HEAD).
const (
	MaxMetadataBytes = 64 << 10
	MaxMetadataPairs = 100
)

// ErrInvalidMetadata is the client-visible error for a malformed
// Upload-Metadata header.
func errInvalidMetadata(reason string) error {
	return handler.NewError("ERR_INVALID_METADATA", "invalid Upload-Metadata: "+reason, http.StatusBadRequest)
}

// ParseMetadata parses an Upload-Metadata header strictly, as tus 1.0
// defines it: comma-separated pairs of a key and, after one space, its
// value in standard padded base64; a key alone has an empty value. Keys
// are non-empty printable ASCII without spaces or commas, and unique;
// values decode to UTF-8 text (the store keeps them as JSON strings,
// which would alter any other bytes). At most MaxMetadataBytes and
// MaxMetadataPairs.
// tusd drops malformed pairs silently; tusvault refuses the request with
// 400 instead, so a client learns its file name was not stored.
func ParseMetadata(header string) (map[string]string, error) {
	meta := map[string]string{}
	if strings.TrimSpace(header) == "" {
		return meta, nil
	}
	if len(header) > MaxMetadataBytes {
		return nil, errInvalidMetadata(fmt.Sprintf("longer than %d bytes", MaxMetadataBytes))
	}
	pairs := strings.Split(header, ",")
	if len(pairs) > MaxMetadataPairs {
		return nil, errInvalidMetadata(fmt.Sprintf("more than %d pairs", MaxMetadataPairs))
	}
	for _, pair := range pairs {
		pair = strings.Trim(pair, " \t")
		key, value, hasValue := strings.Cut(pair, " ")
		if !validKey(key) {
			return nil, errInvalidMetadata(fmt.Sprintf("bad key %q", truncate(key)))
		}
		if _, dup := meta[key]; dup {
			return nil, errInvalidMetadata(fmt.Sprintf("key %q given twice", key))
		}
		var decoded []byte
		if hasValue {
			var err error
			if decoded, err = base64.StdEncoding.Strict().DecodeString(value); err != nil {
				return nil, errInvalidMetadata(fmt.Sprintf("value of %q is not base64", key))
			}
			if !utf8.Valid(decoded) {
				// The store keeps metadata as JSON strings, which would
				// replace the invalid bytes with U+FFFD.
				return nil, errInvalidMetadata(fmt.Sprintf("value of %q is not UTF-8", key))
			}
		}
		meta[key] = string(decoded)
	}
	return meta, nil
}

func validKey(k string) bool {
	if k == "" || len(k) > 256 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; c <= ' ' || c >= 0x7f || c == ',' {
			return false
		}
	}
	return true
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
