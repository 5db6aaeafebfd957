package crypt

import (
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"
)

// LinkKeyInfo is the HKDF info string of the download-link key.
const LinkKeyInfo = "tusvault/download-link/v1"

// DeriveLinkKey derives the key that signs download links from a KEK:
// HKDF-SHA256(secret = kek, salt = empty, info = LinkKeyInfo, length =
// 32). Every process that loads the same keyring derives the same key
// from the same primary KEK, and the key reveals nothing about the KEK or
// the uploads' DEKs (a different HKDF info than any key of the format).
func DeriveLinkKey(kek []byte) ([]byte, error) {
	if len(kek) != KeySize {
		return nil, errKeySize("kek", len(kek))
	}
	k, err := hkdf.Key(sha256.New, kek, nil, LinkKeyInfo, KeySize)
	if err != nil {
		return nil, fmt.Errorf("crypt: derive link key: %w", err)
	}
	return k, nil
}
