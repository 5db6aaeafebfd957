package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var keyringLine = regexp.MustCompile(`Using keyring (\S+) \((\d+) keys, primary (\S+)\)\.`)

// 4 processes started at once on a fresh dir, 20 times → all serve, one
// keyring: replicas sharing a volume, or a supervisor restarting fast, all
// start on a fresh upload dir and share one keyring and one auth secret.
// The files are created atomically and never replaced, and a process that
// loses the race loads the winner's file.
func TestConcurrentFirstStart(t *testing.T) {
	const rounds, procs = 20, 4
	ctx := testCtx(t, 2*time.Minute)
	for round := range rounds {
		if ctx.Err() != nil {
			t.Fatalf("out of time after %d rounds", round)
		}
		ok := t.Run(fmt.Sprintf("round%02d", round), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data") // not there yet: every process creates it
			servers := make([]*server, procs)
			for i := range servers {
				servers[i] = spawnServer(t, dir)
			}
			for _, s := range servers {
				s.awaitReady() // each must print the ready line
			}

			// One keyring, the one every process uses.
			b, err := os.ReadFile(filepath.Join(dir, "keyring.json"))
			if err != nil {
				t.Fatal(err)
			}
			var kf struct{ Primary string }
			if err := json.Unmarshal(b, &kf); err != nil || kf.Primary == "" {
				t.Fatalf("keyring.json: %v", err)
			}
			created := map[string]int{}
			for i, s := range servers {
				out := s.out.String()
				m := keyringLine.FindStringSubmatch(out)
				if m == nil || m[2] != "1" || m[3] != kf.Primary {
					t.Errorf("process %d: keyring line %q, want 1 key, primary %s (the file's)", i, m, kf.Primary)
				}
				if strings.Contains(out, "WARNING: created a new keyring") {
					created["keyring"]++
				}
				if strings.Contains(out, "Created a new auth secret") {
					created["auth secret"]++
				}
			}
			for _, what := range []string{"keyring", "auth secret"} {
				if created[what] != 1 {
					t.Errorf("%d processes say they created the %s, want 1", created[what], what)
				}
			}

			// One auth secret, the one every process uses: each process's
			// home link works on the next one, and a token minted from the
			// file works on all.
			for i, s := range servers {
				home := homeLinkLine.FindStringSubmatch(s.out.String())
				if home == nil {
					t.Fatalf("process %d printed no home link", i)
				}
				next := servers[(i+1)%procs]
				if _, err := withToken(home[2]).Create(ctx, next.Endpoint, 10, nil); err != nil {
					t.Errorf("process %d's home link on process %d: %v", i, (i+1)%procs, err)
				}
			}
			tok, err := exec.CommandContext(ctx, binPath, "token", "home", "x", "-upload-dir", dir).Output()
			if err != nil {
				t.Fatalf("tusvault token: %v", err)
			}
			for i, s := range servers {
				u, err := withToken(string(tok)).Create(ctx, s.Endpoint, 10, nil)
				if err != nil || !strings.HasPrefix(u, s.Endpoint+"home/x/") {
					t.Errorf("process %d: POST with the minted token: %s, %v; want 201 under home/x/", i, u, err)
				}
			}

			// Single files, no temporary ones left behind.
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if strings.Contains(e.Name(), ".new-") || strings.Contains(e.Name(), ".tmp-") {
					t.Errorf("temporary file %s left in the upload dir", e.Name())
				}
			}
		})
		if !ok {
			break
		}
	}
}
