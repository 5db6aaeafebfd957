package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/tusvault/tusvault/store"
)

// Timing of the -expire-after sweep of serve.
const (
	// firstSweepDelay is how long after startup the first sweep runs.
	firstSweepDelay = 5 * time.Second
	// minSweepInterval and maxSweepInterval bound the interval between
	// two sweeps, a quarter of -expire-after.
	minSweepInterval = time.Minute
	maxSweepInterval = time.Hour
	// defaultCleanupExpireAfter is -expire-after of `tusvault cleanup`.
	defaultCleanupExpireAfter = 24 * time.Hour
)

// sweepInterval is the time between two sweeps: a quarter of expireAfter,
// from once a minute to once an hour.
func sweepInterval(expireAfter time.Duration) time.Duration {
	return min(max(expireAfter/4, minSweepInterval), maxSweepInterval)
}

// sweepTimes returns when serve runs its first sweep after startup and how
// often it sweeps after that. Tests replace it to sweep at once and often.
var sweepTimes = func(expireAfter time.Duration) (first, every time.Duration) {
	return firstSweepDelay, sweepInterval(expireAfter)
}

// runSweeps runs a sweep after first, then every every, until ctx is done.
func runSweeps(ctx context.Context, st *store.Store, expireAfter, first, every time.Duration, log *slog.Logger) {
	t := time.NewTimer(first)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		sweep(ctx, st, expireAfter, log)
		t.Reset(every)
	}
}

// sweep removes the uploads unfinished and untouched for expireAfter,
// completes those whose bytes are all stored, and logs what it did and
// what failed. The store logs each upload it touched or skipped too.
func sweep(ctx context.Context, st *store.Store, expireAfter time.Duration, log *slog.Logger) {
	cutoff := time.Now().Add(-expireAfter)
	rep, err := st.Cleanup(ctx, cutoff)
	if len(rep.Uploads)+rep.Multiparts+rep.Tails+rep.Pages > 0 {
		log.InfoContext(ctx, "expired uploads removed", "uploads", len(rep.Uploads), "ids", rep.Uploads,
			"multiparts", rep.Multiparts, "tails", rep.Tails, "pages", rep.Pages, "cutoff", cutoff.UTC().Format(time.RFC3339))
	} else {
		log.DebugContext(ctx, "expiry sweep found nothing to remove", "cutoff", cutoff.UTC().Format(time.RFC3339))
	}
	if len(rep.Completed) > 0 {
		log.InfoContext(ctx, "uploads completed by the sweep", "uploads", len(rep.Completed), "ids", rep.Completed)
	}
	if len(rep.Skipped) > 0 {
		log.WarnContext(ctx, "uploads skipped by the sweep: their .info could not be read; their data is kept", "uploads", len(rep.Skipped), "ids", rep.Skipped)
	}
	if err != nil && ctx.Err() == nil {
		log.ErrorContext(ctx, "expiry sweep failed", "error", err)
	}
}

const cleanupUsage = `Usage: tusvault cleanup [storage flags] [-expire-after DURATION]

Runs one sweep of the -expire-after cleanup of serve: removes the
unfinished uploads whose last write is older than DURATION (default 24h),
completes the uploads whose bytes were all stored but that were never
completed, aborts the multipart uploads no upload refers to any more and
deletes orphaned tails. Finished uploads are never removed, and an upload
whose .info cannot be read (a key missing from the keyring, a storage
error) is skipped with its data kept. Prints a summary line, then the id of
every removed upload, one a line; then, if any, the completed and the
skipped uploads the same way. The storage flags (-upload-dir, -keyring,
-s3-*) select the uploads as for serve. On the local disk it takes the
server's upload locks, so a server may keep running: uploads it is writing
are left alone. With S3 (no shared locks yet), choose a DURATION longer
than any pause of a client that is still uploading.
`

// runCleanup implements `tusvault cleanup`.
func runCleanup(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	sf := defaultStorageFlags()
	expireAfter := defaultCleanupExpireAfter
	fs := newSubFlagSet("cleanup")
	sf.register(fs)
	fs.DurationVar(&expireAfter, "expire-after", expireAfter, "Remove the unfinished uploads whose last write is older than this")
	fromEnv, err := parseNoArgs(fs, args, stdout, cleanupUsage, getenv)
	if err != nil {
		return err
	}
	if err := sf.validate(); err != nil {
		return usageError{fromEnv.explain(fmt.Errorf("cleanup: %w", err))}
	}
	if expireAfter <= 0 {
		return usageError{fromEnv.explain(fmt.Errorf("cleanup: invalid -expire-after %s: must be positive", expireAfter))}
	}
	st, _, err := sf.openStore(ctx, getenv, sf.offlineLogger(stderr), countProgress(stderr, "sweeping uploads"))
	if err != nil {
		return fmt.Errorf("cleanup: %w", err)
	}
	cutoff := time.Now().Add(-expireAfter)
	rep, err := st.Cleanup(ctx, cutoff)
	fmt.Fprintf(stdout, "Removed %d expired uploads, %d orphaned multipart uploads and %d orphaned tails (last written before %s).\n",
		len(rep.Uploads), rep.Multiparts, rep.Tails, cutoff.UTC().Format(time.RFC3339))
	for _, id := range rep.Uploads {
		fmt.Fprintln(stdout, id)
	}
	if len(rep.Completed) > 0 {
		fmt.Fprintf(stdout, "Completed %d uploads whose bytes were all stored:\n", len(rep.Completed))
		for _, id := range rep.Completed {
			fmt.Fprintln(stdout, id)
		}
	}
	if len(rep.Skipped) > 0 {
		fmt.Fprintf(stdout, "Skipped %d uploads whose .info could not be read (their data is kept; see the log):\n", len(rep.Skipped))
		for _, id := range rep.Skipped {
			fmt.Fprintln(stdout, id)
		}
	}
	if err != nil {
		return fmt.Errorf("cleanup: %w", err)
	}
	return nil
}
