package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tusvault/tusvault/internal/testenv"
)

// requireBuild returns node once it and web/node_modules, as locked by
// package-lock.json, are there. Without them the test fails in CI with
// the command that fixes it, and is skipped elsewhere.
func requireBuild(t *testing.T) string {
	t.Helper()
	missing := func(msg string) {
		t.Helper()
		if testenv.InCI() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is missing: install it (Debian: apt-get install -y nodejs npm), then run npm ci --prefix web")
	}
	var lock struct {
		Packages map[string]struct{ Version string } `json:"packages"`
	}
	b, err := os.ReadFile("package-lock.json")
	if err == nil {
		err = json.Unmarshal(b, &lock)
	}
	if err != nil {
		t.Fatalf("web/package-lock.json: %v", err)
	}
	// Every locked package installed at its locked version.
	for path, want := range lock.Packages {
		if path == "" || want.Version == "" {
			continue
		}
		var got struct{ Version string }
		b, err := os.ReadFile(filepath.Join(path, "package.json"))
		if err == nil {
			err = json.Unmarshal(b, &got)
		}
		if os.IsNotExist(err) && strings.Contains(path, "@esbuild/") {
			continue // another platform's esbuild binary (optional)
		}
		if err != nil || got.Version != want.Version {
			missing("web/node_modules does not match web/package-lock.json (" + path + "): run npm ci --prefix web (make test does)")
		}
	}
	return node
}

// TestDistIsBuilt: the committed web/dist is what `npm run build` makes
// from web/src with the locked packages, byte for byte, so that the
// binary embeds the page its sources say (rebuild with make web).
func TestDistIsBuilt(t *testing.T) {
	node := requireBuild(t)
	out := filepath.Join(t.TempDir(), "dist")
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "build.mjs", out)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = 5 * time.Second
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("node build.mjs: %v\n%s", err, b)
	}
	built, committed := readTree(t, out), readTree(t, "dist")
	names := func(m map[string][]byte) []string {
		var s []string
		for k := range m {
			s = append(s, k)
		}
		slices.Sort(s)
		return s
	}
	if !slices.Equal(names(built), names(committed)) {
		t.Fatalf("the build makes %v, web/dist holds %v: run make web and commit web/dist", names(built), names(committed))
	}
	for name, b := range built {
		if !bytes.Equal(b, committed[name]) {
			t.Errorf("web/dist/%s differs from the build (%d bytes, committed %d): run make web and commit web/dist", name, len(b), len(committed[name]))
		}
	}
}

// TestDistSelfContained: the page loads nothing from elsewhere: no
// remote script, style sheet or font, every url() of its style sheet a
// data: URL, and the page's own code never writes HTML (file names are
// the uploader's text).
func TestDistSelfContained(t *testing.T) {
	for name, b := range readTree(t, "dist") {
		text := string(b)
		switch filepath.Ext(name) {
		case ".css":
			for _, m := range regexp.MustCompile(`url\(\s*['"]?([^'")\s]*)`).FindAllStringSubmatch(text, -1) {
				if !strings.HasPrefix(m[1], "data:") {
					t.Errorf("%s: url(%s) is not a data: URL", name, m[1])
				}
			}
			if strings.Contains(text, "@import") || strings.Contains(text, "@font-face") {
				t.Errorf("%s imports a style sheet or declares a font", name)
			}
		case ".js":
			if regexp.MustCompile(`\bimport\s*\(|importScripts|["'\x60](?:https?:)?//[^"'\x60\s]*\.(?:m?js|css|woff2?|ttf|otf)(?:\?[^"'\x60\s]*)?["'\x60]`).MatchString(text) {
				t.Errorf("%s loads code or styles from elsewhere", name)
			}
		}
	}
	sources, err := filepath.Glob("src/*.js")
	if err != nil || len(sources) == 0 {
		t.Fatalf("no sources in web/src (%v)", err)
	}
	for _, p := range sources {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if m := regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function`).Find(b); m != nil {
			t.Errorf("%s uses %s", p, m)
		}
	}
}

func readTree(t *testing.T, root string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(root, p)
		out[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
