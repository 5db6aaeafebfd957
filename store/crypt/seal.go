package crypt

import (
	"encoding/binary"
	"fmt"
)

func stateAAD(uploadID string, committed int64, seq uint64) ([]byte, error) {
	b, err := appendLP([]byte("tusvault/v1/state"), uploadID)
	if err != nil {
		return nil, err
	}
	b = binary.BigEndian.AppendUint64(b, uint64(committed))
	return binary.BigEndian.AppendUint64(b, seq), nil
}

func metaAAD(uploadID string) ([]byte, error) {
	return appendLP([]byte("tusvault/v1/meta"), uploadID)
}

// SealState seals a marshaled MAC state under kState:
// nonce(12) ‖ AES-256-GCM-Seal(kState, nonce, state, "tusvault/v1/state" ‖
// lp(uploadID) ‖ u64 committed ‖ u64 seq), with a random nonce.
func SealState(kState, state []byte, uploadID string, committed int64, seq uint64) ([]byte, error) {
	return sealState(kState, nil, state, uploadID, committed, seq)
}

func sealState(kState, nonce, state []byte, uploadID string, committed int64, seq uint64) ([]byte, error) {
	aad, err := stateAAD(uploadID, committed, seq)
	if err != nil {
		return nil, err
	}
	return seal(kState, nonce, state, aad, "seal state")
}

// OpenState reverses SealState. Any mismatch of key, upload id, committed
// offset or sequence number, or tampering, gives an error wrapping ErrAuth.
func OpenState(kState, sealed []byte, uploadID string, committed int64, seq uint64) ([]byte, error) {
	aad, err := stateAAD(uploadID, committed, seq)
	if err != nil {
		return nil, fmt.Errorf("crypt: open state: %w", ErrAuth)
	}
	return open(kState, sealed, aad, "open state")
}

// SealMeta seals client metadata (JSON) under kMeta:
// nonce(12) ‖ AES-256-GCM-Seal(kMeta, nonce, metaJSON, "tusvault/v1/meta" ‖
// lp(uploadID)), with a random nonce.
func SealMeta(kMeta, metaJSON []byte, uploadID string) ([]byte, error) {
	return sealMeta(kMeta, nil, metaJSON, uploadID)
}

func sealMeta(kMeta, nonce, metaJSON []byte, uploadID string) ([]byte, error) {
	aad, err := metaAAD(uploadID)
	if err != nil {
		return nil, err
	}
	return seal(kMeta, nonce, metaJSON, aad, "seal meta")
}

// OpenMeta reverses SealMeta. A wrong key or upload id, or tampering, gives
// an error wrapping ErrAuth.
func OpenMeta(kMeta, sealed []byte, uploadID string) ([]byte, error) {
	aad, err := metaAAD(uploadID)
	if err != nil {
		return nil, fmt.Errorf("crypt: open meta: %w", ErrAuth)
	}
	return open(kMeta, sealed, aad, "open meta")
}
