package main

import (
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestStorageFlagDefaults(t *testing.T) {
	c := defaultConfig()
	fs, _ := c.newFlagSet()
	for name, want := range map[string]string{
		"s3-bucket":                  "",
		"s3-endpoint":                "",
		"s3-object-prefix":           "",
		"s3-disable-ssl":             "false",
		"s3-log-api-calls":           "false",
		"s3-sdk-checksums":           "false",
		"s3-unsigned-payload":        "false",
		"s3-part-size":               "5242880",
		"s3-concurrent-part-uploads": "4",
		"expire-after":               "0s",
		"redis-url":                  "",
	} {
		if f := fs.Lookup(name); f == nil || f.DefValue != want {
			t.Errorf("-%s: got %v, want default %q", name, f, want)
		}
	}
	if fs.Lookup("s3-region") != nil {
		t.Error("-s3-region is defined: the region comes from the AWS chain")
	}
	// The offline commands take the same storage flags with the same
	// defaults.
	sf := defaultStorageFlags()
	off := newSubFlagSet("x")
	sf.register(off)
	for _, name := range []string{"upload-dir", "keyring", "s3-bucket", "s3-endpoint", "s3-object-prefix", "s3-disable-ssl", "s3-log-api-calls", "s3-sdk-checksums", "s3-unsigned-payload", "redis-url"} {
		f, g := fs.Lookup(name), off.Lookup(name)
		if g == nil {
			t.Errorf("offline commands lack -%s", name)
		} else if f.DefValue != g.DefValue {
			t.Errorf("-%s: default %q offline, %q for serve", name, g.DefValue, f.DefValue)
		}
	}
}

func TestPartFlagAliases(t *testing.T) {
	for _, tt := range []struct {
		args  []string
		part  int64
		slots int
	}{
		{nil, 5 << 20, 4},
		{[]string{"-s3-part-size", "6291456"}, 6 << 20, 4},
		{[]string{"-part-size", "6291456"}, 6 << 20, 4},
		{[]string{"-s3-concurrent-part-uploads", "7"}, 5 << 20, 7},
		{[]string{"-concurrent-part-uploads", "7"}, 5 << 20, 7},
		// One variable: the last one given wins.
		{[]string{"-part-size", "6291456", "-s3-part-size", "7340032"}, 7 << 20, 4},
	} {
		c, err := parseConfig(tt.args, noEnv)
		if err != nil {
			t.Errorf("%q: %v", tt.args, err)
			continue
		}
		if c.PartSize != tt.part || c.ConcurrentPartUploads != tt.slots {
			t.Errorf("%q: part size %d, slots %d; want %d, %d", tt.args, c.PartSize, c.ConcurrentPartUploads, tt.part, tt.slots)
		}
	}
}

func TestParseStorageFlags(t *testing.T) {
	c, err := parseConfig([]string{"-s3-bucket", "b", "-s3-endpoint", "http://127.0.0.1:9000", "-s3-object-prefix", "tv/",
		"-s3-disable-ssl", "-s3-log-api-calls", "-s3-sdk-checksums", "-s3-unsigned-payload", "-expire-after", "2h", "-upload-dir", "/srv/tv", "-auth=none"}, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	want := storageFlags{UploadDir: "/srv/tv", S3Bucket: "b", S3Endpoint: "http://127.0.0.1:9000", S3ObjectPrefix: "tv/",
		S3DisableSSL: true, S3LogAPICalls: true, S3SDKChecksums: true, S3UnsignedPayload: true}
	if c.storageFlags != want || c.ExpireAfter != 2*time.Hour {
		t.Errorf("got %+v, expire %s", c.storageFlags, c.ExpireAfter)
	}
	// Keyring and spool stay local, under the upload dir.
	if c.keyringPath() != "/srv/tv/keyring.json" || c.spoolDir() != "/srv/tv/.tusvault/spool" {
		t.Errorf("keyring %q, spool %q", c.keyringPath(), c.spoolDir())
	}
	if !strings.Contains(c.where(), "'b'") || !strings.Contains(c.where(), "http://127.0.0.1:9000") || !strings.Contains(c.where(), "'tv/'") {
		t.Errorf("where() = %q", c.where())
	}
}

func TestStorageFlagsRejected(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-s3-endpoint", "http://127.0.0.1:9000"}, "-s3-endpoint needs -s3-bucket"},
		{[]string{"-s3-object-prefix", "p/"}, "-s3-object-prefix needs -s3-bucket"},
		{[]string{"-s3-disable-ssl"}, "-s3-disable-ssl needs -s3-bucket"},
		{[]string{"-s3-sdk-checksums"}, "-s3-sdk-checksums needs -s3-bucket"},
		{[]string{"-s3-unsigned-payload"}, "-s3-unsigned-payload needs -s3-bucket"},
		{[]string{"-s3-log-api-calls"}, "-s3-log-api-calls needs -s3-bucket"},
		{[]string{"-s3-bucket", "a/b"}, "-s3-bucket"},
		{[]string{"-s3-bucket", "b", "-s3-endpoint", "ftp://host"}, "-s3-endpoint"},
		{[]string{"-s3-bucket", "b", "-s3-endpoint", "http://"}, "-s3-endpoint"},
		{[]string{"-s3-bucket", "b", "-s3-endpoint", "http://AKID:s3cr3t@host"}, "-s3-endpoint"},
		{[]string{"-expire-after", "-1s"}, "-expire-after"},
		{[]string{"-expire-after", "soon"}, "expire-after"},
		{[]string{"-s3-part-size", "1024"}, "-s3-part-size"},
		{[]string{"-s3-concurrent-part-uploads", "0"}, "-s3-concurrent-part-uploads"},
		{[]string{"-s3-region", "eu-west-1"}, "s3-region"},
		{[]string{"-redis-url", "http://user:s3cr3t@host:6379"}, "-redis-url"},
		{[]string{"-redis-url", "redis://user:s3cr3t@"}, "-redis-url"},
		{[]string{"-redis-url", "redis://user:s3cr3t@host:6379/%zz"}, "-redis-url"},
	} {
		_, err := parseConfig(tt.args, noEnv)
		if err == nil {
			t.Errorf("%q: accepted", tt.args)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, tt.want) || strings.Contains(msg, "\n") || strings.Contains(msg, "s3cr3t") {
			t.Errorf("%q: error %q (want one line naming %q, no secret)", tt.args, msg, tt.want)
		}
	}
	// The offline commands reject them as usage errors, before any I/O.
	for _, args := range [][]string{
		{"decrypt", "-s3-endpoint", "http://127.0.0.1:9000", testID},
		{"keys", "rewrap", "-s3-object-prefix", "p/"},
		{"cleanup", "-s3-endpoint", "http://127.0.0.1:9000"},
		{"cleanup", "-expire-after", "0s"},
		{"cleanup", "-expire-after", "-1h"},
		{"cleanup", "extra"},
		{"keys", "init", "extra"},
	} {
		_, _, err := runCmd(t, args...)
		var ue usageError
		if !errors.As(err, &ue) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: got %v, want a one-line usage error", args, err)
		}
	}
}

func TestS3ConfigFromFlags(t *testing.T) {
	sf := storageFlags{UploadDir: "d", S3Bucket: "b", S3Endpoint: "127.0.0.1:9000", S3ObjectPrefix: "p/", S3DisableSSL: true}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

	c := sf.s3Config(env(nil), log)
	if c.Bucket != "b" || c.Endpoint != "127.0.0.1:9000" || c.ObjectPrefix != "p/" || !c.DisableSSL || c.LogAPICalls || c.Logger != log {
		t.Errorf("config %+v", c)
	}
	// Default: checksums only where required; credentials from the chain.
	if c.SDKChecksums || c.UnsignedPayload || c.Credentials != nil || c.Region != "" {
		t.Errorf("checksums %v, unsigned payload %v, credentials %v, region %q", c.SDKChecksums, c.UnsignedPayload, c.Credentials, c.Region)
	}
	sf.S3SDKChecksums, sf.S3LogAPICalls, sf.S3UnsignedPayload = true, true, true
	if c := sf.s3Config(env(nil), log); !c.SDKChecksums || !c.LogAPICalls || !c.UnsignedPayload {
		t.Error("-s3-sdk-checksums, -s3-log-api-calls or -s3-unsigned-payload not passed on")
	}
	// The region comes from the environment run is given.
	for _, tt := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"AWS_REGION": "eu-west-3"}, "eu-west-3"},
		{map[string]string{"AWS_DEFAULT_REGION": "ap-south-1"}, "ap-south-1"},
		{map[string]string{"AWS_REGION": "eu-west-3", "AWS_DEFAULT_REGION": "ap-south-1"}, "eu-west-3"},
	} {
		if got := sf.s3Config(env(tt.env), log).Region; got != tt.want {
			t.Errorf("%v: region %q, want %q", tt.env, got, tt.want)
		}
	}
}

func TestSweepInterval(t *testing.T) {
	for _, tt := range []struct{ expire, want time.Duration }{
		{time.Second, time.Minute},
		{4 * time.Minute, time.Minute},
		{8 * time.Minute, 2 * time.Minute},
		{2 * time.Hour, 30 * time.Minute},
		{4 * time.Hour, time.Hour},
		{24 * time.Hour, time.Hour},
	} {
		if got := sweepInterval(tt.expire); got != tt.want {
			t.Errorf("sweepInterval(%s) = %s, want %s", tt.expire, got, tt.want)
		}
	}
	if first, every := sweepTimes(24 * time.Hour); first != firstSweepDelay || every != time.Hour {
		t.Errorf("sweepTimes(24h) = %s, %s", first, every)
	}
}
