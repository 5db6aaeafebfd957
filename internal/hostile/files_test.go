package hostile

import (
	"crypto/sha256"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
)

// The stored files under the stack's upload dir: what changed since the
// fixture was made, and putting it back.

type fileStat struct {
	size, mod int64
	ino       uint64
}

// scan stats every file under dir but the lock files.
func scan(dir string) (map[string]fileStat, error) {
	out := map[string]fileStat{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == ".tusvault/locks" {
				return filepath.SkipDir
			}
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		var ino uint64
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			ino = st.Ino
		}
		out[rel] = fileStat{size: fi.Size(), mod: fi.ModTime().UnixNano(), ino: ino}
		return nil
	})
	return out, err
}

// changes compares the stored files with the template: files whose
// content differs, files added and files removed.
type changes struct{ changed, added, removed []string }

func (c changes) empty() bool { return len(c.changed)+len(c.added)+len(c.removed) == 0 }

func (c changes) String() string {
	var parts []string
	for _, l := range []struct {
		what  string
		paths []string
	}{{"changed", c.changed}, {"added", c.added}, {"removed", c.removed}} {
		if len(l.paths) > 0 {
			parts = append(parts, l.what+" "+strings.Join(l.paths, ", "))
		}
	}
	return strings.Join(parts, "; ")
}

func (s *stack) diff(tb testing.TB) changes {
	tb.Helper()
	now, err := scan(s.dir)
	if err != nil {
		tb.Fatal(err)
	}
	var c changes
	for rel, st := range now {
		if k, ok := s.known[rel]; ok && k == st {
			continue
		}
		t, ok := s.template[rel]
		if !ok {
			c.added = append(c.added, rel)
			continue
		}
		b, err := os.ReadFile(filepath.Join(s.dir, rel))
		if err == nil && sha256.Sum256(b) == t.sum {
			s.known[rel] = st // rewritten with the same bytes
			continue
		}
		c.changed = append(c.changed, rel)
	}
	for rel := range s.template {
		if _, ok := now[rel]; !ok {
			c.removed = append(c.removed, rel)
		}
	}
	sort.Strings(c.changed)
	sort.Strings(c.added)
	sort.Strings(c.removed)
	return c
}

// restore puts the template back after c.
func (s *stack) restore(tb testing.TB, c changes) {
	tb.Helper()
	for _, rel := range c.added {
		p := filepath.Join(s.dir, filepath.FromSlash(rel))
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			tb.Fatal(err)
		}
		for d := filepath.Dir(rel); d != "." && !s.dirs[d]; d = filepath.Dir(d) {
			if os.Remove(filepath.Join(s.dir, filepath.FromSlash(d))) != nil {
				break // not empty
			}
		}
	}
	for _, rel := range slices.Concat(c.changed, c.removed) {
		p := filepath.Join(s.dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, s.template[rel].data, 0o600); err != nil {
			tb.Fatal(err)
		}
		fi, err := os.Stat(p)
		if err != nil {
			tb.Fatal(err)
		}
		s.known[rel] = fileStat{size: fi.Size(), mod: fi.ModTime().UnixNano(), ino: fi.Sys().(*syscall.Stat_t).Ino}
	}
}

// filesOf reports whether rel is one of the stored files of upload id
// with multipart id mpid: its object, .info, tail (fragments),
// metadata sidecar and multipart parts.
func filesOf(rel, id, mpid string) bool {
	switch rel {
	case id, id + ".info", id + ".part", ".tusvault/meta/" + id:
		return true
	}
	for _, side := range []string{".part.", ".segs.", ".tags."} { // tail fragments, segment pages, v2 tag objects
		if strings.HasPrefix(rel, id+side) {
			return true
		}
	}
	return mpid != "" && strings.HasPrefix(rel, ".tusvault/multipart/"+mpid+"/")
}

func (s *stack) spoolFiles() []string {
	entries, _ := os.ReadDir(s.spool)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}
