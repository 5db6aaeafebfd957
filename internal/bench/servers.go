package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tusvault/tusvault/internal/loadgen"
	"github.com/tusvault/tusvault/internal/s3server"
	"github.com/tusvault/tusvault/internal/testenv"
	"github.com/tusvault/tusvault/store/crypt"
)

// Settings of both servers.
const (
	PartSize    = 10 << 20 // -s3-part-size of both servers
	PartUploads = 4        // -s3-concurrent-part-uploads of both servers

	buildTimeout = 5 * time.Minute // go build of the tusvault binary
)

// Environment variables naming the binaries.
const (
	EnvTusd     = "TUSVAULT_BENCH_TUSD"
	EnvTusvault = "TUSVAULT_BENCH_TUSVAULT"
)

// Side is one of the servers compared.
type Side struct {
	Name string
	Bin  string
	// Skip, when not empty, is why this side cannot run.
	Skip string
	// Args returns the command line for a run against bucket on the S3
	// server at endpoint, with dir as its scratch directory and keyring as
	// tusvault's keyring file.
	Args func(endpoint, keyring, bucket, dir string) []string
}

// summaryText is the table a run leaves for TestMain.
var summaryText string

// FindBinary returns $envVar or <repo>/bin/name, skipping tb with hint
// when neither is an executable (failing it when CI is set).
func FindBinary(tb testing.TB, name, envVar, hint string) string {
	tb.Helper()
	p := os.Getenv(envVar)
	if p == "" {
		root, err := testenv.RepoRoot()
		if err != nil {
			tb.Fatal(err)
		}
		p = filepath.Join(root, "bin", name)
	}
	if fi, err := os.Stat(p); err != nil || fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
		msg := fmt.Sprintf("bench: no %s at %s; %s (or set %s)", name, p, hint, envVar)
		if testenv.InCI() {
			tb.Fatal(msg + " — CI must provide it")
		}
		summaryText = "\n" + tb.Name() + " skipped: " + msg + "\n" // shown without -v too
		tb.Skip(msg)
	}
	return p
}

// BuildTusvault builds cmd/tusvault into a temporary directory of tb and
// returns its path: the reduced run measures the code in the tree, not a
// bin/tusvault that may be stale.
func BuildTusvault(tb testing.TB) string {
	tb.Helper()
	bin := filepath.Join(tb.TempDir(), "tusvault")
	if err := testenv.BuildTusvault(bin, nil); err != nil {
		tb.Fatalf("bench: %v", err)
	}
	return bin
}

// hasFlag reports whether the tusvault binary at bin accepts -flag.
func hasFlag(bin, flag string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, bin, "-h").CombinedOutput()
	return regexp.MustCompile(`(?m)^\s+-` + regexp.QuoteMeta(flag) + `(\s|$)`).Match(out)
}

// Sides returns tusd (FindBinary) and the tusvault binary at tusvault,
// with their command lines.
func Sides(tb testing.TB, tusvault string) []Side {
	tusd := FindBinary(tb, "tusd", EnvTusd, "install it with `make bench-tools` (go install github.com/tus/tusd/v2/cmd/tusd@v2.9.1)")
	tv := Side{Name: "tusvault", Bin: tusvault, Args: func(endpoint, keyring, bucket, dir string) []string {
		// Open uploads: the benchmark measures storage, not token checks.
		return append(S3Args(endpoint, keyring, bucket, dir), "-keyring", keyring, "-auth=none")
	}}
	if !hasFlag(tusvault, "s3-bucket") {
		tv.Skip = fmt.Sprintf("%s has no -s3-bucket flag yet: rebuild it with `make build` once cmd/tusvault has the S3 flags", tusvault)
	}
	return []Side{
		{Name: "tusd", Bin: tusd, Args: S3Args},
		tv,
	}
}

// FormatV1 returns tv (a tusvault side of Sides) as "tusvault-v1": the
// same binary with -upload-format 1, so that its new uploads are format
// v1 (AES-CTR and HMAC-SHA256) instead of the default v2; or, given
// flags, with those instead (TUSVAULT_BENCH_V1_FLAGS), to compare an
// option against the default side by side under the same name. A binary
// without the first flag (older than format v2) skips it.
func FormatV1(tv Side, flags ...string) Side {
	if len(flags) == 0 {
		flags = []string{"-upload-format", "1"}
	}
	v1 := tv
	v1.Name = tv.Name + "-v1"
	v1.Args = func(endpoint, keyring, bucket, dir string) []string {
		return append(tv.Args(endpoint, keyring, bucket, dir), flags...)
	}
	if name := strings.TrimLeft(strings.SplitN(flags[0], "=", 2)[0], "-"); v1.Skip == "" && !hasFlag(tv.Bin, name) {
		v1.Skip = fmt.Sprintf("%s has no -%s flag", tv.Bin, name)
	}
	return v1
}

// S3Args are the flags both servers share: loopback, a free port, the S3
// settings and a scratch upload dir; -verbose=false on both, so neither
// logs every request. keyring is not used (tusd has none).
func S3Args(endpoint, keyring, bucket, dir string) []string {
	return []string{
		"-host", "127.0.0.1", "-port", "0",
		"-upload-dir", filepath.Join(dir, "uploads"),
		"-s3-bucket", bucket, "-s3-endpoint", endpoint,
		"-s3-part-size=" + strconv.Itoa(PartSize),
		"-s3-concurrent-part-uploads=" + strconv.Itoa(PartUploads),
		"-verbose=false",
	}
}

// ServerEnv is the environment of a server run against s3: the versitygw
// credentials, and nothing else from the AWS configuration of the
// machine. AWS_CA_BUNDLE is s3's test certificate over HTTPS, and empty
// over plain HTTP: a machine's own bundle (set on some for their proxies)
// would make both SDKs parse it at startup, about 3 MiB of RSS, for
// nothing. tusd buffers its parts in TMPDIR, here the run's scratch dir.
func ServerEnv(s3 *s3server.Server, dir string) []string {
	return []string{
		"AWS_ACCESS_KEY_ID=" + s3.AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + s3.SecretKey,
		"AWS_REGION=" + s3.Region,
		"AWS_SESSION_TOKEN=", "AWS_PROFILE=", "AWS_CA_BUNDLE=" + s3.CAFile,
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "no-aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "no-aws-credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
		"TMPDIR=" + filepath.Join(dir, "tmp"),
	}
}

// NewKeyring writes a fresh keyring file for tusvault (with S3 it must
// exist before the server starts).
func NewKeyring(tb testing.TB) string {
	kr, err := crypt.NewKeyring()
	if err != nil {
		tb.Fatal(err)
	}
	p := filepath.Join(tb.TempDir(), "keyring.json")
	if err := kr.Save(p); err != nil {
		tb.Fatal(err)
	}
	return p
}

// StartSide starts sd's server against a fresh bucket of s3, which it
// reaches at endpoint (s3.Endpoint, or a proxy in front of it), with a
// fresh scratch dir. When tb ends the server is stopped and the bucket's
// files are removed, to bound the disk used.
func StartSide(ctx context.Context, tb testing.TB, s3 *s3server.Server, sd Side, endpoint, keyring string) *loadgen.Server {
	tb.Helper()
	bucket := s3.NewBucket(tb)
	tb.Cleanup(func() { os.RemoveAll(filepath.Join(s3.Dir, bucket)) })
	dir := tb.TempDir()
	for _, d := range []string{"uploads", "tmp"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	srv, err := loadgen.StartServer(ctx, sd.Bin, sd.Args(endpoint, keyring, bucket, dir), ServerEnv(s3, dir))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { srv.Stop() })
	return srv
}
