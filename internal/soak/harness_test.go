package soak

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tusvault/tusvault/internal/loadgen"
	"github.com/tusvault/tusvault/internal/s3server"
	"github.com/tusvault/tusvault/internal/testenv"
)

// Environment variables the soak reads.
const (
	envMode     = "TUSVAULT_SOAK"          // "full" for FullMix; "" or "reduced" for ReducedMix
	envSeed     = "TUSVAULT_SOAK_SEED"     // the plan's seed (default: from the clock, printed)
	envTusvault = "TUSVAULT_SOAK_TUSVAULT" // a tusvault binary (default: built from the tree)
	envChart    = "TUSVAULT_SOAK_CHART"    // where to write the RSS chart (default: the artifact dir)
	envReport   = "TUSVAULT_SOAK_REPORT"   // where to write the Markdown tables (default: the artifact dir)
	envCommand  = "TUSVAULT_SOAK_COMMAND"  // the command line the report names (make soak sets it)
)

// Bounds of the harness.
const (
	buildTimeout = 5 * time.Minute
	toolTimeout  = 30 * time.Second // one `tusvault keys` or `tusvault token`
	ramLimitMB   = 512              // -ram-limit-mb: the box tusvault runs on
)

// soakBinary returns $TUSVAULT_SOAK_TUSVAULT or a tusvault built from the
// tree as `make build` builds it (CGO_ENABLED=0, -trimpath).
func soakBinary(t *testing.T) string {
	if p := os.Getenv(envTusvault); p != "" {
		if fi, err := os.Stat(p); err != nil || fi.IsDir() {
			t.Fatalf("%s=%s: not a binary (%v)", envTusvault, p, err)
		}
		return p
	}
	bin := filepath.Join(t.TempDir(), "tusvault")
	if err := testenv.BuildTusvault(bin, append(os.Environ(), "CGO_ENABLED=0"), "-trimpath"); err != nil {
		t.Fatalf("soak: %v", err)
	}
	return bin
}

// tool runs `tusvault args...` and returns its stdout, trimmed.
func tool(t *testing.T, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tusvault %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// server is a tusvault on versitygw with its keyring, secret and tokens.
type server struct {
	*loadgen.Server
	s3     *s3server.Server
	bucket string
	target Target
	log    string // the server's whole output
}

// startServer creates the keyring (`tusvault keys init`) and a token
// secret, mints the tokens of p's accounts and shares (`tusvault token`;
// each share's -max-files is what it holds at most: its kept files and
// one upload per client) and starts bin on versitygw, -ram-limit-mb 512.
func startServer(ctx context.Context, t *testing.T, bin string, p Plan, clients int) *server {
	s3srv := s3server.Start(t) // fails in CI when versitygw is missing
	dir := t.TempDir()
	keyring := filepath.Join(dir, "keyring.json")
	tool(t, bin, "keys", "init", "-keyring", keyring)
	secret := filepath.Join(dir, "auth.secret")
	key := make([]byte, 32)
	rand.Read(key)
	if err := os.WriteFile(secret, []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tg := Target{Home: map[string]string{}, Guest: map[string]string{}}
	for _, a := range p.Mix.Accounts {
		tg.Home[a] = tool(t, bin, "token", "home", a, "-auth-secret-file", secret, "-ttl", "3h")
	}
	for _, sh := range p.Mix.Shares {
		maxFiles := p.KeptIn(sh) + clients
		tg.Guest[sh.String()] = tool(t, bin, "token", "guest", "-owner", sh.Owner, "-share", sh.Name,
			"-max-files", strconv.Itoa(maxFiles), "-types", GuestTypes, "-ttl", "3h", "-auth-secret-file", secret)
	}
	bucket := s3srv.NewBucket(t)
	keepDirs(t, s3srv, bucket, p.Mix)
	args := []string{
		"-host", "127.0.0.1", "-port", "0", "-upload-dir", filepath.Join(dir, "data"),
		"-s3-bucket", bucket, "-s3-endpoint", s3srv.Endpoint, "-keyring", keyring,
		"-auth-secret-file", secret, "-ram-limit-mb", strconv.Itoa(ramLimitMB),
	}
	env := []string{
		"AWS_ACCESS_KEY_ID=" + s3srv.AccessKey, "AWS_SECRET_ACCESS_KEY=" + s3srv.SecretKey, "AWS_REGION=" + s3srv.Region,
		"AWS_SESSION_TOKEN=", "AWS_PROFILE=", "AWS_CA_BUNDLE=",
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "no-aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "no-aws-credentials"),
		"AWS_EC2_METADATA_DISABLED=true", "GOMEMLIMIT=", "GOGC=",
	}
	logPath := filepath.Join(t.ArtifactDir(), "tusvault.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logFile.Close() })
	srv, err := loadgen.StartServerLog(ctx, bin, args, env, logFile)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() })
	tg.Endpoint = srv.URL
	return &server{Server: srv, s3: s3srv, bucket: bucket, target: tg, log: logPath}
}

// keepSuffix names the objects keepDirs stores.
const keepSuffix = "/.soak-keep"

// keepDirs stores an object in the directory of each account and share,
// so that versitygw's posix backend never removes one: v1.8.0 deletes the
// directory of the last object deleted in it, and a PutObject into it at
// that moment fails (409 ExistingObjectIsDirectory; 5 in 300 tries of a
// delete racing a put). S3 has no directories; tusvault answers such a
// failed write 500, which the soak counts as a failure. The objects are
// no uploads' (no .info), so tusvault never lists them.
func keepDirs(t *testing.T, s3srv *s3server.Server, bucket string, m Mix) {
	var dirs []string
	for _, a := range m.Accounts {
		dirs = append(dirs, "home/"+a)
	}
	for _, sh := range m.Shares {
		dirs = append(dirs, "guest/"+sh.String())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, d := range dirs {
		_, err := s3srv.Client().PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(d + keepSuffix), Body: strings.NewReader("")})
		if err != nil {
			t.Fatalf("soak: %s%s: %v", d, keepSuffix, err)
		}
	}
}

// statusURL is the server's RAM status route.
func (s *server) statusURL() string {
	base, _, _ := strings.Cut(s.URL, "/files/")
	return base + "/upload/ram-status"
}

// leftovers lists what is left in the bucket: objects (but keepDirs')
// and unfinished multipart uploads (at most 1,000 of each).
func (s *server) leftovers(ctx context.Context) ([]string, error) {
	c := s.s3.Client()
	var left []string
	objs, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(s.bucket)})
	if err != nil {
		return nil, err
	}
	for _, o := range objs.Contents {
		if k := aws.ToString(o.Key); !strings.HasSuffix(k, keepSuffix) {
			left = append(left, "object "+k)
		}
	}
	mps, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(s.bucket)})
	if err != nil {
		return nil, err
	}
	for _, u := range mps.Uploads {
		left = append(left, "multipart upload "+aws.ToString(u.Key))
	}
	return left, nil
}

// planFor reads the mode and seed of the environment.
func planFor(t *testing.T) (Plan, string) {
	mode := os.Getenv(envMode)
	m := ReducedMix
	switch mode {
	case "", "reduced":
		mode = "reduced"
	case "full":
		m = FullMix
	default:
		t.Fatalf("%s=%q: want full or reduced", envMode, mode)
	}
	seed := uint64(time.Now().UnixNano()) % 1_000_000_000
	if v := os.Getenv(envSeed); v != "" {
		var err error
		if seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatalf("%s=%q: want a number", envSeed, v)
		}
	}
	p, err := NewPlan(seed, m)
	if err != nil {
		t.Fatal(err)
	}
	return p, mode
}

// outPath resolves a path from the environment against the repository
// root (go test runs in the package directory), or returns def.
func outPath(t *testing.T, env, def string) string {
	p := os.Getenv(env)
	if p == "" {
		return def
	}
	if filepath.IsAbs(p) {
		return p
	}
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, p)
}

// loadAverage is the first three fields of /proc/loadavg.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}

// commit names the tree's commit (with "+changes" when it has some).
func commit() string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return ""
	}
	c := strings.TrimSpace(string(out))
	if st, err := exec.CommandContext(ctx, "git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
		c += "+changes"
	}
	return c
}

// describeLog points at the server's log for a failure message.
func (s *server) describeLog() string {
	return fmt.Sprintf("server log: %s (kept with go test -artifacts); its end:\n%s", s.log, s.Output())
}
