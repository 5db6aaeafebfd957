package main

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tusvault/tusvault/store/crypt"
)

func TestKeyringAutoCreation(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	path := filepath.Join(t.TempDir(), "sub", "keyring.json")

	kr, err := openOrCreateKeyring(path, log)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("keyring mode %#o, want 0600", fi.Mode().Perm())
	}
	kek, err := kr.KEK(kr.Primary)
	if err != nil || len(kek) != 32 {
		t.Fatalf("primary KEK: %d bytes, %v", len(kek), err)
	}

	msg := logs.String()
	for _, want := range []string{"level=WARN", "WARNING", path, "losing it loses every upload's data", "Back it up"} {
		if !strings.Contains(msg, want) {
			t.Errorf("warning lacks %q:\n%s", want, msg)
		}
	}
	for _, enc := range []string{base64.StdEncoding.EncodeToString(kek), base64.RawURLEncoding.EncodeToString(kek), hex.EncodeToString(kek)} {
		if strings.Contains(msg, enc) {
			t.Fatal("the log shows the key")
		}
	}

	// The second start loads the same keyring, silently.
	logs.Reset()
	again, err := openOrCreateKeyring(path, log)
	if err != nil {
		t.Fatal(err)
	}
	if again.Primary != kr.Primary {
		t.Errorf("reloaded primary %q, created %q", again.Primary, kr.Primary)
	}
	if logs.Len() != 0 {
		t.Errorf("unexpected log on load: %s", logs.String())
	}
}

func TestKeyringLoosePermissionsWarn(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keyring.json")
	kr, err := crypt.NewKeyring()
	if err != nil {
		t.Fatal(err)
	}
	if err := kr.Save(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	if _, err := openOrCreateKeyring(path, slog.New(slog.NewTextHandler(&logs, nil))); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "chmod 600") {
		t.Errorf("no permission warning: %s", logs.String())
	}
}

func TestKeyringCorruptIsAnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keyring.json")
	if err := os.WriteFile(path, []byte(`{"v":1,"primary":"x","keys":{}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	if _, err := openOrCreateKeyring(path, slog.New(slog.NewTextHandler(&logs, nil))); err == nil {
		t.Fatal("accepted a keyring without its primary key")
	}
	if b, _ := os.ReadFile(path); !strings.Contains(string(b), `"primary":"x"`) {
		t.Error("a bad keyring was overwritten")
	}
}

func TestKeysRotate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keyring.json")
	kr, err := crypt.NewKeyring()
	if err != nil {
		t.Fatal(err)
	}
	if err := kr.Save(path); err != nil {
		t.Fatal(err)
	}
	oldKid := kr.Primary
	oldKEK, _ := kr.KEK(oldKid)

	// Default keyring location: <upload-dir>/keyring.json.
	out, _, err := runCmd(t, "keys", "rotate", "-upload-dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	newKid := strings.TrimSpace(out)

	got, err := crypt.LoadKeyring(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Primary != newKid || newKid == oldKid || newKid == "" {
		t.Errorf("primary %q, printed %q, old %q", got.Primary, newKid, oldKid)
	}
	if k, err := got.KEK(oldKid); err != nil || !bytes.Equal(k, oldKEK) {
		t.Errorf("old key lost or changed: %v", err)
	}
	if len(got.Keys) != 2 {
		t.Errorf("%d keys, want 2", len(got.Keys))
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %#o after rotate", fi.Mode().Perm())
	}

	// -keyring names the file explicitly.
	out, _, err = runCmd(t, "keys", "rotate", "-keyring", path)
	if err != nil {
		t.Fatal(err)
	}
	got, _ = crypt.LoadKeyring(path)
	if got.Primary != strings.TrimSpace(out) || len(got.Keys) != 3 {
		t.Errorf("second rotate: primary %q printed %q, %d keys", got.Primary, out, len(got.Keys))
	}
}

func TestKeysRotateNeedsAKeyring(t *testing.T) {
	dir := t.TempDir()
	_, _, err := runCmd(t, "keys", "rotate", "-upload-dir", dir)
	if err == nil || !strings.Contains(err.Error(), "no keyring") {
		t.Fatalf("got %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "keyring.json")); err == nil {
		t.Error("rotate created a keyring")
	}
}

func TestKeysInit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	path := filepath.Join(dir, "keyring.json")

	// The default location, <upload-dir>/keyring.json, its dir created.
	out, errOut, err := runCmd(t, "keys", "init", "-upload-dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	kr, err := crypt.LoadKeyring(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(out) != kr.Primary || len(kr.Keys) != 1 {
		t.Errorf("printed %q; keyring primary %q, %d keys", out, kr.Primary, len(kr.Keys))
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("keyring: %v, %v", fi, err)
	}
	if !strings.Contains(errOut, "Back it up") {
		t.Errorf("no backup warning on stderr: %q", errOut)
	}
	before, _ := os.ReadFile(path)

	// Never replaced, by either flag.
	for _, args := range [][]string{{"-upload-dir", dir}, {"-keyring", path}} {
		_, _, err = runCmd(t, append([]string{"keys", "init"}, args...)...)
		if err == nil || !strings.Contains(err.Error(), "already exists") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: got %v, want a one-line refusal", args, err)
		}
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("keys init changed an existing keyring")
	}
	assertOnlyFiles(t, dir, "keyring.json") // no temporary files left

	// -keyring names any file.
	other := filepath.Join(t.TempDir(), "k.json")
	if _, _, err := runCmd(t, "keys", "init", "-keyring", other); err != nil {
		t.Fatal(err)
	}
	if k, err := crypt.LoadKeyring(other); err != nil || k.Primary == kr.Primary {
		t.Errorf("second keyring: %v, %v", k, err)
	}
}
