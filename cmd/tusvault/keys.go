package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/tusvault/tusvault/store/crypt"
)

// openOrCreateKeyring loads the keyring at path, or creates one (mode 0600)
// when the file does not exist, warning loudly that it must be backed up.
// Key bytes are never logged. Only the embedded default (local disk)
// creates its keyring on the fly. Processes starting together on a fresh
// upload dir share one keyring: createKeyring never replaces a file, and
// whoever finds it created meanwhile loads that one.
func openOrCreateKeyring(path string, log *slog.Logger) (*crypt.Keyring, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("keyring %s: %w", path, err)
	}
	kr, err := readKeyring(abs, log)
	if !errors.Is(err, fs.ErrNotExist) {
		return kr, err
	}
	kr, err = createKeyring(abs)
	if errors.Is(err, fs.ErrExist) { // created meanwhile by another process
		return readKeyring(abs, log)
	}
	if err != nil {
		return nil, err
	}
	log.Warn(fmt.Sprintf("WARNING: created a new keyring at %s. It holds the keys to every upload: "+
		"losing it loses every upload's data. Back it up now, and keep the copy apart from the uploads.", abs),
		"keyring", abs, "kid", kr.Primary)
	return kr, nil
}

// openExistingKeyring loads the keyring at path for serve with S3, where it
// must exist; a missing one is an error that says how to create it.
func openExistingKeyring(path string, log *slog.Logger) (*crypt.Keyring, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("keyring %s: %w", path, err)
	}
	kr, err := readKeyring(abs, log)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &wrapped{err: err, msg: fmt.Sprintf("no keyring at %s: with -s3-bucket tusvault never creates one; "+
			"create it with 'tusvault keys init -keyring %s' (and back it up), or name yours with -keyring", abs, abs)}
	}
	return kr, err
}

// readKeyring loads the keyring at abs, warning when other users can read
// it. A missing file is an error wrapping fs.ErrNotExist.
func readKeyring(abs string, log *slog.Logger) (*crypt.Keyring, error) {
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("keyring %s: %w", abs, err)
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("keyring %s: is a directory", abs)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		log.Warn(fmt.Sprintf("WARNING: the keyring %s is accessible to other users (mode %#o); restrict it with: chmod 600 %s",
			abs, fi.Mode().Perm(), abs))
	}
	kr, err := crypt.LoadKeyring(abs)
	if err != nil {
		return nil, fmt.Errorf("keyring %s: %w", abs, err)
	}
	return kr, nil
}

// createKeyring writes a new keyring (mode 0600) at path, creating its
// directory, and never replaces an existing file: it is saved under a
// temporary name and linked into place, which fails if path exists.
func createKeyring(path string) (*crypt.Keyring, error) {
	kr, err := crypt.NewKeyring()
	if err != nil {
		return nil, fmt.Errorf("new keyring: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("keyring %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".new-*")
	if err != nil {
		return nil, fmt.Errorf("keyring %s: %w", path, err)
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	if err := kr.Save(tmp.Name()); err != nil {
		return nil, fmt.Errorf("keyring %s: %w", path, err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("keyring %s: %w", path, fs.ErrExist)
		}
		return nil, fmt.Errorf("keyring %s: %w", path, err)
	}
	return kr, nil
}

// loadKeyring loads an existing keyring (the keys and decrypt commands
// never create one).
func loadKeyring(path string) (*crypt.Keyring, error) {
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no keyring at %s (use -keyring or -upload-dir)", path)
		}
		return nil, err
	}
	kr, err := crypt.LoadKeyring(path)
	if err != nil {
		return nil, fmt.Errorf("keyring %s: %w", path, err)
	}
	return kr, nil
}

// localFlags are -upload-dir and -keyring alone, for the keys commands
// that only touch the keyring file.
func localFlags(fs *flag.FlagSet) *storageFlags {
	s := defaultStorageFlags()
	fs.StringVar(&s.UploadDir, "upload-dir", s.UploadDir, "Directory the uploads are stored in (the default home of the keyring)")
	fs.StringVar(&s.Keyring, "keyring", s.Keyring, "Keyring file. Default <upload-dir>/"+defaultKeyringName)
	return &s
}

// runKeys dispatches `tusvault keys <init|rotate|rewrap>`.
func runKeys(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		printKeysUsage(stderr)
		return usageError{errors.New("keys: missing subcommand (init, rotate or rewrap)")}
	}
	switch args[0] {
	case "init":
		return runKeysInit(args[1:], getenv, stdout, stderr)
	case "rotate":
		return runKeysRotate(args[1:], getenv, stdout)
	case "rewrap":
		return runKeysRewrap(ctx, args[1:], getenv, stdout, stderr)
	case "help", "-h", "-help", "--help":
		printKeysUsage(stdout)
		return nil
	default:
		return usageError{fmt.Errorf("keys: unknown subcommand %q (want init, rotate or rewrap)", args[0])}
	}
}

// runKeysInit creates a new keyring file (mode 0600), refusing to replace
// an existing one, and prints its primary kid.
func runKeysInit(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	flags := newSubFlagSet("keys init")
	sf := localFlags(flags)
	if _, err := parseNoArgs(flags, args, stdout, keysInitUsage, getenv); err != nil {
		return err
	}
	path, err := filepath.Abs(sf.keyringPath())
	if err != nil {
		return fmt.Errorf("keys init: %w", err)
	}
	kr, err := createKeyring(path)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("keys init: %s already exists; not replacing it (it may hold the only keys to existing uploads)", path)
	}
	if err != nil {
		return fmt.Errorf("keys init: %w", err)
	}
	fmt.Fprintf(stderr, "Created the keyring %s. It holds the keys to every upload: losing it loses every upload's data. Back it up now, and keep the copy apart from the uploads.\n", path)
	_, err = fmt.Fprintln(stdout, kr.Primary)
	return err
}

// runKeysRotate adds a new primary key to the keyring file and prints its
// kid. Old keys stay, so existing uploads still decrypt; a running server
// uses the new key after a restart.
func runKeysRotate(args []string, getenv func(string) string, stdout io.Writer) error {
	fs := newSubFlagSet("keys rotate")
	sf := localFlags(fs)
	if _, err := parseNoArgs(fs, args, stdout, keysRotateUsage, getenv); err != nil {
		return err
	}
	path := sf.keyringPath()
	kr, err := loadKeyring(path)
	if err != nil {
		return fmt.Errorf("keys rotate: %w", err)
	}
	kid, err := kr.Rotate()
	if err != nil {
		return fmt.Errorf("keys rotate: %w", err)
	}
	if err := kr.Save(path); err != nil {
		return fmt.Errorf("keys rotate: save keyring %s: %w", path, err)
	}
	_, err = fmt.Fprintln(stdout, kid)
	return err
}

// runKeysRewrap re-wraps every upload's data key under the primary key, on
// either backend, and prints how many uploads it re-wrapped.
func runKeysRewrap(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	sf := defaultStorageFlags()
	fs := newSubFlagSet("keys rewrap")
	sf.register(fs)
	fromEnv, err := parseNoArgs(fs, args, stdout, keysRewrapUsage, getenv)
	if err != nil {
		return err
	}
	if err := sf.validate(); err != nil {
		return usageError{fromEnv.explain(fmt.Errorf("keys rewrap: %w", err))}
	}
	st, kr, err := sf.openStore(ctx, getenv, sf.offlineLogger(stderr), countProgress(stderr, "re-wrapping upload keys"))
	if err != nil {
		return fmt.Errorf("keys rewrap: %w", err)
	}
	n, err := st.Rewrap(ctx)
	if err != nil {
		return fmt.Errorf("keys rewrap: after %d uploads: %w", n, err)
	}
	_, err = fmt.Fprintf(stdout, "Re-wrapped %d uploads under key %s.\n", n, kr.Primary)
	return err
}

const keysUsage = `Usage: tusvault keys <command> [flags]

Commands:
  init     create a new keyring file (never replaces one) and print its kid
  rotate   add a new primary key to the keyring and print its kid
  rewrap   re-wrap every upload's data key under the primary key
`

const keysInitUsage = `Usage: tusvault keys init [-upload-dir DIR] [-keyring FILE]

Creates a new keyring file (mode 0600, default <upload-dir>/keyring.json) and
prints its primary kid. An existing file is never replaced. serve creates the
keyring by itself only on local disk; with -s3-bucket, create it with this
command first. Back the file up: without it no upload can be decrypted.
`

const keysRotateUsage = `Usage: tusvault keys rotate [-upload-dir DIR] [-keyring FILE]

Adds a new primary key to the keyring file and prints its kid. New uploads are
encrypted under it once the server restarts; old keys stay in the keyring, so
existing uploads keep decrypting. Run "tusvault keys rewrap" next to move the
existing uploads to the new key.
`

const keysRewrapUsage = `Usage: tusvault keys rewrap [storage flags]

Re-wraps the data key of every upload under the keyring's primary key (only
the upload's .info changes; data objects are not rewritten) and prints how
many uploads were re-wrapped. Run it while the server is stopped. The storage
flags (-upload-dir, -keyring, -s3-*) select the uploads as for serve.
`

func printKeysUsage(w io.Writer) { fmt.Fprint(w, keysUsage) }
