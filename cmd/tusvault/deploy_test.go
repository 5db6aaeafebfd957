package main

// The recipes of deploy/ (render.yaml among them) name services, files, flags and
// variables; these tests check that each one exists, against the
// repository and the real flag set, and that the configuration they give
// tusvault passes its checks. Nothing here runs Docker, Render or systemd.

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v2"

	"github.com/tusvault/tusvault/web"
)

// readYAML decodes a YAML file of the repository into generic values
// (anchors and merge keys resolved), its maps keyed by strings.
func readYAML(t *testing.T, root, rel string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	m, ok := stringKeys(v).(map[string]any)
	if !ok {
		t.Fatalf("%s: not a mapping", rel)
	}
	return m
}

// stringKeys turns yaml.v2's map[any]any into map[string]any, deeply.
func stringKeys(v any) any {
	switch v := v.(type) {
	case map[any]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[fmt.Sprint(k)] = stringKeys(e)
		}
		return m
	case []any:
		for i, e := range v {
			v[i] = stringKeys(e)
		}
	}
	return v
}

func mapOf(v any) map[string]any { m, _ := v.(map[string]any); return m }

func listOf(v any) []any { l, _ := v.([]any); return l }

// strs is a list of scalars (or a single one) as strings.
func strs(v any) []string {
	if v == nil {
		return nil
	}
	if l, ok := v.([]any); ok {
		out := make([]string, len(l))
		for i, e := range l {
			out[i] = fmt.Sprint(e)
		}
		return out
	}
	return []string{fmt.Sprint(v)}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// composeEnv is a service's environment, mapping or KEY=VALUE list.
func composeEnv(v any) map[string]string {
	env := map[string]string{}
	if m := mapOf(v); m != nil {
		for k, e := range m {
			env[k] = fmt.Sprint(e)
		}
		return env
	}
	for _, kv := range strs(v) {
		k, e, _ := strings.Cut(kv, "=")
		env[k] = e
	}
	return env
}

// dependsOn is a service's depends_on, list or mapping.
func dependsOn(v any) []string {
	if m := mapOf(v); m != nil {
		return sortedKeys(m)
	}
	return strs(v)
}

// serviceSecrets are the secrets a service mounts (short or long syntax).
func serviceSecrets(v any) []string {
	var names []string
	for _, e := range listOf(v) {
		if m := mapOf(e); m != nil {
			names = append(names, fmt.Sprint(m["source"]))
		} else {
			names = append(names, fmt.Sprint(e))
		}
	}
	return names
}

// servePort is the port a tusvault with this environment listens on.
func servePort(env map[string]string) string {
	if p := env[envVar("port")]; p != "" {
		return p
	}
	return defaultConfig().Port
}

func TestComposeRecipe(t *testing.T) {
	root := repoRoot(t)
	deploy := filepath.Join(root, "deploy")
	c := readYAML(t, root, "deploy/compose.yaml")
	services := mapOf(c["services"])
	if len(services) == 0 {
		t.Fatal("compose.yaml: no services")
	}
	topSecrets, topVolumes := mapOf(c["secrets"]), mapOf(c["volumes"])
	secretsReadme, err := os.ReadFile(filepath.Join(deploy, "secrets", "README.md"))
	if err != nil {
		t.Fatal(err)
	}

	// Top-level secrets: files of the repository, or of deploy/secrets/,
	// which its README says how to make (they are never committed).
	for _, name := range sortedKeys(topSecrets) {
		file := fmt.Sprint(mapOf(topSecrets[name])["file"])
		p := filepath.Clean(filepath.Join(deploy, file))
		if filepath.Dir(p) == filepath.Join(deploy, "secrets") {
			if !strings.Contains(string(secretsReadme), "`"+filepath.Base(p)+"`") {
				t.Errorf("compose.yaml: secret %s: %s is not explained in deploy/secrets/README.md", name, file)
			}
			continue
		}
		if _, err := os.Stat(p); err != nil {
			t.Errorf("compose.yaml: secret %s: %v", name, err)
		}
	}

	var tusvaults []string
	ports := map[string]string{} // tusvault service → its port
	for _, name := range sortedKeys(services) {
		s := mapOf(services[name])
		where := "compose.yaml: service " + name
		if b := s["build"]; b != nil {
			ctx, dockerfile := fmt.Sprint(mapOf(b)["context"]), "Dockerfile"
			if mapOf(b) == nil {
				ctx = fmt.Sprint(b)
			} else if d := mapOf(b)["dockerfile"]; d != nil {
				dockerfile = fmt.Sprint(d)
			}
			dir := filepath.Clean(filepath.Join(deploy, ctx))
			if _, err := os.Stat(filepath.Join(dir, dockerfile)); err != nil {
				t.Errorf("%s: build: %v", where, err)
			}
			if dir == root && dockerfile == "Dockerfile" {
				tusvaults = append(tusvaults, name)
			}
		} else if img := fmt.Sprint(s["image"]); !pinned(img) {
			t.Errorf("%s: image %q not pinned to a tag", where, img)
		}
		for _, dep := range dependsOn(s["depends_on"]) {
			if services[dep] == nil {
				t.Errorf("%s: depends_on %s: no such service", where, dep)
			}
		}
		mounted := serviceSecrets(s["secrets"])
		for _, sec := range mounted {
			if topSecrets[sec] == nil {
				t.Errorf("%s: secret %s is not defined", where, sec)
			}
		}
		for _, vol := range strs(s["volumes"]) {
			src, _, _ := strings.Cut(vol, ":")
			if strings.HasPrefix(src, ".") || strings.HasPrefix(src, "/") {
				if _, err := os.Stat(filepath.Join(deploy, src)); err != nil {
					t.Errorf("%s: volume %s: %v", where, vol, err)
				}
			} else if _, ok := topVolumes[src]; !ok {
				t.Errorf("%s: volume %s is not defined", where, src)
			}
		}
		env := composeEnv(s["environment"])
		for k, v := range env {
			// A path under /run/secrets names a secret of the service
			// (MinIO's *_FILE variables name it bare).
			if sec, ok := strings.CutPrefix(v, "/run/secrets/"); ok && !slices.Contains(mounted, sec) {
				t.Errorf("%s: %s=%s: the service does not mount secret %s", where, k, v, sec)
			}
		}
		if slices.Contains(tusvaults, name) {
			checkTusvaultEnv(t, where, env)
			checkFlags(t, where, strs(s["command"]), func(f string) bool { return knownServeFlags()[f] })
			if _, err := parseConfig(strs(s["command"]), envOf(env)); err != nil {
				t.Errorf("%s: tusvault refuses its configuration: %v", where, err)
			}
			if env[envVar("s3-bucket")] == "" || env[envVar("redis-url")] == "" || env[envVar("behind-proxy")] != "true" {
				t.Errorf("%s: want S3, the Redis locker and -behind-proxy, got %v", where, env)
			}
			ports[name] = servePort(env)
		}
	}
	if len(tusvaults) < 2 {
		t.Errorf("compose.yaml: tusvault services %v, want two behind the proxy", tusvaults)
	}

	// The proxy and Prometheus reach exactly the tusvault instances.
	upstreams := caddyUpstreams(t, filepath.Join(deploy, "Caddyfile"))
	checkTargets(t, "Caddyfile reverse_proxy", upstreams, ports)
	checkTargets(t, "prometheus.yml targets", prometheusTargets(t, root), ports)
}

// checkTargets checks that host:port targets are the tusvault services
// on their ports, each one of them.
func checkTargets(t *testing.T, where string, targets []string, ports map[string]string) {
	t.Helper()
	seen := map[string]bool{}
	for _, target := range targets {
		host, port, err := net.SplitHostPort(target)
		if err != nil {
			t.Errorf("%s: %s: %v", where, target, err)
			continue
		}
		if want, ok := ports[host]; !ok || port != want {
			t.Errorf("%s: %s is not a tusvault service of compose.yaml on its port (%v)", where, target, ports)
		}
		seen[host] = true
	}
	for name := range ports {
		if !seen[name] {
			t.Errorf("%s: tusvault service %s missing", where, name)
		}
	}
}

// caddyUpstreams are the upstreams of the Caddyfile's reverse_proxy.
func caddyUpstreams(t *testing.T, file string) []string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*reverse_proxy\s+([^{\n]+)`).FindAllStringSubmatch(string(data), -1)
	if len(m) != 1 {
		t.Fatalf("Caddyfile: %d reverse_proxy lines, want 1", len(m))
	}
	return strings.Fields(m[0][1])
}

// prometheusTargets are the static targets of deploy/prometheus.yml.
func prometheusTargets(t *testing.T, root string) []string {
	t.Helper()
	p := readYAML(t, root, "deploy/prometheus.yml")
	var targets []string
	for _, sc := range listOf(p["scrape_configs"]) {
		for _, st := range listOf(mapOf(sc)["static_configs"]) {
			targets = append(targets, strs(mapOf(st)["targets"])...)
		}
	}
	return targets
}

// renderServiceFields are the Blueprint fields of a service this recipe
// may use (Render's Blueprint YAML reference); a misspelt one is ignored
// by Render, silently.
var renderServiceFields = []string{"type", "name", "runtime", "plan", "region", "repo", "branch", "rootDir",
	"dockerfilePath", "dockerContext", "dockerCommand", "healthCheckPath", "numInstances", "scaling",
	"envVars", "disk", "autoDeployTrigger", "maxShutdownDelaySeconds", "domains", "buildFilter", "preDeployCommand"}

func TestRenderBlueprint(t *testing.T) {
	root := repoRoot(t)
	raw, err := os.ReadFile(filepath.Join(root, "deploy", "render.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var comments strings.Builder
	for _, l := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "#") {
			comments.WriteString(l + "\n")
		}
	}
	r := readYAML(t, root, filepath.Join("deploy", "render.yaml"))
	services := listOf(r["services"])
	if len(services) != 1 {
		t.Fatalf("render.yaml: %d services, want the one web service", len(services))
	}
	s := mapOf(services[0])
	for _, k := range sortedKeys(s) {
		if !slices.Contains(renderServiceFields, k) {
			t.Errorf("render.yaml: unknown service field %q", k)
		}
	}
	for k, want := range map[string]string{"type": "web", "runtime": "docker", "plan": "starter", "healthCheckPath": web.HealthzPath} {
		if got := fmt.Sprint(s[k]); got != want {
			t.Errorf("render.yaml: %s %q, want %q", k, got, want)
		}
	}
	for _, k := range []string{"dockerfilePath", "dockerContext"} {
		if v := s[k]; v != nil {
			if _, err := os.Stat(filepath.Join(root, fmt.Sprint(v))); err != nil {
				t.Errorf("render.yaml: %s: %v", k, err)
			}
		}
	}
	// No disk (see the file's comment); one would have to be the volume.
	if d := mapOf(s["disk"]); d != nil && fmt.Sprint(d["mountPath"]) != "/data" {
		t.Errorf("render.yaml: disk at %v, want the image's volume /data", d["mountPath"])
	}

	env := map[string]string{}
	for _, e := range listOf(s["envVars"]) {
		m := mapOf(e)
		k := fmt.Sprint(m["key"])
		switch {
		case m["value"] != nil:
			env[k] = fmt.Sprint(m["value"])
		case fmt.Sprint(m["sync"]) == "false":
			env[k] = "placeholder" // asked for at creation
		default:
			t.Errorf("render.yaml: %s has neither a value nor sync: false", k)
		}
		if strings.Contains(strings.ToUpper(k), "SECRET") && m["value"] != nil && !strings.HasPrefix(env[k], "/etc/secrets/") {
			t.Errorf("render.yaml: %s holds a value, want a secret file", k)
		}
		if name, ok := strings.CutPrefix(env[k], "/etc/secrets/"); ok && !strings.Contains(comments.String(), name) {
			t.Errorf("render.yaml: %s names the secret file %s, which the comments do not say how to add", k, name)
		}
	}
	checkTusvaultEnv(t, "render.yaml", env)
	if env["PORT"] != servePort(env) {
		t.Errorf("render.yaml: PORT %q (where Render routes) is not tusvault's port %q", env["PORT"], servePort(env))
	}
	for _, k := range []string{"TUSVAULT_S3_BUCKET", "TUSVAULT_KEYRING", "TUSVAULT_AUTH_SECRET_FILE", "TUSVAULT_BEHIND_PROXY"} {
		if env[k] == "" {
			t.Errorf("render.yaml: no %s", k)
		}
	}
	// The image's environment under the Blueprint's.
	imageEnv := dockerEnv(t, parseDockerfile(t, root)[len(parseDockerfile(t, root))-1])
	for k, v := range env {
		imageEnv[k] = v
	}
	if _, err := parseConfig(nil, envOf(imageEnv)); err != nil {
		t.Errorf("render.yaml: tusvault refuses its configuration: %v", err)
	}
}

// unitFile is a systemd unit: its sections' directives, in order.
type unitFile map[string][][2]string

func readUnit(t *testing.T, file string) unitFile {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	u, section := unitFile{}, ""
	for i, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		switch {
		case l == "" || strings.HasPrefix(l, "#") || strings.HasPrefix(l, ";"):
		case strings.HasPrefix(l, "[") && strings.HasSuffix(l, "]"):
			section = strings.Trim(l, "[]")
		default:
			k, v, ok := strings.Cut(l, "=")
			if !ok || section == "" {
				t.Fatalf("%s:%d: %q", file, i+1, l)
			}
			u[section] = append(u[section], [2]string{strings.TrimSpace(k), strings.TrimSpace(v)})
		}
	}
	return u
}

// all are the values of a directive in a section.
func (u unitFile) all(section, key string) []string {
	var vs []string
	for _, kv := range u[section] {
		if kv[0] == key {
			vs = append(vs, kv[1])
		}
	}
	return vs
}

// envFile reads KEY=VALUE lines, commented-out ones too when examples is
// set (they are examples to enable, and must be right as well).
func envFile(t *testing.T, file string, examples bool) map[string]string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	assignment := regexp.MustCompile(`^#?([A-Z][A-Z0-9_]*)=(.*)$`)
	for _, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "#") && !examples {
			continue
		}
		if m := assignment.FindStringSubmatch(l); m != nil {
			env[m[1]] = m[2]
		}
	}
	return env
}

func TestSystemdUnit(t *testing.T) {
	root := repoRoot(t)
	file := filepath.Join(root, "deploy", "tusvault.service")
	u := readUnit(t, file)
	for _, d := range []struct{ key, want string }{
		{"DynamicUser", "yes"}, {"ProtectSystem", "strict"}, {"StateDirectory", "tusvault"},
		{"MemoryMax", "512M"}, {"Restart", "on-failure"}, {"NoNewPrivileges", "yes"}, {"ProtectHome", "yes"},
		{"PrivateTmp", "yes"}, {"CapabilityBoundingSet", ""},
	} {
		if got := u.all("Service", d.key); len(got) != 1 || got[0] != d.want {
			t.Errorf("tusvault.service: %s=%q, want %q", d.key, got, d.want)
		}
	}

	creds := map[string]bool{}
	for _, lc := range u.all("Service", "LoadCredential") {
		id, src, ok := strings.Cut(lc, ":")
		if !ok || !strings.HasPrefix(src, "/") {
			t.Errorf("tusvault.service: LoadCredential=%s: want ID:/absolute/path", lc)
		}
		creds[id] = true
	}
	for _, want := range []string{"keyring.json", "auth.secret"} {
		if !creds[want] {
			t.Errorf("tusvault.service: no LoadCredential for %s", want)
		}
	}

	env := map[string]string{}
	for _, e := range u.all("Service", "Environment") {
		k, v, _ := strings.Cut(strings.Trim(e, `"`), "=")
		env[k] = v
	}
	// The commented examples too: they must be right once enabled.
	for k, v := range envFile(t, file, true) {
		if k == "Environment" {
			k, v, _ = strings.Cut(v, "=")
			env[k] = v
		}
	}
	for k, v := range env {
		if id, ok := strings.CutPrefix(v, "%d/"); ok && !creds[id] && !strings.Contains(readText(t, file), "#LoadCredential="+id+":") {
			t.Errorf("tusvault.service: %s=%s: no credential %s", k, v, id)
		}
	}
	checkTusvaultEnv(t, "tusvault.service", env)

	exec := u.all("Service", "ExecStart")
	if len(exec) != 1 {
		t.Fatalf("tusvault.service: ExecStart %q", exec)
	}
	argv := strings.Fields(exec[0])
	if len(argv) < 2 || filepath.Base(argv[0]) != "tusvault" || argv[1] != "serve" {
		t.Errorf("tusvault.service: ExecStart=%s, want tusvault serve [flags]", exec[0])
	}
	checkFlags(t, "tusvault.service ExecStart", argv[1:], func(f string) bool { return knownServeFlags()[f] })

	// The EnvironmentFile it reads has a copy in deploy/: its settings,
	// its examples too, name flags, and with the unit's they pass
	// tusvault's checks (the credentials directory as systemd makes it).
	ef := envFile(t, filepath.Join(root, "deploy", "tusvault.env"), true)
	checkTusvaultEnv(t, "tusvault.env", ef)
	active := envFile(t, filepath.Join(root, "deploy", "tusvault.env"), false)
	for k, v := range env {
		active[k] = strings.NewReplacer("%d", "/run/credentials/tusvault.service", "%S", "/var/lib").Replace(v)
	}
	if _, err := parseConfig(argv[2:], envOf(active)); err != nil {
		t.Errorf("tusvault.service with tusvault.env: tusvault refuses the configuration: %v", err)
	}
	if !slices.Contains(u.all("Service", "EnvironmentFile"), "-/etc/tusvault/tusvault.env") {
		t.Errorf("tusvault.service: EnvironmentFile %q, want -/etc/tusvault/tusvault.env (deploy/tusvault.env)", u.all("Service", "EnvironmentFile"))
	}
}

func readText(t *testing.T, file string) string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
