package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
)

// syncBuffer is a bytes.Buffer safe for a server writing while the test
// reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func noEnv(string) string { return "" }

// runCmd runs the program to completion with the given arguments (without
// the program name).
func runCmd(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut syncBuffer
	err = run(context.Background(), append([]string{"tusvault"}, args...), noEnv, &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestHelpListsCommandsAndFlags(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}, {"serve", "-h"}} {
		out, _, err := runCmd(t, args...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		for _, want := range []string{"keys init", "keys rotate", "keys rewrap", "decrypt", "cleanup", "token home|guest", "healthcheck", "version", "help"} {
			if !strings.Contains(out, "tusvault "+want) {
				t.Errorf("%v: usage does not list %q:\n%s", args, want, out)
			}
		}
		c := defaultConfig()
		fs, _ := c.newFlagSet()
		for name := range tusdDefaults {
			if fs.Lookup(name) == nil {
				t.Errorf("flag -%s missing", name)
			}
			if !strings.Contains(out, "\n  -"+name+" ") && !strings.Contains(out, "\n  -"+name+"\n") {
				t.Errorf("%v: usage does not list -%s", args, name)
			}
		}
		for _, name := range []string{"keyring", "part-size", "spool-dir", "concurrent-part-uploads", "expire-after",
			"s3-bucket", "s3-endpoint", "s3-object-prefix", "s3-part-size", "s3-concurrent-part-uploads",
			"s3-disable-ssl", "s3-log-api-calls", "s3-sdk-checksums", "s3-unsigned-payload", "redis-url",
			"auth", "auth-secret-file", "auth-secret-encoding", "auth-public-key-file", "auth-issuer", "auth-audience", "auth-resume-grace",
			"home-max-size", "guest-max-size", "home-prefix", "guest-prefix", "public-prefix"} {
			if !strings.Contains(out, "\n  -"+name+" ") && !strings.Contains(out, "\n  -"+name+"\n") {
				t.Errorf("%v: usage does not list -%s", args, name)
			}
		}
	}
}

func TestSubcommandHelp(t *testing.T) {
	for _, args := range [][]string{
		{"help", "decrypt"}, {"decrypt", "-h"},
		{"help", "keys"}, {"keys", "help"},
		{"keys", "rotate", "-h"}, {"keys", "rewrap", "-h"},
		{"keys", "init", "-h"}, {"help", "keys init"},
		{"cleanup", "-h"}, {"help", "cleanup"},
		{"token", "-h"}, {"help", "token"}, {"token", "home", "-h"}, {"token", "guest", "-h"}, {"help", "token guest"},
		{"healthcheck", "-h"}, {"help", "healthcheck"},
	} {
		out, _, err := runCmd(t, args...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if !strings.HasPrefix(out, "Usage: tusvault ") {
			t.Errorf("%v: got %q", args, out)
		}
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"-version"}} {
		out, _, err := runCmd(t, args...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		for _, want := range []string{"Version: ", "Commit: ", "Date: ", "Go: "} {
			if !strings.Contains(out, want) {
				t.Errorf("%v: %q lacks %q", args, out, want)
			}
		}
	}
}

// The version variables set at link time (-ldflags -X, as the Dockerfile
// does) win over the build information; TestDockerfileBuild links them.
func TestVersionLinked(t *testing.T) {
	saved := [3]string{version, commit, date}
	t.Cleanup(func() { version, commit, date = saved[0], saved[1], saved[2] })
	version, commit, date = "v9.8.7", "0123abc", "2026-01-02T03:04:05Z"
	out, _, err := runCmd(t, "version")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Version: v9.8.7\n", "Commit: 0123abc\n", "Date: 2026-01-02T03:04:05Z\n", "Go: go1."} {
		if !strings.Contains(out, want) {
			t.Errorf("%q lacks %q", out, want)
		}
	}
	version, commit, date = "", "", ""
	if b := readBuildInfo(); b.Version == "" || b.Version == "v9.8.7" {
		t.Errorf("unlinked version %q, want the build information's", b.Version)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"frobnicate"},
		{"serve", "extra"},
		{"-no-such-flag"},
		{"version", "extra"},
		{"keys"},
		{"keys", "spin"},
		{"keys", "rotate", "extra"},
		{"decrypt"},
		{"decrypt", "a", "b"},
		{"help", "nope"},
		{"token"},
		{"token", "spin"},
		{"-auth=foo"},
	} {
		_, _, err := runCmd(t, args...)
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("%v: got %v, want a usage error", args, err)
			continue
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: message is not one line: %q", args, err)
		}
	}
}
