package s3

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
)

// logCalls returns an SDK stack option that logs every operation once it
// has finished, retries included: its name, duration, number of attempts
// and outcome. It sees neither credentials nor bodies, and logs no keys.
func logCalls(log *slog.Logger) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		op := stack.ID()
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("tusvault/logCalls",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (
				middleware.InitializeOutput, middleware.Metadata, error,
			) {
				start := time.Now()
				out, md, err := next.HandleInitialize(ctx, in)
				logCall(ctx, log, op, time.Since(start), md, err)
				return out, md, err
			}), middleware.Before)
	}
}

// logCall logs one finished operation: debug when it succeeded at the first
// attempt, info when it needed retries or failed. A failure may be normal
// (a HEAD of a missing object): the caller decides whether it is an error.
func logCall(ctx context.Context, log *slog.Logger, op string, d time.Duration, md middleware.Metadata, err error) {
	attempts := 1
	if r, ok := retry.GetAttemptResults(md); ok && len(r.Results) > 0 {
		attempts = len(r.Results)
	}
	level := slog.LevelDebug
	if attempts > 1 || err != nil {
		level = slog.LevelInfo
	}
	if !log.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("op", op),
		slog.Duration("duration", d),
		slog.Int("attempts", attempts),
		slog.String("outcome", outcome(err)),
	}
	if _, status := errorCode(err); status != 0 {
		attrs = append(attrs, slog.Int("status", status))
	}
	log.LogAttrs(ctx, level, "s3 call", attrs...)
}

// outcome names the result of an operation: "ok", the S3 error code, or
// the kind of failure when no answer came.
func outcome(err error) string {
	var ae smithy.APIError
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &ae) && ae.ErrorCode() != "":
		return ae.ErrorCode()
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline exceeded"
	}
	if cause, ok := netCause(err); ok {
		return cause
	}
	return "error"
}
