package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The long offline commands show progress on stderr when it is a terminal
// and stay quiet otherwise (scripts, logs).
func TestProgressOnTerminalsOnly(t *testing.T) {
	data := bytes.Repeat([]byte("progress "), 50000)
	dir := finishedUpload(t, testID, data)
	commands := map[string][]string{
		"decrypting":              {"decrypt", "-upload-dir", dir, "-o", filepath.Join(t.TempDir(), "out"), testID},
		"re-wrapping upload keys": {"keys", "rewrap", "-upload-dir", dir},
		"sweeping uploads":        {"cleanup", "-upload-dir", dir},
	}
	for _, args := range commands {
		if _, stderr, err := runCmd(t, args...); err != nil || stderr != "" {
			t.Errorf("%v on a non-terminal: stderr %q, %v", args, stderr, err)
		}
	}

	saved := isTerminal
	isTerminal = func(io.Writer) bool { return true }
	t.Cleanup(func() { isTerminal = saved })
	for desc, args := range commands {
		_, stderr, err := runCmd(t, args...)
		if err != nil || !strings.Contains(stderr, desc) || !strings.Contains(stderr, "100%") {
			t.Errorf("%v on a terminal: stderr %q, %v; want a bar %q reaching 100%%", args, stderr, err, desc)
		}
	}
	got, err := os.ReadFile(commands["decrypting"][4])
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("decrypted file: %d bytes, %v", len(got), err)
	}
}
