package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/tusvault/tusvault/store"
)

const decryptUsage = `Usage: tusvault decrypt [storage flags] [-o FILE] UPLOAD_ID

Writes the plaintext of a finished upload, of format v2 or v1, to stdout,
or to FILE (mode 0600, written to a temporary file beside it and renamed only
once the whole upload is decrypted). Nothing is written before the upload is
verified: every chunk and the object-level tag (v2), or the tag over the
whole object (v1), over a copy of the ciphertext that is then decrypted. An
upload that does not verify is refused: nothing is written. The storage
flags (-upload-dir, -keyring, -s3-*) select the uploads as for serve; the
upload is streamed from either backend, in bounded memory.
`

// runDecrypt implements `tusvault decrypt`.
func runDecrypt(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	sf := defaultStorageFlags()
	var out string
	fs := newSubFlagSet("decrypt")
	sf.register(fs)
	fs.StringVar(&out, "o", "", "Write the plaintext to this file instead of stdout (\"-\": stdout)")
	pos, fromEnv, err := parseSub(fs, args, stdout, decryptUsage, getenv)
	if err != nil {
		return err
	}
	if len(pos) != 1 || pos[0] == "" {
		return usageError{errors.New("decrypt: want exactly one UPLOAD_ID (see tusvault decrypt -h)")}
	}
	if err := sf.validate(); err != nil {
		return usageError{fromEnv.explain(fmt.Errorf("decrypt: %w", err))}
	}
	id := pos[0]

	st, _, err := sf.openStore(ctx, getenv, sf.offlineLogger(stderr), nil)
	if err != nil {
		return fmt.Errorf("decrypt: %w", err)
	}
	write := func(w io.Writer) error { return st.Decrypt(ctx, id, w) }
	if out == "" || out == "-" {
		err = writeBuffered(stdout, write)
	} else {
		err = writeFileAtomic(out, withProgress(ctx, st, id, stderr, write))
	}
	if err != nil {
		return decryptError(id, err)
	}
	return nil
}

// withProgress makes write also drive a progress bar of the upload's
// bytes on stderr, when stderr is a terminal.
func withProgress(ctx context.Context, st *store.Store, id string, stderr io.Writer, write func(io.Writer) error) func(io.Writer) error {
	if !isTerminal(stderr) {
		return write
	}
	fi, err := st.Peek(ctx, id)
	if err != nil {
		return write // Decrypt says what is wrong
	}
	return func(w io.Writer) error {
		bar := newBar(stderr, fi.Size, "decrypting", true)
		err := write(io.MultiWriter(w, bar))
		if err == nil {
			bar.Finish()
		}
		return err
	}
}

// decryptError words a failed decryption for the operator, keeping the
// cause for errors.Is.
func decryptError(id string, err error) error {
	if errors.Is(err, store.ErrTagMismatch) {
		return &wrapped{msg: fmt.Sprintf("decrypt: %s: tag mismatch, refusing to output", id), err: err}
	}
	return fmt.Errorf("decrypt: %s: %w", id, err)
}

// wrapped is an error with its own message and a cause.
type wrapped struct {
	msg string
	err error
}

func (w *wrapped) Error() string { return w.msg }
func (w *wrapped) Unwrap() error { return w.err }

// writeBuffered runs write into a buffered w and flushes it.
func writeBuffered(w io.Writer, write func(io.Writer) error) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := write(bw); err != nil {
		return err
	}
	return bw.Flush()
}

// writeFileAtomic creates path (mode 0600) with what write writes, through a
// temporary file in the same directory that is renamed over path only when
// write succeeded and the data is synced; on any failure the temporary file
// is removed and path is left as it was.
func writeFileAtomic(path string, write func(io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	if err := writeBuffered(f, write); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
