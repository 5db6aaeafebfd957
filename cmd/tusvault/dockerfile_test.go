package main

// The Dockerfile cannot be built here (no Docker engine runs where the
// tests do), so these tests check what can be checked without one: its
// shape, against the real flag set and the repository, and its build
// command, run with the same flags on exactly the files it copies.

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tusvault/tusvault/internal/testenv"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd  string // upper case
	args string // the rest of the line
	line int
}

// dockerStage is a FROM and the instructions up to the next one.
type dockerStage struct {
	image, name string
	instrs      []instruction
}

// repoRoot is the repository's root directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// parseDockerfile splits the Dockerfile into stages (comments and parser
// directives dropped).
func parseDockerfile(t *testing.T, root string) []dockerStage {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var stages []dockerStage
	var cur strings.Builder
	start := 0
	for i, l := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(l)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if cur.Len() == 0 {
			start = i + 1
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		cur.WriteString(trimmed)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		cur.Reset()
		in := instruction{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args), line: start}
		if in.cmd == "FROM" {
			f := strings.Fields(in.args)
			st := dockerStage{image: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				st.name = f[2]
			} else if len(f) != 1 {
				t.Fatalf("Dockerfile:%d: FROM %s: want IMAGE [AS NAME]", in.line, in.args)
			}
			stages = append(stages, st)
			continue
		}
		if len(stages) == 0 {
			if in.cmd != "ARG" {
				t.Fatalf("Dockerfile:%d: %s before FROM", in.line, in.cmd)
			}
			continue
		}
		stages[len(stages)-1].instrs = append(stages[len(stages)-1].instrs, in)
	}
	if len(stages) == 0 {
		t.Fatal("Dockerfile: no FROM")
	}
	return stages
}

// copyArgs splits a COPY's arguments into its --options, sources and
// destination.
func copyArgs(in instruction) (opts map[string]string, srcs []string, dest string) {
	opts = map[string]string{}
	f := strings.Fields(in.args)
	for len(f) > 0 && strings.HasPrefix(f[0], "--") {
		k, v, _ := strings.Cut(strings.TrimPrefix(f[0], "--"), "=")
		opts[k] = v
		f = f[1:]
	}
	if len(f) < 2 {
		return opts, nil, ""
	}
	return opts, f[:len(f)-1], f[len(f)-1]
}

// execForm parses an exec-form (JSON array) argument list.
func execForm(t *testing.T, in instruction, s string) []string {
	t.Helper()
	var argv []string
	if err := json.Unmarshal([]byte(s), &argv); err != nil || len(argv) == 0 {
		t.Fatalf("Dockerfile:%d: %s %s: want the exec form [\"...\"]", in.line, in.cmd, s)
	}
	return argv
}

// dockerignore is the patterns of .dockerignore.
type dockerignore []string

func readDockerignore(t *testing.T, root string) dockerignore {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	var d dockerignore
	for _, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if strings.HasPrefix(l, "!") {
			t.Fatalf(".dockerignore: exceptions (%s) are not understood by this test: extend excluded", l)
		}
		d = append(d, strings.TrimPrefix(path.Clean(l), "/"))
	}
	return d
}

// excluded reports whether the context path p (slash-separated, relative)
// or a directory above it matches a pattern, as Docker reads them
// (path.Match per prefix; a leading **/ at any depth).
func (d dockerignore) excluded(p string) bool {
	parts := strings.Split(path.Clean(p), "/")
	for _, pat := range d {
		for i := 1; i <= len(parts); i++ {
			if rest, ok := strings.CutPrefix(pat, "**/"); ok {
				for j := 0; j < i; j++ {
					if m, _ := path.Match(rest, strings.Join(parts[j:i], "/")); m {
						return true
					}
				}
				continue
			}
			if m, _ := path.Match(pat, strings.Join(parts[:i], "/")); m {
				return true
			}
		}
	}
	return false
}

func TestDockerignoreMatcher(t *testing.T) {
	d := dockerignore{".git", "bin", "**/node_modules", "tusvault", "deploy"}
	for p, want := range map[string]bool{
		".git/config": true, "bin": true, "bin/versitygw": true, "internal/jsclient/node_modules/x/y.js": true,
		"tusvault": true, "cmd/tusvault": false, "cmd/tusvault/main.go": false, "deploy/secrets/keyring.json": true,
		"internal/jsclient/package.json": false, "go.mod": false,
	} {
		if got := d.excluded(p); got != want {
			t.Errorf("excluded(%q) = %v, want %v", p, got, want)
		}
	}
}

// pinned reports whether an image reference names a tag other than latest
// (or a digest).
func pinned(image string) bool {
	if strings.Contains(image, "@sha256:") {
		return true
	}
	name := image[strings.LastIndex(image, "/")+1:]
	_, tag, ok := strings.Cut(name, ":")
	return ok && tag != "" && tag != "latest"
}

// dockerEnv is the ENV of a stage, KEY=VALUE or KEY VALUE forms.
func dockerEnv(t *testing.T, st dockerStage) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, in := range st.instrs {
		if in.cmd != "ENV" {
			continue
		}
		if k, v, ok := strings.Cut(in.args, " "); ok && !strings.Contains(k, "=") {
			env[k] = strings.TrimSpace(v)
			continue
		}
		for _, kv := range strings.Fields(in.args) {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				t.Fatalf("Dockerfile:%d: ENV %s", in.line, in.args)
			}
			env[k] = strings.Trim(v, `"`)
		}
	}
	return env
}

func TestDockerfile(t *testing.T) {
	root := repoRoot(t)
	stages := parseDockerfile(t, root)
	ignore := readDockerignore(t, root)
	final := stages[len(stages)-1]
	if len(stages) < 2 {
		t.Errorf("Dockerfile: %d stage, want a builder and a runtime stage", len(stages))
	}

	names := map[string]int{}
	for i, st := range stages {
		if _, ok := names[st.image]; !ok && !pinned(st.image) {
			t.Errorf("FROM %s: not pinned to a tag", st.image)
		}
		if st.name != "" {
			if _, dup := names[st.name]; dup {
				t.Errorf("stage name %q used twice", st.name)
			}
			names[st.name] = i
		}
		for _, in := range st.instrs {
			if in.cmd != "COPY" && in.cmd != "ADD" {
				continue
			}
			if in.cmd == "ADD" {
				t.Errorf("Dockerfile:%d: ADD; use COPY", in.line)
				continue
			}
			opts, srcs, dest := copyArgs(in)
			if dest == "" {
				t.Errorf("Dockerfile:%d: COPY %s: want sources and a destination", in.line, in.args)
				continue
			}
			if from, ok := opts["from"]; ok {
				if j, ok := names[from]; !ok || j >= i {
					t.Errorf("Dockerfile:%d: COPY --from=%s names no earlier stage", in.line, from)
				}
				continue
			}
			for _, src := range srcs {
				if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(src))); err != nil {
					t.Errorf("Dockerfile:%d: COPY %s: %v", in.line, src, err)
				}
				if ignore.excluded(strings.TrimSuffix(src, "/")) {
					t.Errorf("Dockerfile:%d: COPY %s: excluded by .dockerignore", in.line, src)
				}
			}
		}
	}
	// The secrets and build output of the repository stay out of the
	// build context.
	for _, p := range []string{".git", "bin/versitygw", "deploy/secrets/keyring.json", "internal/jsclient/node_modules/tus-js-client"} {
		if !ignore.excluded(p) {
			t.Errorf(".dockerignore lets %s into the build context", p)
		}
	}

	// The runtime stage: distroless, nonroot, the binary as entrypoint,
	// its health check, one volume for the data and the spool.
	if !strings.HasPrefix(final.image, "gcr.io/distroless/static-debian12:") || !strings.HasSuffix(final.image, ":nonroot") {
		t.Errorf("runtime image %s, want gcr.io/distroless/static-debian12:nonroot", final.image)
	}
	var entrypoint, healthcheck, cmd []string
	var user, volume, expose, binary string
	for _, in := range final.instrs {
		switch in.cmd {
		case "ENTRYPOINT":
			entrypoint = execForm(t, in, in.args)
		case "CMD":
			cmd = execForm(t, in, in.args)
		case "HEALTHCHECK":
			_, c, ok := strings.Cut(in.args, "CMD ")
			if !ok {
				t.Fatalf("Dockerfile:%d: HEALTHCHECK without CMD", in.line)
			}
			healthcheck = execForm(t, in, strings.TrimSpace(c))
		case "USER":
			user = in.args
		case "VOLUME":
			volume = in.args
		case "EXPOSE":
			expose = in.args
		case "COPY":
			if _, srcs, dest := copyArgs(in); len(srcs) == 1 && path.Base(srcs[0]) == "tusvault" {
				binary = dest
			}
		}
	}
	if binary == "" || !slices.Equal(entrypoint, []string{binary}) {
		t.Errorf("ENTRYPOINT %q, want [%q] (the binary copied in)", entrypoint, binary)
	}
	if len(healthcheck) < 2 || healthcheck[0] != binary || healthcheck[1] != "healthcheck" {
		t.Errorf("HEALTHCHECK CMD %q, want [%q, \"healthcheck\", ...]", healthcheck, binary)
	} else {
		var h healthFlags
		hfs := newSubFlagSet("healthcheck")
		h.register(hfs)
		if err := hfs.Parse(healthcheck[2:]); err != nil || hfs.NArg() > 0 {
			t.Errorf("HEALTHCHECK CMD %q: the healthcheck command refuses its flags: %v", healthcheck, err)
		}
	}
	if len(cmd) > 0 && cmd[0] != "serve" {
		t.Errorf("CMD %q, want serve's flags", cmd)
	}
	if user == "" || user == "root" || strings.HasPrefix(user, "0") {
		t.Errorf("USER %q, want nonroot", user)
	}
	env := dockerEnv(t, final)
	checkTusvaultEnv(t, "Dockerfile", env)
	if dir := env[envVar("upload-dir")]; volume == "" || (volume != dir && volume != `["`+dir+`"]`) {
		t.Errorf("VOLUME %s, TUSVAULT_UPLOAD_DIR %q: want the uploads and the spool under the volume", volume, dir)
	}
	port := defaultConfig().Port
	if p := env[envVar("port")]; p != "" {
		port = p
	}
	if expose != port {
		t.Errorf("EXPOSE %s, want the port tusvault listens on, %s", expose, port)
	}
	if _, err := parseConfig(nil, envOf(env)); err != nil {
		t.Errorf("the image's environment: %v", err)
	}
}

// dockerBuild is the build stage's go build: its environment assignments,
// ldflags and package, from the RUN that holds it.
type dockerBuild struct {
	env             map[string]string
	trimpath        bool
	ldflags, output string
	pkg             string
	copies          []dockerCopy // the COPYs from the build context
}

// dockerCopy is a COPY from the build context.
type dockerCopy struct {
	srcs []string
	dest string
}

var goBuildRun = regexp.MustCompile(`((?:[A-Z_]+=\S+\s+)*)go build (.*)$`)

func buildStage(t *testing.T, stages []dockerStage) dockerBuild {
	t.Helper()
	var b dockerBuild
	for _, st := range stages[:len(stages)-1] {
		for _, in := range st.instrs {
			if in.cmd == "COPY" {
				if opts, srcs, dest := copyArgs(in); opts["from"] == "" {
					b.copies = append(b.copies, dockerCopy{srcs, dest})
				}
			}
			if in.cmd != "RUN" || !strings.Contains(in.args, "go build") {
				continue
			}
			m := goBuildRun.FindStringSubmatch(in.args)
			if m == nil {
				t.Fatalf("Dockerfile:%d: cannot read the go build of %q", in.line, in.args)
			}
			b.env = map[string]string{}
			for _, kv := range strings.Fields(m[1]) {
				k, v, _ := strings.Cut(kv, "=")
				b.env[k] = v
			}
			args := m[2]
			if q := regexp.MustCompile(`-ldflags "([^"]*)"`).FindStringSubmatch(args); q != nil {
				b.ldflags = q[1]
				args = strings.Replace(args, q[0], "", 1)
			}
			f := strings.Fields(args)
			for i := 0; i < len(f); i++ {
				switch {
				case f[i] == "-trimpath":
					b.trimpath = true
				case f[i] == "-o" && i+1 < len(f):
					b.output = f[i+1]
					i++
				case !strings.HasPrefix(f[i], "-"):
					b.pkg = f[i]
				default:
					t.Fatalf("Dockerfile:%d: go build flag %s not understood by this test", in.line, f[i])
				}
			}
		}
	}
	if b.pkg == "" {
		t.Fatal("Dockerfile: no go build in the build stage")
	}
	return b
}

// The build stage's go build, with its flags, on exactly the files the
// Dockerfile copies (less what .dockerignore drops), makes a binary whose
// version command shows the version given by -X, as docker build
// --build-arg VERSION=... would.
func TestDockerfileBuild(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	stages := parseDockerfile(t, root)
	ignore := readDockerignore(t, root)
	b := buildStage(t, stages)
	if b.env["CGO_ENABLED"] != "0" || !b.trimpath {
		t.Errorf("go build: env %v, -trimpath %v; want CGO_ENABLED=0 and -trimpath (a static binary for distroless/static)", b.env, b.trimpath)
	}
	for _, want := range []string{"-s", "-w", "-X main.version=${VERSION}"} {
		if !strings.Contains(b.ldflags, want) {
			t.Errorf("ldflags %q lack %q", b.ldflags, want)
		}
	}

	// The build context as Docker would send it, reduced to the COPYs.
	ctxDir := t.TempDir()
	for _, c := range b.copies {
		for _, src := range c.srcs {
			src = strings.TrimSuffix(src, "/")
			if c.dest != "./" && strings.TrimSuffix(c.dest, "/") != src {
				t.Fatalf("COPY %s %s: this test mirrors sources to the same path under WORKDIR", src, c.dest)
			}
			copyTree(t, root, src, ctxDir, ignore)
		}
	}

	vars := map[string]string{"VERSION": "v0.0.0-dockerfile-test", "COMMIT": "c0ffee", "DATE": "2026-01-02T03:04:05Z"}
	ldflags := os.Expand(b.ldflags, func(k string) string { return vars[k] })
	bin := filepath.Join(t.TempDir(), "tusvault")
	ctx, cancel := context.WithTimeout(t.Context(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", ldflags, "-o", bin, b.pkg)
	cmd.Dir = ctxDir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=readonly", "GOWORK=off")
	for k, v := range b.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build in the Dockerfile's context: %v\n%s", err, out)
	}
	out, err := exec.CommandContext(ctx, bin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("version: %v\n%s", err, out)
	}
	for _, want := range []string{"Version: " + vars["VERSION"] + "\n", "Commit: " + vars["COMMIT"] + "\n", "Date: " + vars["DATE"] + "\n"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("version of the Dockerfile's binary: %q lacks %q", out, want)
		}
	}
	// Static: what distroless/static can run.
	if out, err := exec.CommandContext(ctx, "go", "version", "-m", bin).CombinedOutput(); err != nil || !strings.Contains(string(out), "CGO_ENABLED=0") {
		t.Errorf("go version -m: %v\n%s", err, out)
	}
}

// copyTree copies root/src (a file or a directory) to dst/src, leaving
// out what ignore excludes.
func copyTree(t *testing.T, root, src, dst string, ignore dockerignore) {
	t.Helper()
	err := filepath.WalkDir(filepath.Join(root, src), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		if ignore.excluded(filepath.ToSlash(rel)) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// checkTusvaultEnv checks that every TUSVAULT_ variable of a recipe sets
// a flag of serve (what names them: Dockerfile, compose.yaml ...).
func checkTusvaultEnv(t *testing.T, where string, env map[string]string) {
	t.Helper()
	known := envFlagVars()
	for k := range env {
		if strings.HasPrefix(k, envPrefix) && !known[k] {
			t.Errorf("%s: %s sets no tusvault flag", where, k)
		}
	}
}

// envFlagVars are the variables that set serve flags.
func envFlagVars() map[string]bool {
	vars := map[string]bool{}
	for name := range knownServeFlags() {
		if !notFromEnv[name] {
			vars[envVar(name)] = true
		}
	}
	return vars
}

// knownServeFlags are the serve flags' names, read from the flag set.
func knownServeFlags() map[string]bool { return serveFlagNames() }

// checkFlags checks that every -flag of an argument list is a flag of fs.
func checkFlags(t *testing.T, where string, args []string, known func(string) bool) {
	t.Helper()
	for _, a := range args {
		if a == "--" {
			return
		}
		if !strings.HasPrefix(a, "-") {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !known(name) {
			t.Errorf("%s: -%s is not a tusvault flag", where, name)
		}
	}
}
