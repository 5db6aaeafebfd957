//go:build failpoint

package store

import (
	"fmt"
	"os"
	"strconv"
)

// EnvSegmentPage, in failpoint builds (the chaos tests of internal/e2e),
// sets how many segments a segment page holds (defaultPageLen), so that uploads
// of a few PATCHes page their segments too.
const EnvSegmentPage = "TUSVAULT_SEGMENT_PAGE"

func init() {
	v := os.Getenv(EnvSegmentPage)
	if v == "" {
		return
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		fmt.Fprintf(os.Stderr, "%s=%s: want a count of segments\n", EnvSegmentPage, v)
		os.Exit(2)
	}
	defaultPageLen = n
}
