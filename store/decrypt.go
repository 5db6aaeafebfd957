package store

import (
	"context"
	"fmt"
	"io"
	"os"
)

// Decrypt writes the plaintext of the finished upload id to w, and writes
// nothing before the tag has been verified over exactly the ciphertext it
// decrypts: the object is copied once into an unlinked spool file (as
// ciphertext, in SpoolDir) while its tag is checked, then decrypted from
// that copy, so a change of the stored object meanwhile cannot slip
// through. On a mismatch it returns an error wrapping ErrTagMismatch and w
// has received nothing. It needs free space for one copy of the upload.
// A v2 upload is copied with its chunk tags, and every chunk of the copy
// is verified before the copy is decrypted (decryptV2).
func (s *Store) Decrypt(ctx context.Context, id string, w io.Writer) error {
	if !validID(id) {
		return fmt.Errorf("invalid upload id %q", id)
	}
	u, err := s.load(ctx, id)
	if err != nil {
		return err
	}
	if u.info.Enc.Tag == nil {
		return fmt.Errorf("upload %s is not finished (offset %d of %d)", id, u.info.Offset, u.info.Size)
	}
	if u.info.Enc.v2() {
		return s.decryptV2(ctx, u, w)
	}
	f, err := s.unlinkedSpool()
	if err != nil {
		return err
	}
	defer f.Close()
	rc, c, err := u.openObject(ctx, 0, -1)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, u.tagVerifier(ctx, rc))
	rc.Close()
	if err != nil {
		return err
	}
	_, err = io.Copy(w, s.counting(c.NewReader(io.NewSectionReader(f, 0, u.info.Size), 0)))
	return err
}

// unlinkedSpool creates a file in SpoolDir that has no name any more: a
// crash leaves nothing behind.
func (s *Store) unlinkedSpool() (*os.File, error) {
	f, err := os.CreateTemp(s.cfg.SpoolDir, "tusvault-decrypt-*")
	if err != nil {
		return nil, spoolErr(err)
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, spoolErr(err)
	}
	return f, nil
}
