package hostile

import (
	"strings"
	"testing"
	"time"
)

// TestHostileRequests serves every case of the table and checks its
// status (and body), that nothing panicked, that the goroutines and open
// file descriptors are back where they were (within a bounded wait), and
// that no stored file changed unless the request was a legitimate write
// (check); stored files are put back after each case.
func TestHostileRequests(t *testing.T) {
	s := newStack(t)
	for _, tc := range hostileCases {
		t.Run(tc.name, func(t *testing.T) {
			g, fds, _ := settle(0, 0, 0)
			resp := s.serve(t, tc.req)
			if resp.Status != tc.want {
				t.Errorf("status %d, want %d; body %q", resp.Status, tc.want, truncate(resp.Body))
			} else if tc.body != "" && !strings.Contains(resp.Body, tc.body) {
				t.Errorf("body %q lacks %q", truncate(resp.Body), tc.body)
			}
			s.check(t, tc.req, resp)
			if gotG, gotFDs, ok := settle(g, fds, 3*time.Second); !ok {
				t.Errorf("goroutines %d → %d, open files %d → %d after 3s", g, gotG, fds, gotFDs)
			}
		})
	}
}

func truncate(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}
