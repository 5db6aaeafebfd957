package store

import "os"

// createUnlinked creates a temp file in dir and unlinks it at once: a
// crash between the two leaves a named file, which createSpool avoids
// where it can.
func createUnlinked(dir string) (*os.File, error) {
	f, err := os.CreateTemp(dir, "tusvault-part-*")
	if err != nil {
		return nil, err
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
