package s3

import (
	"context"
	"encoding/hex"
	"io"
	"net/url"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"
)

// SigV4 and payloads. Over HTTPS the SDK sends PutObject and UploadPart
// with UNSIGNED-PAYLOAD (TLS protects the bytes; the store's MAC
// authenticates them anyway) and hashes nothing. Over plain HTTP it signs
// the payload's SHA-256, reading the whole body once more to compute it
// before sending it: the store hashes parts while it spools them instead
// (store.PayloadHasher), and UploadPart hands that hash to the signer.
// Config.UnsignedPayload sends UNSIGNED-PAYLOAD over plain HTTP too.

// signsPayloads reports whether requests to the endpoint of cfg (already
// validated) go over plain HTTP, where SigV4 signs every payload unless
// cfg.UnsignedPayload.
func signsPayloads(cfg Config) bool {
	if cfg.UnsignedPayload {
		return false
	}
	if cfg.Endpoint == "" {
		return cfg.DisableSSL
	}
	u, err := url.Parse(cfg.Endpoint)
	return err == nil && u.Scheme == "http"
}

// HashesPayloads implements store.PayloadHasher: true over plain HTTP.
func (b *Backend) HashesPayloads() bool { return b.signsPayloads }

// hashedPayload is a body that knows the SHA-256 of its Size bytes
// (store.HashedBody).
type hashedPayload interface {
	PayloadSHA256() []byte
	Size() int64
}

// payloadHashOption returns the per-call option that signs body's known
// SHA-256 instead of letting the SDK read body to compute it, or nil when
// it knows none (or not of exactly size bytes from its start).
func (b *Backend) payloadHashOption(body io.ReadSeeker, size int64) func(*s3.Options) {
	hp, ok := body.(hashedPayload)
	if !ok || !b.signsPayloads || hp.Size() != size || len(hp.PayloadSHA256()) != 32 {
		return nil
	}
	if pos, err := body.Seek(0, io.SeekCurrent); err != nil || pos != 0 {
		return nil
	}
	sum := hex.EncodeToString(hp.PayloadSHA256())
	return func(o *s3.Options) {
		o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
			// Before the SDK's payload hash middleware, which keeps a
			// hash already set.
			return stack.Finalize.Insert(middleware.FinalizeMiddlewareFunc("tusvault/presetPayloadHash",
				func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (
					middleware.FinalizeOutput, middleware.Metadata, error,
				) {
					return next.HandleFinalize(v4.SetPayloadHash(ctx, sum), in)
				}), "ComputePayloadHash", middleware.Before)
		})
	}
}

// callOptions are the per-call options of a body upload.
func (b *Backend) callOptions(body io.ReadSeeker, size int64) []func(*s3.Options) {
	if opt := b.payloadHashOption(body, size); opt != nil {
		return []func(*s3.Options){opt}
	}
	return nil
}
