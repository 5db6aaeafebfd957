package s3

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Defaults of Config.
const (
	DefaultMaxAttempts = 5
	DefaultMaxBackoff  = 20 * time.Second
	// DefaultCheckTimeout bounds the bucket check of New.
	DefaultCheckTimeout = 15 * time.Second
	// defaultCustomRegion is the region signed for when a custom endpoint
	// is set and no region is configured anywhere (S3-compatible services
	// mostly accept any).
	defaultCustomRegion = "us-east-1"
)

// Config configures a Backend. Only Bucket is required; flags of the same
// meaning as tusd's -s3-* flags feed it in cmd/.
type Config struct {
	// Bucket holds every object. Required.
	Bucket string
	// ObjectPrefix is prepended to every key, e.g. "tusvault/" (default
	// "": keys are used as they are). Keys handed back by List and
	// ListMultipartUploads have it stripped.
	ObjectPrefix string
	// Endpoint is the URL of an S3-compatible service, e.g.
	// "https://s3.wasabisys.com" or "http://127.0.0.1:7070" (default "":
	// AWS, chosen by Region). A custom endpoint implies path-style
	// addressing. Without a scheme, https:// is assumed (http:// with
	// DisableSSL).
	Endpoint string
	// Region to sign for (default "": the AWS default chain, e.g.
	// AWS_REGION; "us-east-1" with a custom Endpoint if that has none).
	Region string
	// DisableSSL talks plain HTTP to AWS endpoints and to an Endpoint
	// without a scheme (default false).
	DisableSSL bool
	// UnsignedPayload sends every body as UNSIGNED-PAYLOAD over plain
	// HTTP too, as the SDK does over HTTPS (default false: over plain
	// HTTP SigV4 signs the SHA-256 of every body, which the store
	// computes while it spools). It saves that hash, about a third of
	// the server's CPU per byte over plain HTTP, and gives up the object
	// store's check that a body is the one signed: one altered on the
	// way is stored, and found only when read (every chunk of a format
	// v2 upload is authenticated; a v1 object on a whole read). For
	// links nothing else can write to.
	UnsignedPayload bool
	// LogAPICalls logs every S3 operation (name, duration, attempts,
	// outcome) through Logger: debug when it succeeded at once, info when
	// it needed retries or failed (default false). Credentials, keys'
	// contents and bodies are never logged.
	LogAPICalls bool
	// Logger receives the API call log (default nil: discard).
	Logger *slog.Logger
	// SDKChecksums lets the SDK add its default CRC32 checksums to every
	// request and validate them on responses (default false: only where an
	// operation requires one, since several S3-compatible services reject
	// the SDK's checksum trailers).
	SDKChecksums bool
	// HTTPClient sends the requests (default nil: the SDK's client), e.g.
	// to inject faults in tests or set proxies and timeouts.
	HTTPClient *http.Client
	// Credentials signs the requests (default nil: the AWS default chain:
	// environment, shared config files, container and instance roles).
	Credentials aws.CredentialsProvider
	// MaxAttempts is the number of attempts of one operation, retries
	// included, by the SDK's standard retryer with exponential backoff and
	// jitter (default 0: DefaultMaxAttempts). It covers 500s, 503 SlowDown,
	// timeouts and connection resets.
	MaxAttempts int
	// MaxBackoff caps the delay between two attempts (default 0:
	// DefaultMaxBackoff).
	MaxBackoff time.Duration
	// CheckTimeout bounds the bucket check of New, all attempts included
	// (default 0: DefaultCheckTimeout).
	CheckTimeout time.Duration
}

// validate checks cfg and returns a copy with the defaults filled in.
func (cfg Config) validate() (Config, error) {
	if cfg.Bucket == "" {
		return cfg, errors.New("s3: no bucket configured")
	}
	if cfg.MaxAttempts < 0 || cfg.MaxBackoff < 0 || cfg.CheckTimeout < 0 {
		return cfg, errors.New("s3: negative MaxAttempts, MaxBackoff or CheckTimeout")
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	if cfg.CheckTimeout == 0 {
		cfg.CheckTimeout = DefaultCheckTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Endpoint != "" {
		ep, err := normalizeEndpoint(cfg.Endpoint, cfg.DisableSSL)
		if err != nil {
			return cfg, err
		}
		cfg.Endpoint = ep
	}
	return cfg, nil
}

// normalizeEndpoint adds the scheme to an endpoint given as host[:port] and
// checks that the result is an http(s) URL without credentials.
func normalizeEndpoint(ep string, disableSSL bool) (string, error) {
	if !strings.Contains(ep, "://") {
		scheme := "https://"
		if disableSSL {
			scheme = "http://"
		}
		ep = scheme + ep
	}
	u, err := url.Parse(ep)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		// The endpoint is not echoed: it could carry credentials.
		return "", errors.New("s3: endpoint is not an http(s)://host[:port] URL")
	}
	return strings.TrimSuffix(ep, "/"), nil
}

// where names the service for messages: the endpoint, or AWS and region.
func (cfg Config) where(region string) string {
	if cfg.Endpoint != "" {
		return "endpoint " + cfg.Endpoint
	}
	return fmt.Sprintf("AWS region %s", region)
}
