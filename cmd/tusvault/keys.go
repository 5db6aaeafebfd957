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

	"github.com/tusvault/tusvault/store"
	"github.com/tusvault/tusvault/store/crypt"
	"github.com/tusvault/tusvault/store/disk"
)

// openOrCreateKeyring loads the keyring at path, or creates one (mode 0600)
// when the file does not exist, warning loudly that it must be backed up.
// Key bytes are never logged.
func openOrCreateKeyring(path string, log *slog.Logger) (*crypt.Keyring, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("keyring %s: %w", path, err)
	}
	fi, err := os.Stat(abs)
	switch {
	case err == nil:
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
	case errors.Is(err, fs.ErrNotExist):
		// Create it below.
	default:
		return nil, fmt.Errorf("keyring %s: %w", abs, err)
	}

	kr, err := crypt.NewKeyring()
	if err != nil {
		return nil, fmt.Errorf("new keyring: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("keyring %s: %w", abs, err)
	}
	if err := kr.Save(abs); err != nil {
		return nil, fmt.Errorf("keyring %s: %w", abs, err)
	}
	log.Warn(fmt.Sprintf("WARNING: created a new keyring at %s. It holds the keys to every upload: "+
		"losing it loses every upload's data. Back it up now, and keep the copy apart from the uploads.", abs),
		"keyring", abs, "kid", kr.Primary)
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

// storeFlags are the flags the offline commands share: where the uploads
// and the keyring are.
type storeFlags struct {
	UploadDir string // -upload-dir, default "./data" (as serve)
	Keyring   string // -keyring, default <upload-dir>/keyring.json (as serve)
}

func (s *storeFlags) register(fs *flag.FlagSet) {
	s.UploadDir = defaultConfig().UploadDir
	fs.StringVar(&s.UploadDir, "upload-dir", s.UploadDir, "Directory the uploads are stored in")
	fs.StringVar(&s.Keyring, "keyring", "", "Keyring file. Default <upload-dir>/"+defaultKeyringName)
}

func (s *storeFlags) keyringPath() string { return keyringPath(s.Keyring, s.UploadDir) }

// openStore opens the store over the disk backend of an existing upload dir,
// for the offline commands.
func (s *storeFlags) openStore(kr *crypt.Keyring, log *slog.Logger) (*store.Store, error) {
	fi, err := os.Stat(s.UploadDir)
	if err != nil {
		return nil, fmt.Errorf("upload dir: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("upload dir %s: not a directory", s.UploadDir)
	}
	backend, err := disk.New(s.UploadDir)
	if err != nil {
		return nil, fmt.Errorf("open upload dir %s: %w", s.UploadDir, err)
	}
	st, err := store.New(store.Config{
		Backend:     backend,
		Keyring:     kr,
		SpoolDir:    defaultSpoolDir(s.UploadDir),
		Logger:      log,
		StorageType: "disk",
	})
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	return st, nil
}

// runKeys dispatches `tusvault keys <rotate|rewrap>`.
func runKeys(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		printKeysUsage(stderr)
		return usageError{errors.New("keys: missing subcommand (rotate or rewrap)")}
	}
	switch args[0] {
	case "rotate":
		return runKeysRotate(args[1:], stdout)
	case "rewrap":
		return runKeysRewrap(ctx, args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		printKeysUsage(stdout)
		return nil
	default:
		return usageError{fmt.Errorf("keys: unknown subcommand %q (want rotate or rewrap)", args[0])}
	}
}

// runKeysRotate adds a new primary key to the keyring file and prints its
// kid. Old keys stay, so existing uploads still decrypt; a running server
// uses the new key after a restart.
func runKeysRotate(args []string, stdout io.Writer) error {
	var sf storeFlags
	fs := newSubFlagSet("keys rotate")
	sf.register(fs)
	if err := parseNoArgs(fs, args, stdout, keysRotateUsage); err != nil {
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

// runKeysRewrap re-wraps every upload's data key under the primary key and
// prints how many uploads it re-wrapped.
func runKeysRewrap(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var sf storeFlags
	fs := newSubFlagSet("keys rewrap")
	sf.register(fs)
	if err := parseNoArgs(fs, args, stdout, keysRewrapUsage); err != nil {
		return err
	}
	kr, err := loadKeyring(sf.keyringPath())
	if err != nil {
		return fmt.Errorf("keys rewrap: %w", err)
	}
	st, err := sf.openStore(kr, slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
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
  rotate   add a new primary key to the keyring and print its kid
  rewrap   re-wrap every upload's data key under the primary key
`

const keysRotateUsage = `Usage: tusvault keys rotate [-upload-dir DIR] [-keyring FILE]

Adds a new primary key to the keyring file and prints its kid. New uploads are
encrypted under it once the server restarts; old keys stay in the keyring, so
existing uploads keep decrypting. Run "tusvault keys rewrap" next to move the
existing uploads to the new key.
`

const keysRewrapUsage = `Usage: tusvault keys rewrap [-upload-dir DIR] [-keyring FILE]

Re-wraps the data key of every upload under the keyring's primary key (only
the upload's .info changes; data objects are not rewritten) and prints how
many uploads were re-wrapped. Run it while the server is stopped.
`

func printKeysUsage(w io.Writer) { fmt.Fprint(w, keysUsage) }
