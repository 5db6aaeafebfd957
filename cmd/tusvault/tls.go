package main

import (
	"crypto/tls"
	"fmt"
)

// The -tls-mode values, as in tusd.
const (
	tlsMode13       = "tls13"
	tlsMode12       = "tls12"
	tlsMode12Strong = "tls12-strong"
)

// tlsConfig returns the TLS settings of a -tls-mode, the same as tusd's:
//
//   - tls13: TLS 1.3 only.
//   - tls12 (default): TLS 1.2 with Mozilla's "intermediate" AEAD suites, and
//     TLS 1.3.
//   - tls12-strong: TLS 1.2 only, with the two AES-256-GCM ECDHE suites.
//
// The certificate is added by the caller.
func tlsConfig(mode string) (*tls.Config, error) {
	switch mode {
	case tlsMode13:
		return &tls.Config{MinVersion: tls.VersionTLS13}, nil
	case tlsMode12:
		// The 128-bit suites stay because TLS 1.3 is enabled in this
		// mode and requires an AES-128 suite.
		return &tls.Config{
			MinVersion: tls.VersionTLS12,
			CipherSuites: []uint16{
				tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
				tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
				tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
				tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
				tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305,
				tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305,
			},
		}, nil
	case tlsMode12Strong:
		return &tls.Config{
			MinVersion: tls.VersionTLS12,
			MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{
				tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
				tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			},
		}, nil
	default:
		return nil, fmt.Errorf("invalid -tls-mode %q: valid modes are tls13, tls12 (default) and tls12-strong", mode)
	}
}

// loadTLS returns the server's TLS settings with the certificate chain and
// key loaded from the given files.
func loadTLS(mode, certFile, keyFile string) (*tls.Config, error) {
	cfg, err := tlsConfig(mode)
	if err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("load TLS certificate and key: %w", err)
	}
	cfg.Certificates = []tls.Certificate{cert}
	return cfg, nil
}
