package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := interruptContext()
	err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(os.Stderr, "tusvault: %v (run 'tusvault help' for usage)\n", err)
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// interruptContext returns a context cancelled by the first SIGINT or
// SIGTERM; that starts the graceful shutdown. A second signal exits at once
// with status 1, as tusd does.
func interruptContext() (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case <-sigs:
		case <-ctx.Done():
			return
		}
		cancel()
		<-sigs
		fmt.Fprintln(os.Stderr, "Received second interrupt signal. Exiting immediately!")
		os.Exit(1)
	}()
	return ctx, func() {
		signal.Stop(sigs)
		cancel()
	}
}

// run is the whole program but the process: args[0] is the program name,
// cancelling ctx asks for a graceful stop. getenv is the environment: every
// flag of serve, and those of the subcommands that share serve's, can be
// set by a TUSVAULT_<FLAG> variable read through it (env.go); the S3
// storage reads AWS_REGION through it (the AWS SDK reads the rest of its
// default chain, credentials included, from the process environment).
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		args = args[1:]
	}
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = runServe(ctx, args, getenv, stdout, stderr)
	case "keys":
		err = runKeys(ctx, args, getenv, stdout, stderr)
	case "decrypt":
		err = runDecrypt(ctx, args, getenv, stdout, stderr)
	case "cleanup":
		err = runCleanup(ctx, args, getenv, stdout, stderr)
	case "token":
		err = runToken(ctx, args, getenv, stdout)
	case "healthcheck":
		err = runHealthcheck(ctx, args, getenv, stdout)
	case "version":
		if len(args) > 0 {
			return usageError{fmt.Errorf("version: unexpected argument %q", args[0])}
		}
		printVersion(stdout)
	case "help":
		err = runHelp(args, stdout)
	default:
		err = usageError{fmt.Errorf("unknown command %q", cmd)}
	}
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}

// usageError is a command line the program cannot understand (exit status
// 2); its message is one line.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

// runServe parses the serve flags and serves until ctx is cancelled.
func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, getenv)
	if errors.Is(err, flag.ErrHelp) {
		printUsage(stdout)
		return err
	}
	if err != nil {
		return usageError{err}
	}
	if cfg.ShowVersion {
		printVersion(stdout)
		return nil
	}
	return serve(ctx, cfg, getenv, stdout, stderr)
}

func runHelp(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		printUsage(stdout)
		return nil
	}
	switch strings.Join(args, " ") {
	case "serve":
		printUsage(stdout)
	case "keys":
		printKeysUsage(stdout)
	case "keys init":
		fmt.Fprint(stdout, keysInitUsage)
	case "keys rotate":
		fmt.Fprint(stdout, keysRotateUsage)
	case "keys rewrap":
		fmt.Fprint(stdout, keysRewrapUsage)
	case "decrypt":
		fmt.Fprint(stdout, decryptUsage)
	case "cleanup":
		fmt.Fprint(stdout, cleanupUsage)
	case "token", "token home", "token guest":
		fmt.Fprint(stdout, tokenUsage)
	case "healthcheck":
		fmt.Fprint(stdout, healthcheckUsage)
	case "version", "help":
		printUsage(stdout)
	default:
		return usageError{fmt.Errorf("help: unknown command %q", strings.Join(args, " "))}
	}
	return nil
}

const usageHead = `tusvault is a tus 1.0 resumable upload server that encrypts every stored byte.

Usage:
  tusvault [serve] [flags]               serve uploads (the default command)
  tusvault keys init [flags]             create a new keyring file (needed before serving from S3)
  tusvault keys rotate [flags]           add a new primary key to the keyring, print its kid
  tusvault keys rewrap [flags]           re-wrap every upload's data key under the primary key
  tusvault decrypt [flags] UPLOAD_ID     write a finished upload's plaintext (tag verified)
  tusvault cleanup [flags]               remove unfinished uploads idle for -expire-after (24h)
  tusvault token home|guest [flags]      print a home (account) or guest (share) token
  tusvault healthcheck [flags]           GET /healthz of the local server, exit 0 if healthy (for containers)
  tusvault version                       print version information
  tusvault help [command]                show this help, or a command's

The storage flags (-upload-dir, -keyring and the -s3-* flags that say where
the bucket is) select the uploads for serve, decrypt, keys rewrap and cleanup
alike. With -s3-bucket, credentials and region come from the AWS default chain
(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, shared config files,
instance role).

Uploads need a bearer token (Authorization: Bearer <JWT>) unless -auth=none:
a home token for an account, or a guest token for a share (tusvault token).

Every flag below (but -version) can also be set by a variable TUSVAULT_<FLAG>,
upper case with underscores (-s3-bucket: TUSVAULT_S3_BUCKET; bools take
1, true, 0, false...); a flag on the command line wins. The subcommands read
the variables of the serve flags they share (-upload-dir, -keyring, -s3-*,
-auth-secret-file, ...). Secrets are never values: they come from files
(-auth-secret-file, -keyring, -status-token-file, -tls-key), such as
container secret mounts.

Flags of serve (tusd's names, meanings and defaults, plus the encryption,
auth and routing options):
`

// printUsage prints the commands and the serve flags by group.
func printUsage(w io.Writer) {
	fmt.Fprint(w, usageHead)
	c := defaultConfig()
	fs, groups := c.newFlagSet()
	for _, g := range groups {
		fmt.Fprintf(w, "\n%s:\n", g.title)
		for _, name := range g.names {
			printFlag(w, fs.Lookup(name))
		}
	}
}

// printFlag prints one flag the way flag.PrintDefaults does.
func printFlag(w io.Writer, f *flag.Flag) {
	typ, usage := flag.UnquoteUsage(f)
	line := "  -" + f.Name
	if typ != "" {
		line += " " + typ
	}
	fmt.Fprintf(w, "%s\n    \t%s", line, strings.ReplaceAll(usage, "\n", "\n    \t"))
	switch f.DefValue {
	case "", "0", "false", "0s":
	default:
		if typ == "string" {
			fmt.Fprintf(w, " (default %q)", f.DefValue)
		} else {
			fmt.Fprintf(w, " (default %v)", f.DefValue)
		}
	}
	fmt.Fprintln(w)
}

// newSubFlagSet returns a quiet flag set for a subcommand: errors come back
// as values and become one-line messages.
func newSubFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseSub parses a subcommand's flags, which may come before or after its
// positional arguments (up to a "--"), and returns the positional ones.
// The flags the command line leaves unset that share a serve flag's name
// and meaning are then set from their TUSVAULT_ variables in getenv
// (fromEnvShared); the returned envSet says which, for the messages of
// later checks. On -h it prints usage and the flags to stdout and returns
// flag.ErrHelp.
func parseSub(fs *flag.FlagSet, args []string, stdout io.Writer, usage string, getenv func(string) string) ([]string, envSet, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprint(stdout, usage+"\nFlags:\n")
				fs.VisitAll(func(f *flag.Flag) { printFlag(stdout, f) })
				return nil, nil, err
			}
			return nil, nil, usageError{fmt.Errorf("%s: %w", fs.Name(), err)}
		}
		consumed := len(args) - fs.NArg()
		rest := fs.Args()
		if consumed > 0 && args[consumed-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		if len(rest) == 0 {
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	fromEnv, err := applyEnv(fs, getenv, fromEnvShared(fs.Name()))
	if err != nil {
		return nil, nil, usageError{fmt.Errorf("%s: %w", fs.Name(), err)}
	}
	return pos, fromEnv, nil
}

// parseNoArgs is parseSub for a subcommand without positional arguments.
func parseNoArgs(fs *flag.FlagSet, args []string, stdout io.Writer, usage string, getenv func(string) string) (envSet, error) {
	pos, fromEnv, err := parseSub(fs, args, stdout, usage, getenv)
	if err != nil {
		return nil, err
	}
	if len(pos) > 0 {
		return nil, usageError{fmt.Errorf("%s: unexpected argument %q", fs.Name(), pos[0])}
	}
	return fromEnv, nil
}

// Version information set at link time, as the Dockerfile does:
//
//	go build -ldflags "-X main.version=v1.2.3 -X main.commit=<sha> -X main.date=<RFC 3339>"
//
// Each one left empty comes from the build information Go records (the
// module version and the VCS stamp, which builds outside a Git checkout,
// such as a container build without .git, lack).
var version, commit, date string

// buildInfo is what the binary knows about its own build.
type buildInfo struct {
	Version, Commit, Date, Tusd, Go string
}

func readBuildInfo() buildInfo {
	b := buildInfo{Version: "n/a", Commit: "n/a", Date: "n/a", Tusd: "n/a", Go: "n/a"}
	if bi, ok := debug.ReadBuildInfo(); ok {
		b.fromModule(bi)
	}
	if version != "" {
		b.Version = version
	}
	if commit != "" {
		b.Commit = commit
	}
	if date != "" {
		b.Date = date
	}
	return b
}

// fromModule fills b from the build information Go records.
func (b *buildInfo) fromModule(bi *debug.BuildInfo) {
	b.Go = bi.GoVersion
	if bi.Main.Version != "" {
		b.Version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Commit = s.Value
		case "vcs.time":
			b.Date = s.Value
		}
	}
	for _, d := range bi.Deps {
		if d.Path == "github.com/tus/tusd/v2" {
			b.Tusd = d.Version
		}
	}
}

// printVersion prints tusd's three version lines plus the tusd and Go
// versions the binary was built with.
func printVersion(w io.Writer) {
	b := readBuildInfo()
	fmt.Fprintf(w, "Version: %s\nCommit: %s\nDate: %s\ntusd: %s\nGo: %s\n", b.Version, b.Commit, b.Date, b.Tusd, b.Go)
}
