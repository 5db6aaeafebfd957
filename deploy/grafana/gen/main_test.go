package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/tusvault/tusvault/deploy/grafana"
)

func TestRunWritesBuild(t *testing.T) {
	out := filepath.Join(t.TempDir(), "d.json")
	if err := run([]string{"-o", out}, io.Discard); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := grafana.Build()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("gen wrote something else than grafana.Build returns")
	}
	if err := run([]string{"extra"}, io.Discard); err == nil {
		t.Error("gen accepted an argument")
	}
}
