package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tusvault/tusvault/hooks"
)

// The development links serve prints at startup when it uses its own
// secret: a home token for devUser and a guest token for the share
// devUser/devShare, valid for devLinkTTL.
const (
	devUser    = "dev"
	devShare   = "demo"
	devLinkTTL = 24 * time.Hour
)

// authSetup is what serve needs of the auth flags.
type authSetup struct {
	// verifier checks bearer tokens; nil with -auth=none.
	verifier *hooks.Verifier
	// links mints the startup links; set only with the auto secret.
	links *hooks.Signer
}

// setupAuth loads the key -auth-* names (creating the auto secret on the
// local disk when missing) and logs the choice; with -auth=none it prints
// the open-uploads warning. uploadDir is absolute.
func setupAuth(a authFlags, uploadDir string, out *output) (*authSetup, error) {
	if a.open() {
		out.warn(
			"WARNING: -auth=none: uploads are OPEN. Anyone who can reach this server can upload files,",
			"WARNING: and anyone who has an upload's URL can read, resume and delete it.",
			"WARNING: Run tusvault like this only behind a proxy that authenticates every request.",
		)
		return &authSetup{}, nil
	}
	ac := hooks.AuthConfig{Issuer: a.AuthIssuer, Audience: a.AuthAudience, ResumeGrace: a.resumeGrace()}
	var what string
	var links *hooks.Signer
	switch {
	case a.AuthPublicKeyFile != "":
		pub, err := hooks.LoadPublicKeyFile(a.AuthPublicKeyFile)
		if err != nil {
			return nil, err
		}
		ac.PublicKey = pub
		what = "public key " + a.AuthPublicKeyFile
	default:
		path := a.secretPath(uploadDir)
		enc := a.AuthSecretEncoding
		secret, created, err := loadSecret(path, enc, a.autoSecret())
		if err != nil {
			return nil, err
		}
		if created {
			out.printf("Created a new auth secret at %s (mode 0600): tokens signed with it are accepted. Mint them with 'tusvault token' or in the host application (see README).", path)
		}
		warnLoose(path, out)
		ac.Secret = secret
		what = fmt.Sprintf("the secret in %s (%s, %d bytes)", path, secretReading(enc), len(secret))
		if a.autoSecret() {
			if links, err = hooks.NewSigner(secret, nil, a.AuthIssuer, a.AuthAudience); err != nil {
				return nil, err
			}
		}
	}
	v, err := hooks.NewVerifier(ac)
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	line := fmt.Sprintf("Using bearer tokens (JWT, %s) verified with %s", v.Algorithm(), what)
	if a.AuthIssuer != "" {
		line += fmt.Sprintf(", issuer %q", a.AuthIssuer)
	}
	if a.AuthAudience != "" {
		line += fmt.Sprintf(", audience %q", a.AuthAudience)
	}
	if a.AuthResumeGrace > 0 {
		line += fmt.Sprintf("; expired tokens may resume uploads for %s", shortDuration(a.AuthResumeGrace))
	}
	out.startup("%s.", line)
	return &authSetup{verifier: v, links: links}, nil
}

// loadSecret reads the HS256 secret at path as enc says; with create, a
// missing file is created (mode 0600) and created is true. Processes
// starting together on a fresh upload dir share one secret: the file is
// linked into place, never replaced, and whoever finds it created
// meanwhile reads that one. The key is always read back from the file,
// so that a created secret is read as enc says too.
func loadSecret(path string, enc hooks.SecretEncoding, create bool) (secret []byte, created bool, err error) {
	secret, err = hooks.LoadSecretFile(path, enc)
	if err == nil || !create || !errors.Is(err, fs.ErrNotExist) {
		return secret, false, err
	}
	switch _, err = hooks.CreateSecretFile(path); {
	case err == nil:
		created = true
	case errors.Is(err, fs.ErrExist): // created meanwhile by another process
	default:
		return nil, false, err
	}
	if secret, err = hooks.LoadSecretFile(path, enc); err != nil {
		return nil, false, err
	}
	return secret, created, nil
}

// secretReading words how enc reads a secret file, for the startup log.
func secretReading(enc hooks.SecretEncoding) string {
	if enc == hooks.SecretBase64 {
		return "base64-decoded"
	}
	return "its text as written"
}

// warnLoose warns when other users may read a key file.
func warnLoose(path string, out *output) {
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		out.log.Warn(fmt.Sprintf("WARNING: the auth secret %s is accessible to other users (mode %#o); restrict it with: chmod 600 %s",
			path, fi.Mode().Perm(), path))
	}
}

// printLinks prints the development links (auto secret only) before the
// last startup line: a home link and a guest link to the root of the
// server, the token in the URL fragment, which browsers never send. With
// a UNIX socket the tokens alone are printed.
func printLinks(a *authSetup, out *output, cfg Config, scheme string, addr net.Addr, uploadDir string) error {
	if a.links == nil {
		return nil
	}
	home, err := a.links.Mint(hooks.Claims{Kind: hooks.KindHome, Subject: devUser}, devLinkTTL)
	if err != nil {
		return fmt.Errorf("startup links: %w", err)
	}
	guest, err := a.links.Mint(hooks.Claims{Kind: hooks.KindGuest, Owner: devUser, Share: devShare}, devLinkTTL)
	if err != nil {
		return fmt.Errorf("startup links: %w", err)
	}
	valid := shortDuration(devLinkTTL)
	if cfg.UnixSock != "" {
		out.startup("Home upload token (user %q, valid %s): %s", devUser, valid, home)
		out.startup("Guest upload token (share %q, valid %s): %s", devUser+"/"+devShare, valid, guest)
	} else {
		root := fmt.Sprintf("%s://%s/#token=", scheme, linkHost(cfg.Host, addr))
		out.startup("Home upload link (user %q, valid %s): %s%s", devUser, valid, root, home)
		out.startup("Guest upload link (share %q, valid %s): %s%s", devUser+"/"+devShare, valid, root, guest)
	}
	out.startup("Clients send tokens as 'Authorization: Bearer <token>'; mint more with: tusvault token home NAME -upload-dir %s", uploadDir)
	return nil
}

// linkHost is the host:port of a link to the listener bound for -host
// flagHost: a wildcard address becomes a loopback one, 127.0.0.1 for
// 0.0.0.0 (which Go binds dual-stack, reported as [::]) and localhost for
// :: or an empty -host.
func linkHost(flagHost string, addr net.Addr) string {
	ta, ok := addr.(*net.TCPAddr)
	if !ok || !ta.IP.IsUnspecified() {
		return addr.String()
	}
	host := "localhost"
	if ip := net.ParseIP(strings.Trim(flagHost, "[]")); ta.IP.To4() != nil || (ip != nil && ip.To4() != nil) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, fmt.Sprint(ta.Port))
}

// shortDuration is d without trailing zero units: 24h, 90m, 1h30m.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// absUploadDir is the upload dir made absolute, for messages and paths.
func absUploadDir(dir string) string {
	if abs, err := filepath.Abs(dir); err == nil {
		return abs
	}
	return dir
}
