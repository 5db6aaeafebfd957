package main

import (
	"context"
	"crypto"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"

	"github.com/tusvault/tusvault/hooks"
)

// defaultTokenTTL is -ttl of `tusvault token`.
const defaultTokenTTL = 24 * time.Hour

const tokenUsage = `Usage: tusvault token home SUBJECT [flags]
       tusvault token guest -owner OWNER -share SHARE [flags]

Prints a signed bearer token (a JWT) on stdout, one line, for development
and operations; host applications mint their own the same way (see the
README). A home token lets SUBJECT upload to, and read and delete, their
account (home/<SUBJECT>/...); a guest token lets its holder upload into the
share OWNER/SHARE (guest/<OWNER>/<SHARE>/...), within its limits, and
resume or delete those uploads, but never download. Guest tokens always
expire (-ttl > 0); a home token with -ttl 0 never does.

The token is signed with the HS256 secret the server uses
(-auth-secret-file, default <upload-dir>/auth.secret, which a server on the
local disk creates on its first start), read as the server reads it: its
text as written, surrounding whitespace trimmed, or base64-decoded with
-auth-secret-encoding=base64. Or it is signed with -auth-private-key-file
(EdDSA, RS256 or ES256) for a server started with the matching
-auth-public-key-file. Give the -auth-issuer and -auth-audience the server
checks.
`

// tokenFlags are the flags of both token kinds.
type tokenFlags struct {
	uploadDir, secretFile, keyFile, issuer, audience string
	encoding                                         hooks.SecretEncoding
	ttl                                              time.Duration
	maxSize                                          byteSize
	// Guest tokens only.
	owner, share string
	maxFiles     int
	types        string
}

func (t *tokenFlags) register(fs *flag.FlagSet, guest bool) {
	fs.StringVar(&t.uploadDir, "upload-dir", "./data", "Upload directory of the server, whose "+defaultSecretName+" is the default secret")
	fs.StringVar(&t.secretFile, "auth-secret-file", "", "HS256 secret file (default <upload-dir>/"+defaultSecretName+"; must exist)")
	fs.TextVar(&t.encoding, "auth-secret-encoding", hooks.SecretRaw, "How the secret file's text becomes the key, by `encoding`: raw (the text as written, surrounding whitespace trimmed) or base64 (the text base64-decoded); the server's -auth-secret-encoding")
	fs.StringVar(&t.keyFile, "auth-private-key-file", "", "PEM private key (Ed25519, RSA, ECDSA P-256) to sign EdDSA, RS256 or ES256 tokens with, instead of the secret")
	fs.StringVar(&t.issuer, "auth-issuer", "", "The \"iss\" claim (the server's -auth-issuer)")
	fs.StringVar(&t.audience, "auth-audience", "", "The \"aud\" claim (the server's -auth-audience)")
	fs.DurationVar(&t.ttl, "ttl", defaultTokenTTL, "How long the token is valid (\"exp\"); 0: no expiry (home tokens only)")
	fs.Var(&t.maxSize, "max-size", "Largest upload the token allows, in `size` (bytes, or with KiB, MiB, GiB, KB, MB, GB; 0: no limit of its own)")
	if guest {
		fs.StringVar(&t.owner, "owner", "", "Account that owns the share (required)")
		fs.StringVar(&t.share, "share", "", "Name of the share (required)")
		fs.IntVar(&t.maxFiles, "max-files", 0, "Most uploads the share may hold (0: no limit)")
		fs.StringVar(&t.types, "types", "", "Comma-separated MIME patterns the guest may upload, such as 'image/*,application/pdf' (default: any)")
	}
}

// runToken implements `tusvault token home|guest`.
func runToken(_ context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 || (args[0] != hooks.KindHome && args[0] != hooks.KindGuest) {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprint(stdout, tokenUsage)
			return flag.ErrHelp
		}
		return usageError{errors.New("token: want 'token home SUBJECT' or 'token guest -owner OWNER -share SHARE'")}
	}
	kind := args[0]
	guest := kind == hooks.KindGuest
	var t tokenFlags
	fs := newSubFlagSet("token " + kind)
	t.register(fs, guest)
	pos, fromEnv, err := parseSub(fs, args[1:], stdout, tokenUsage, getenv)
	if err != nil {
		return err
	}
	c := hooks.Claims{Kind: kind, MaxSize: int64(t.maxSize)}
	if guest {
		if len(pos) > 0 {
			return usageError{fmt.Errorf("token guest: unexpected argument %q (give -owner and -share)", pos[0])}
		}
		if t.owner == "" || t.share == "" {
			return usageError{errors.New("token guest: -owner and -share are required")}
		}
		if t.ttl <= 0 {
			return usageError{fmt.Errorf("token guest: invalid -ttl %s: guest tokens must expire", t.ttl)}
		}
		if t.maxFiles < 0 {
			return usageError{fmt.Errorf("token guest: invalid -max-files %d: must be 0 (no limit) or positive", t.maxFiles)}
		}
		c.Owner, c.Share, c.MaxFiles = t.owner, t.share, t.maxFiles
		c.Types = headerList(strings.ToLower(t.types))
	} else {
		if len(pos) != 1 || pos[0] == "" {
			return usageError{errors.New("token home: want exactly one SUBJECT")}
		}
		if t.ttl < 0 {
			return usageError{fmt.Errorf("token home: invalid -ttl %s: must be 0 (no expiry) or positive", t.ttl)}
		}
		c.Subject = pos[0]
	}
	if t.secretFile != "" && t.keyFile != "" {
		return usageError{fromEnv.explain(errors.New("token: -auth-secret-file and -auth-private-key-file exclude each other"))}
	}
	if t.keyFile != "" && t.encoding != hooks.SecretRaw {
		return usageError{fromEnv.explain(errors.New("token: -auth-secret-encoding applies to the secret file, not to -auth-private-key-file"))}
	}
	signer, err := t.signer()
	if err != nil {
		return fmt.Errorf("token: %w", err)
	}
	tok, err := signer.Mint(c, t.ttl)
	if err != nil {
		return usageError{fmt.Errorf("token %s: %w", kind, err)}
	}
	_, err = fmt.Fprintln(stdout, tok)
	return err
}

// signer loads the key the flags name.
func (t *tokenFlags) signer() (*hooks.Signer, error) {
	var secret []byte
	var key crypto.Signer
	var err error
	if t.keyFile != "" {
		key, err = hooks.LoadPrivateKeyFile(t.keyFile)
	} else {
		a := authFlags{AuthSecretFile: t.secretFile}
		path := a.secretPath(t.uploadDir)
		secret, err = hooks.LoadSecretFile(path, t.encoding)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &wrapped{err: err, msg: fmt.Sprintf("no auth secret at %s: start the server once on that -upload-dir to create it, or name the server's with -auth-secret-file", path)}
		}
	}
	if err != nil {
		return nil, err
	}
	return hooks.NewSigner(secret, key, t.issuer, t.audience)
}
