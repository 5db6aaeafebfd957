package main

import (
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"time"

	"github.com/tusvault/tusvault/hooks"
)

// The -auth modes.
const (
	authJWT  = "jwt"
	authNone = "none"
)

// defaultSecretName is the auto-created HS256 secret's file name inside the
// upload dir.
const defaultSecretName = "auth.secret"

// authFlags say how serve authenticates and routes uploads (package hooks).
type authFlags struct {
	Auth               string               // -auth, default "jwt" (or "none": open uploads, tusd's behaviour)
	AuthSecretFile     string               // -auth-secret-file, default "" = <upload-dir>/auth.secret, created when missing (local disk only)
	AuthSecretEncoding hooks.SecretEncoding // -auth-secret-encoding, default raw (the file's trimmed text is the key; or base64: decoded)
	AuthPublicKeyFile  string               // -auth-public-key-file, default "" (HS256 with the secret file)
	AuthIssuer         string               // -auth-issuer, default "" (iss not checked)
	AuthAudience       string               // -auth-audience, default "" (aud not checked)
	AuthResumeGrace    time.Duration        // -auth-resume-grace, default 24h (0: none)
	HomeMaxSize        byteSize             // -home-max-size, default 0 (no limit of its own)
	GuestMaxSize       byteSize             // -guest-max-size, default 0 (no limit of its own)
	HomePrefix         string               // -home-prefix, default "home"
	GuestPrefix        string               // -guest-prefix, default "guest"
	PublicPrefix       string               // -public-prefix, default "public"
}

func defaultAuthFlags() authFlags {
	return authFlags{
		Auth:            authJWT,
		AuthResumeGrace: hooks.DefaultResumeGrace,
		HomePrefix:      hooks.RouteHome,
		GuestPrefix:     hooks.RouteGuest,
		PublicPrefix:    hooks.RoutePublic,
	}
}

// register binds the auth and routing flags to a, with a's values as
// defaults.
func (a *authFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&a.Auth, "auth", a.Auth, "Authentication of uploads: jwt (bearer tokens minted by the host application or 'tusvault token') or none (open uploads as in tusd: anyone may upload, and anyone with an upload's URL may read, resume and delete it; only behind a proxy that authenticates)")
	fs.StringVar(&a.AuthSecretFile, "auth-secret-file", a.AuthSecretFile, "File holding the HS256 secret tokens are signed with: its text as written, surrounding whitespace trimmed, is the key (at least 32 bytes; make one with: openssl rand -hex 32 > FILE), unless -auth-secret-encoding=base64. Default <upload-dir>/"+defaultSecretName+", created (mode 0600, 43 characters of random base64url text) when missing, on the local disk only: with -s3-bucket give this or -auth-public-key-file")
	fs.TextVar(&a.AuthSecretEncoding, "auth-secret-encoding", a.AuthSecretEncoding, "How the secret file's text becomes the HS256 key, by `encoding`: raw (the key is the text as written, surrounding whitespace trimmed, as PostgREST, Hasura and JWT libraries take a shared secret) or base64 (the key is the text base64-decoded, standard or URL-safe alphabet, padded or not; at least 32 bytes). Give 'tusvault token' the same")
	fs.StringVar(&a.AuthPublicKeyFile, "auth-public-key-file", a.AuthPublicKeyFile, "PEM public key (Ed25519, RSA of 2048 bits or more, ECDSA P-256) verifying EdDSA, RS256 or ES256 tokens, instead of an HS256 secret")
	fs.StringVar(&a.AuthIssuer, "auth-issuer", a.AuthIssuer, "If set, tokens must carry this \"iss\" claim")
	fs.StringVar(&a.AuthAudience, "auth-audience", a.AuthAudience, "If set, tokens must carry this \"aud\" claim")
	fs.DurationVar(&a.AuthResumeGrace, "auth-resume-grace", a.AuthResumeGrace, "How long after it expired a token may still resume (HEAD, PATCH) an unfinished upload it created; creating, downloading, DELETE and anything on a finished upload need a live token (0: no grace)")
	fs.Var(&a.HomeMaxSize, "home-max-size", "Maximum `size` of a home upload (bytes, or with KiB, MiB, GiB, KB, MB, GB; 0: no limit). A token's max_size applies too; the smaller wins")
	fs.Var(&a.GuestMaxSize, "guest-max-size", "Maximum `size` of a guest upload (bytes, or with KiB, MiB, GiB, KB, MB, GB; 0: no limit). A token's max_size applies too; the smaller wins")
	fs.StringVar(&a.HomePrefix, "home-prefix", a.HomePrefix, "First segment of the ids (and object keys) of home uploads: <prefix>/<user>/<id>")
	fs.StringVar(&a.GuestPrefix, "guest-prefix", a.GuestPrefix, "First segment of the ids (and object keys) of guest uploads: <prefix>/<owner>/<share>/<id>")
	fs.StringVar(&a.PublicPrefix, "public-prefix", a.PublicPrefix, "First segment of the ids (and object keys) of open uploads (-auth=none): <prefix>/<id>")
}

// open reports whether uploads are open (-auth=none).
func (a *authFlags) open() bool { return a.Auth == authNone }

// autoSecret reports whether serve uses the secret file it creates itself:
// jwt mode with neither key file given (the local disk only; validate
// refuses it with S3).
func (a *authFlags) autoSecret() bool {
	return !a.open() && a.AuthSecretFile == "" && a.AuthPublicKeyFile == ""
}

// secretPath is -auth-secret-file or its default inside uploadDir.
func (a *authFlags) secretPath(uploadDir string) string {
	if a.AuthSecretFile != "" {
		return a.AuthSecretFile
	}
	return filepath.Join(uploadDir, defaultSecretName)
}

// validate reports the first invalid auth or routing flag in one line; s3
// is whether the uploads are in a bucket.
func (a *authFlags) validate(s3 bool) error {
	switch a.Auth {
	case authJWT:
		if a.AuthSecretFile != "" && a.AuthPublicKeyFile != "" {
			return errors.New("-auth-secret-file and -auth-public-key-file exclude each other: give one")
		}
		if s3 && a.autoSecret() {
			return errors.New("with -s3-bucket, give -auth-secret-file or -auth-public-key-file (or -auth=none behind an authenticating proxy)")
		}
		if a.AuthPublicKeyFile != "" && a.AuthSecretEncoding != hooks.SecretRaw {
			return errors.New("-auth-secret-encoding applies to the secret file, not to -auth-public-key-file")
		}
	case authNone:
		for _, f := range []struct {
			name string
			set  bool
		}{
			{"-auth-secret-file", a.AuthSecretFile != ""},
			{"-auth-secret-encoding", a.AuthSecretEncoding != hooks.SecretRaw},
			{"-auth-public-key-file", a.AuthPublicKeyFile != ""},
			{"-auth-issuer", a.AuthIssuer != ""},
			{"-auth-audience", a.AuthAudience != ""},
			{"-home-max-size", a.HomeMaxSize != 0},
			{"-guest-max-size", a.GuestMaxSize != 0},
		} {
			if f.set {
				return fmt.Errorf("%s needs -auth=jwt", f.name)
			}
		}
	default:
		return fmt.Errorf("invalid -auth %q: must be jwt or none", a.Auth)
	}
	if a.AuthResumeGrace < 0 {
		return fmt.Errorf("invalid -auth-resume-grace %s: must be 0 (none) or positive", a.AuthResumeGrace)
	}
	_, err := hooks.New(hooks.Config{HomePrefix: a.HomePrefix, GuestPrefix: a.GuestPrefix, PublicPrefix: a.PublicPrefix})
	if err != nil || a.HomePrefix == "" || a.GuestPrefix == "" || a.PublicPrefix == "" {
		return fmt.Errorf("invalid -home-prefix, -guest-prefix or -public-prefix (%q, %q, %q): each must be one segment of [a-z0-9_-], all different",
			a.HomePrefix, a.GuestPrefix, a.PublicPrefix)
	}
	return nil
}

// resumeGrace is -auth-resume-grace as hooks.AuthConfig wants it (there,
// zero selects the default and a negative value none).
func (a *authFlags) resumeGrace() time.Duration {
	if a.AuthResumeGrace == 0 {
		return -1
	}
	return a.AuthResumeGrace
}
