package s3

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tusvault/tusvault/store"
)

var (
	_ store.Backend       = (*Backend)(nil)
	_ store.PayloadHasher = (*Backend)(nil)
)

// api lists the SDK calls the backend makes (*s3.Client implements it).
type api interface {
	HeadBucket(context.Context, *s3.HeadBucketInput, ...func(*s3.Options)) (*s3.HeadBucketOutput, error)
	PutObject(context.Context, *s3.PutObjectInput, ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	HeadObject(context.Context, *s3.HeadObjectInput, ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	DeleteObject(context.Context, *s3.DeleteObjectInput, ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
	ListObjectsV2(context.Context, *s3.ListObjectsV2Input, ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	CreateMultipartUpload(context.Context, *s3.CreateMultipartUploadInput, ...func(*s3.Options)) (*s3.CreateMultipartUploadOutput, error)
	UploadPart(context.Context, *s3.UploadPartInput, ...func(*s3.Options)) (*s3.UploadPartOutput, error)
	ListParts(context.Context, *s3.ListPartsInput, ...func(*s3.Options)) (*s3.ListPartsOutput, error)
	CompleteMultipartUpload(context.Context, *s3.CompleteMultipartUploadInput, ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error)
	AbortMultipartUpload(context.Context, *s3.AbortMultipartUploadInput, ...func(*s3.Options)) (*s3.AbortMultipartUploadOutput, error)
	ListMultipartUploads(context.Context, *s3.ListMultipartUploadsInput, ...func(*s3.Options)) (*s3.ListMultipartUploadsOutput, error)
}

// Backend stores objects in one bucket of an S3-compatible service. It is
// safe for concurrent use.
type Backend struct {
	client api
	bucket string
	prefix string
	log    *slog.Logger
	// signsPayloads: plain HTTP, where SigV4 signs a SHA-256 of every
	// body (see payload.go).
	signsPayloads bool
}

// New builds the S3 client described by cfg and checks that the bucket
// exists and can be reached, so that a wrong setting fails at startup with
// a one-line reason rather than at the first upload.
func New(ctx context.Context, cfg Config) (*Backend, error) {
	cfg, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	client, region, err := newClient(ctx, cfg)
	if err != nil {
		return nil, err
	}
	b := &Backend{client: client, bucket: cfg.Bucket, prefix: cfg.ObjectPrefix, log: cfg.Logger, signsPayloads: signsPayloads(cfg)}
	if err := b.checkBucket(ctx, cfg, region); err != nil {
		return nil, err
	}
	return b, nil
}

// newClient builds the SDK client and returns it with the region in use.
func newClient(ctx context.Context, cfg Config) (*s3.Client, string, error) {
	opts := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = cfg.MaxAttempts
				o.MaxBackoff = cfg.MaxBackoff
			})
		}),
	}
	if cfg.Region != "" {
		opts = append(opts, config.WithRegion(cfg.Region))
	}
	if cfg.Credentials != nil {
		opts = append(opts, config.WithCredentialsProvider(cfg.Credentials))
	}
	if !cfg.SDKChecksums {
		// The zero values mean "unset" and give the SDK's default
		// (WhenSupported): the explicit WhenRequired values are needed.
		opts = append(opts,
			config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
			config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, "", fmt.Errorf("s3: load AWS configuration: %w", err)
	}
	if awsCfg.Region == "" {
		if cfg.Endpoint == "" {
			return nil, "", errors.New("s3: no region: set one (or AWS_REGION) to use AWS")
		}
		awsCfg.Region = defaultCustomRegion
	}
	client := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
			o.UsePathStyle = true
		}
		o.EndpointOptions.DisableHTTPS = cfg.DisableSSL
		if cfg.HTTPClient != nil {
			// Set here, not through LoadDefaultConfig, which rejects a
			// plain *http.Client when AWS_CA_BUNDLE is set.
			o.HTTPClient = cfg.HTTPClient
		}
		if cfg.UnsignedPayload {
			o.APIOptions = append(o.APIOptions, v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware)
		}
		if cfg.LogAPICalls {
			o.APIOptions = append(o.APIOptions, logCalls(cfg.Logger))
		}
	})
	return client, awsCfg.Region, nil
}

// key returns the object key in the bucket for a store key.
func (b *Backend) key(k string) *string { return aws.String(b.prefix + k) }
