package store

import (
	"os"
	"testing"
)

func TestSpoolPool(t *testing.T) {
	dir := t.TempDir()
	p := &spoolPool{dir: dir}
	p.enter()
	a, err := p.get()
	if err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("spool dir lists %d files, want none (unlinked)", len(entries))
	}
	if _, err := a.Write(make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	p.put(a)
	b, err := p.get()
	if err != nil {
		t.Fatal(err)
	}
	if b != a {
		t.Error("get after put made a new file while a writer was active")
	}
	if pos, _ := b.Seek(0, 1); pos != 0 {
		t.Errorf("reused file at offset %d, want 0", pos)
	}
	// A file that would take the idle files past the bound is closed.
	if err := b.Truncate(maxIdleSpoolBytes + 1); err != nil {
		t.Fatal(err)
	}
	p.put(b)
	if len(p.idle) != 0 {
		t.Errorf("%d idle files after putting one over the bound, want 0", len(p.idle))
	}
	if _, err := b.Stat(); err == nil {
		t.Error("the file over the bound is still open")
	}
	// The last writer's leave closes the idle files; without writers,
	// put closes.
	c, _ := p.get()
	p.put(c)
	p.leave()
	if len(p.idle) != 0 || p.bytes != 0 {
		t.Errorf("after the last leave: %d idle files, %d bytes", len(p.idle), p.bytes)
	}
	if _, err := c.Stat(); err == nil {
		t.Error("an idle file is still open after the last leave")
	}
	d, _ := p.get()
	p.put(d)
	if _, err := d.Stat(); err == nil || len(p.idle) != 0 {
		t.Error("put without writers kept the file")
	}
}
