package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// envOf is a getenv over the given variables.
func envOf(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// runEnv runs the program to completion with the given environment.
func runEnv(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut syncBuffer
	err = run(context.Background(), append([]string{"tusvault"}, args...), envOf(env), &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestEnvVarName(t *testing.T) {
	for flag, want := range map[string]string{
		"s3-bucket":                     "TUSVAULT_S3_BUCKET",
		"port":                          "TUSVAULT_PORT",
		"hooks-grpc-client-tls-key":     "TUSVAULT_HOOKS_GRPC_CLIENT_TLS_KEY",
		"filelock-holder-poll-interval": "TUSVAULT_FILELOCK_HOLDER_POLL_INTERVAL",
		"redis-url":                     "TUSVAULT_REDIS_URL",
	} {
		if got := envVar(flag); got != want {
			t.Errorf("envVar(%q) = %q, want %q", flag, got, want)
		}
	}
}

// valueFor returns a value that f accepts and that differs from its
// default, trying the forms of tusvault's flag types in turn.
func valueFor(t *testing.T, f *flag.Flag) string {
	t.Helper()
	candidates := []string{"7", "7s", "7MiB", "base64", "/x/y"}
	if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && bf.IsBoolFlag() {
		candidates = []string{"true", "false"}
	}
	for _, v := range candidates {
		c := defaultConfig()
		fs, _ := c.newFlagSet()
		if fs.Set(f.Name, v) == nil && fs.Lookup(f.Name).Value.String() != f.DefValue {
			return v
		}
	}
	t.Fatalf("-%s: no test value differs from the default %q", f.Name, f.DefValue)
	return ""
}

// Every serve flag (but -version) is reachable through its variable, and
// the command line wins over it; walked over the real flag set, so that a
// flag added later (such as -redis-url) is covered without a change here.
func TestEnvEveryServeFlag(t *testing.T) {
	c := defaultConfig()
	all, _ := c.newFlagSet()
	n := 0
	all.VisitAll(func(f *flag.Flag) {
		if f.Name == "version" {
			return
		}
		n++
		v := valueFor(t, f)
		variable := envVar(f.Name)

		c := defaultConfig()
		fs, _ := c.newFlagSet()
		if err := fs.Parse(nil); err != nil {
			t.Fatal(err)
		}
		set, err := applyEnv(fs, envOf(map[string]string{variable: v}), fromEnvServe)
		if err != nil {
			t.Errorf("%s=%s: %v", variable, v, err)
			return
		}
		want := referenceValue(f.Name, v)
		if got := fs.Lookup(f.Name).Value.String(); got != want {
			t.Errorf("%s=%s: -%s is %q, want %q", variable, v, f.Name, got, want)
		}
		if set[f.Name] != variable {
			t.Errorf("%s: not reported as set from the environment: %v", variable, set)
		}

		// The command line wins, with the default value too.
		c = defaultConfig()
		fs, _ = c.newFlagSet()
		if err := fs.Parse([]string{"-" + f.Name + "=" + f.DefValue}); err != nil {
			t.Fatalf("-%s=%s: %v", f.Name, f.DefValue, err)
		}
		if _, err := applyEnv(fs, envOf(map[string]string{variable: v}), fromEnvServe); err != nil {
			t.Fatal(err)
		}
		if got := fs.Lookup(f.Name).Value.String(); got != f.DefValue {
			t.Errorf("-%s=%s and %s=%s: got %q, want the command line's", f.Name, f.DefValue, variable, v, got)
		}
	})
	if n < 80 {
		t.Errorf("walked %d flags; the serve flag set has more", n)
	}
}

// referenceValue is what the flag name shows after Set(v).
func referenceValue(name, v string) string {
	c := defaultConfig()
	fs, _ := c.newFlagSet()
	fs.Set(name, v)
	return fs.Lookup(name).Value.String()
}

func TestEnvPrecedenceAndForms(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		check func(Config) bool
	}{
		{"env sets", nil, map[string]string{"TUSVAULT_PORT": "9000"}, func(c Config) bool { return c.Port == "9000" }},
		{"flag wins", []string{"-port", "9001"}, map[string]string{"TUSVAULT_PORT": "9000"}, func(c Config) bool { return c.Port == "9001" }},
		{"bool 1", nil, map[string]string{"TUSVAULT_BEHIND_PROXY": "1"}, func(c Config) bool { return c.BehindProxy }},
		{"bool TRUE", nil, map[string]string{"TUSVAULT_BEHIND_PROXY": "TRUE"}, func(c Config) bool { return c.BehindProxy }},
		{"bool t", nil, map[string]string{"TUSVAULT_BEHIND_PROXY": "t"}, func(c Config) bool { return c.BehindProxy }},
		{"bool false turns a default off", nil, map[string]string{"TUSVAULT_VERBOSE": "false", "TUSVAULT_SHOW_GREETING": "0"},
			func(c Config) bool { return !c.Verbose && !c.ShowGreeting }},
		{"bare bool flag wins", []string{"-verbose"}, map[string]string{"TUSVAULT_VERBOSE": "F"}, func(c Config) bool { return c.Verbose }},
		{"empty is unset", nil, map[string]string{"TUSVAULT_BASE_PATH": ""}, func(c Config) bool { return c.BasePath == "/files/" }},
		{"sizes and durations", nil, map[string]string{"TUSVAULT_HOME_MAX_SIZE": "2GiB", "TUSVAULT_NETWORK_TIMEOUT": "90s", "TUSVAULT_WEB_RETRY_DELAYS": "1s,5s"},
			func(c Config) bool {
				return c.HomeMaxSize == 2<<30 && c.NetworkTimeout == 90*time.Second && c.WebRetryDelays.String() == "1s,5s"
			}},
		{"alias from env", nil, map[string]string{"TUSVAULT_PART_SIZE": "20971520"}, func(c Config) bool { return c.PartSize == 20<<20 }},
		{"alias on the command line wins over the other name's variable", []string{"-part-size", "20971520"},
			map[string]string{"TUSVAULT_S3_PART_SIZE": "31457280"}, func(c Config) bool { return c.PartSize == 20<<20 }},
		{"both alias variables agreeing", nil, map[string]string{"TUSVAULT_PART_SIZE": "20971520", "TUSVAULT_S3_PART_SIZE": "20971520"},
			func(c Config) bool { return c.PartSize == 20<<20 }},
		{"-version is not a variable", nil, map[string]string{"TUSVAULT_VERSION": "v1.2.3"}, func(c Config) bool { return !c.ShowVersion }},
		{"s3", nil, map[string]string{"TUSVAULT_S3_BUCKET": "b", "TUSVAULT_S3_ENDPOINT": "http://minio:9000", "TUSVAULT_AUTH_SECRET_FILE": "/run/secrets/auth"},
			func(c Config) bool {
				return c.S3Bucket == "b" && c.S3Endpoint == "http://minio:9000" && c.AuthSecretFile == "/run/secrets/auth"
			}},
	}
	for _, tt := range tests {
		c, err := parseConfig(tt.args, envOf(tt.env))
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if !tt.check(c) {
			t.Errorf("%s: args %q, env %v: got %+v", tt.name, tt.args, tt.env, c)
		}
	}
}

func TestEnvBadValues(t *testing.T) {
	tests := []struct {
		env  map[string]string
		args []string
		want []string // in the message
	}{
		{map[string]string{"TUSVAULT_MAX_SIZE": "big"}, nil, []string{`"big"`, "TUSVAULT_MAX_SIZE", "-max-size"}},
		{map[string]string{"TUSVAULT_BEHIND_PROXY": "yes"}, nil, []string{`"yes"`, "TUSVAULT_BEHIND_PROXY"}},
		{map[string]string{"TUSVAULT_NETWORK_TIMEOUT": "60"}, nil, []string{"TUSVAULT_NETWORK_TIMEOUT"}},
		{map[string]string{"TUSVAULT_HOME_MAX_SIZE": "2 tons"}, nil, []string{"TUSVAULT_HOME_MAX_SIZE"}},
		{map[string]string{"TUSVAULT_AUTH_SECRET_ENCODING": "rot13"}, nil, []string{"TUSVAULT_AUTH_SECRET_ENCODING"}},
		// Values the flag takes but the checks refuse: the message names
		// the flag and the variable.
		{map[string]string{"TUSVAULT_PORT": "http"}, nil, []string{"-port", "(set by TUSVAULT_PORT)"}},
		{map[string]string{"TUSVAULT_S3_ENDPOINT": "http://minio:9000"}, nil, []string{"-s3-endpoint needs -s3-bucket", "TUSVAULT_S3_ENDPOINT"}},
		{map[string]string{"TUSVAULT_PART_SIZE": "1"}, nil, []string{"(-part-size)", "TUSVAULT_PART_SIZE"}},
		{map[string]string{"TUSVAULT_AUTH_SECRET_FILE": "/a"}, []string{"-auth-public-key-file", "/b"}, []string{"exclude each other", "TUSVAULT_AUTH_SECRET_FILE"}},
		{map[string]string{"TUSVAULT_PART_SIZE": "20971520", "TUSVAULT_S3_PART_SIZE": "31457280"}, nil,
			[]string{"TUSVAULT_PART_SIZE and TUSVAULT_S3_PART_SIZE", "give one"}},
	}
	for _, tt := range tests {
		_, _, err := runEnv(t, tt.env, tt.args...)
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("%v: got %v, want a usage error", tt.env, err)
			continue
		}
		msg := err.Error()
		if strings.Contains(msg, "\n") {
			t.Errorf("%v: not one line: %q", tt.env, msg)
		}
		for _, w := range tt.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%v: %q lacks %q", tt.env, msg, w)
			}
		}
	}
	// A variable that set nothing the message names is not blamed.
	_, _, err := runEnv(t, map[string]string{"TUSVAULT_BASE_PATH": "/up/"}, "-port", "x")
	if err == nil || strings.Contains(err.Error(), "TUSVAULT_BASE_PATH") {
		t.Errorf("got %v", err)
	}
}

func TestMentionsFlag(t *testing.T) {
	for _, tt := range []struct {
		msg, name string
		want      bool
	}{
		{`invalid -port "x"`, "port", true},
		{`invalid -s3-part-size (-part-size) 1`, "part-size", true},
		{`invalid -s3-part-size 1`, "part-size", false},
		{`-auth-secret-file and -auth-public-key-file`, "auth", false},
		{`-auth-secret-file and -auth-public-key-file`, "auth-public-key-file", true},
		{`-tls-certificate and -tls-key must be given together`, "tls-key", true},
	} {
		if got := mentionsFlag(tt.msg, tt.name); got != tt.want {
			t.Errorf("mentionsFlag(%q, %q) = %v", tt.msg, tt.name, got)
		}
	}
}

// A server configured by the environment alone, as in a container.
func TestServeFromEnvironment(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := map[string]string{
		"TUSVAULT_HOST":          "127.0.0.1",
		"TUSVAULT_PORT":          "0",
		"TUSVAULT_UPLOAD_DIR":    dir,
		"TUSVAULT_BASE_PATH":     "/up/",
		"TUSVAULT_SHOW_GREETING": "false",
		"TUSVAULT_LOG_FORMAT":    "json",
	}
	var out, errOut syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"tusvault"}, envOf(env), &out, &errOut) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	line := regexp.MustCompile(`You can now upload files to: (http://127\.0\.0\.1:\d+/up/)`)
	var u string
	for deadline := time.Now().Add(15 * time.Second); u == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := line.FindStringSubmatch(out.String()); m != nil {
			u = m[1]
		}
	}
	if u == "" {
		t.Fatalf("no upload line:\n%s\n%s", out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), `"level":"INFO"`) {
		t.Errorf("TUSVAULT_LOG_FORMAT=json ignored:\n%s", out.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "keyring.json")); err != nil {
		t.Errorf("keyring not in TUSVAULT_UPLOAD_DIR: %v", err)
	}
	resp, err := http.Get(strings.TrimSuffix(u, "/up/") + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET / with TUSVAULT_SHOW_GREETING=false: %s", resp.Status)
	}
}

// The subcommands take the variables of the serve flags they share, and
// only those.
func TestEnvSubcommands(t *testing.T) {
	dir, other := t.TempDir(), t.TempDir()

	// keys init: TUSVAULT_UPLOAD_DIR, the command line winning.
	if _, _, err := runEnv(t, map[string]string{"TUSVAULT_UPLOAD_DIR": dir}, "keys", "init"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "keyring.json")); err != nil {
		t.Errorf("keys init ignored TUSVAULT_UPLOAD_DIR: %v", err)
	}
	if _, _, err := runEnv(t, map[string]string{"TUSVAULT_UPLOAD_DIR": dir}, "keys", "init", "-upload-dir", other); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(other, "keyring.json")); err != nil {
		t.Errorf("keys init -upload-dir lost to TUSVAULT_UPLOAD_DIR: %v", err)
	}
	// keys rotate: TUSVAULT_KEYRING.
	if out, _, err := runEnv(t, map[string]string{"TUSVAULT_KEYRING": filepath.Join(dir, "keyring.json")}, "keys", "rotate"); err != nil || out == "" {
		t.Errorf("keys rotate with TUSVAULT_KEYRING: %q, %v", out, err)
	}

	// cleanup: the storage variables and -expire-after, whose check names
	// the variable.
	out, _, err := runEnv(t, map[string]string{"TUSVAULT_UPLOAD_DIR": dir, "TUSVAULT_EXPIRE_AFTER": "48h"}, "cleanup")
	if err != nil || !strings.HasPrefix(out, "Removed 0 expired uploads") {
		t.Errorf("cleanup: %q, %v", out, err)
	}
	_, _, err = runEnv(t, map[string]string{"TUSVAULT_UPLOAD_DIR": dir, "TUSVAULT_EXPIRE_AFTER": "0"}, "cleanup")
	if err == nil || !strings.Contains(err.Error(), "TUSVAULT_EXPIRE_AFTER") {
		t.Errorf("cleanup with TUSVAULT_EXPIRE_AFTER=0: %v", err)
	}
	for _, args := range [][]string{{"decrypt", "home/a/b"}, {"keys", "rewrap"}, {"cleanup"}} {
		_, _, err = runEnv(t, map[string]string{"TUSVAULT_S3_ENDPOINT": "http://minio:9000"}, args...)
		if err == nil || !strings.Contains(err.Error(), "needs -s3-bucket (set by TUSVAULT_S3_ENDPOINT)") {
			t.Errorf("%v with TUSVAULT_S3_ENDPOINT alone: %v", args, err)
		}
		_, _, err = runEnv(t, map[string]string{"TUSVAULT_S3_DISABLE_SSL": "maybe"}, args...)
		if err == nil || !strings.Contains(err.Error(), "TUSVAULT_S3_DISABLE_SSL") {
			t.Errorf("%v with TUSVAULT_S3_DISABLE_SSL=maybe: %v", args, err)
		}
	}
	// decrypt: TUSVAULT_O is not a serve flag's variable: ignored.
	_, _, err = runEnv(t, map[string]string{"TUSVAULT_UPLOAD_DIR": dir, "TUSVAULT_O": filepath.Join(dir, "out")}, "decrypt", "home/a/b")
	if err == nil {
		t.Error("decrypt of a missing upload succeeded")
	}
	if _, serr := os.Stat(filepath.Join(dir, "out")); serr == nil {
		t.Error("decrypt took -o from TUSVAULT_O")
	}

	// token: the secret file and the claims checked, not the server's
	// -max-size nor a -ttl.
	secret := filepath.Join(dir, "auth.secret")
	if err := os.WriteFile(secret, []byte(strings.Repeat("k", 32)), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err = runEnv(t, map[string]string{
		"TUSVAULT_AUTH_SECRET_FILE": secret, "TUSVAULT_AUTH_ISSUER": "iss-from-env",
		"TUSVAULT_MAX_SIZE": "1000", "TUSVAULT_TTL": "1s", "TUSVAULT_UPLOAD_DIR": other,
	}, "token", "home", "alice")
	if err != nil {
		t.Fatal(err)
	}
	claims := jwtClaims(t, strings.TrimSpace(out))
	if claims["iss"] != "iss-from-env" {
		t.Errorf("iss %v, want TUSVAULT_AUTH_ISSUER's", claims["iss"])
	}
	if _, ok := claims["max_size"]; ok {
		t.Errorf("TUSVAULT_MAX_SIZE (the server's limit) went into the token: %v", claims)
	}
	if exp, _ := claims["exp"].(float64); time.Until(time.Unix(int64(exp), 0)) < time.Hour {
		t.Errorf("TUSVAULT_TTL set the token's -ttl: exp %v", claims["exp"])
	}
	_, _, err = runEnv(t, map[string]string{"TUSVAULT_AUTH_SECRET_FILE": secret}, "token", "home", "alice", "-auth-private-key-file", "/k.pem")
	if err == nil || !strings.Contains(err.Error(), "(set by TUSVAULT_AUTH_SECRET_FILE)") {
		t.Errorf("token -auth-private-key-file with TUSVAULT_AUTH_SECRET_FILE: %v", err)
	}
}

// jwtClaims decodes a JWT's claims without verifying it.
func jwtClaims(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
