package sysmem

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// fakeTree writes files (path → content) below a new root.
func fakeTree(t *testing.T, files map[string]string) System {
	t.Helper()
	root := t.TempDir()
	for p, content := range files {
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return System{Root: root}
}

const meminfo = "MemTotal:       24684092 kB\nMemFree:  100 kB\n"

func TestDetectLimit(t *testing.T) {
	v2mount := "30 25 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw\n"
	v1mount := "31 25 0:27 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n" +
		"32 25 0:28 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n"
	hybrid := "33 25 0:29 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n" + v1mount
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  Limit
	}{
		{"cgroup v2 container (namespaced, root cgroup)", map[string]string{
			"/proc/self/mountinfo":      v2mount,
			"/proc/self/cgroup":         "0::/\n",
			"/sys/fs/cgroup/memory.max": "536870912\n",
			"/proc/meminfo":             meminfo,
		}, Limit{512 << 20, "cgroup v2 memory.max"}},
		{"cgroup v2, limit on an ancestor", map[string]string{
			"/proc/self/mountinfo": v2mount,
			"/proc/self/cgroup":    "0::/system.slice/app.service\n",
			"/sys/fs/cgroup/system.slice/app.service/memory.max": "max\n",
			"/sys/fs/cgroup/system.slice/memory.max":             "1073741824\n",
			"/proc/meminfo":                                      meminfo,
		}, Limit{1 << 30, "cgroup v2 memory.max"}},
		{"cgroup v2, the smallest of the path wins", map[string]string{
			"/proc/self/mountinfo":          "30 25 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
			"/proc/self/cgroup":             "0::/a/b\n",
			"/sys/fs/cgroup/a/b/memory.max": "2147483648\n",
			"/sys/fs/cgroup/a/memory.max":   "1073741824\n",
			"/proc/meminfo":                 meminfo,
		}, Limit{1 << 30, "cgroup v2 memory.max"}},
		{"cgroup v2 unlimited: physical memory", map[string]string{
			"/proc/self/mountinfo":      v2mount,
			"/proc/self/cgroup":         "0::/\n",
			"/sys/fs/cgroup/memory.max": "max\n",
			"/proc/meminfo":             meminfo,
		}, Limit{24684092 << 10, "physical memory"}},
		{"cgroup v1", map[string]string{
			"/proc/self/mountinfo": v1mount,
			"/proc/self/cgroup":    "4:memory:/docker/abc\n1:cpu:/docker/abc\n",
			"/sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes": "268435456\n",
			"/proc/meminfo": meminfo,
		}, Limit{256 << 20, "cgroup v1 memory.limit_in_bytes"}},
		{"hybrid: v2 without memory, v1 unlimited", map[string]string{
			"/proc/self/mountinfo": hybrid,
			"/proc/self/cgroup":    "4:memory:/process_api/x\n0::/\n",
			"/sys/fs/cgroup/memory/process_api/x/memory.limit_in_bytes": "9223372036854771712\n",
			"/sys/fs/cgroup/memory/memory.limit_in_bytes":               "9223372036854771712\n",
			"/proc/meminfo": meminfo,
		}, Limit{24684092 << 10, "physical memory"}},
		{"no cgroup files at all", map[string]string{
			"/proc/meminfo": meminfo,
		}, Limit{24684092 << 10, "physical memory"}},
	} {
		got, err := fakeTree(t, tc.files).DetectLimit()
		if err != nil || got != tc.want {
			t.Errorf("%s: %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
	if _, err := fakeTree(t, nil).DetectLimit(); err == nil {
		t.Error("no files: no error")
	}
}

func TestRSS(t *testing.T) {
	s := fakeTree(t, map[string]string{"/proc/self/status": "Name:\ttusvault\nVmHWM:\t  30000 kB\nVmRSS:\t   20480 kB\n"})
	if got, err := s.RSS(); err != nil || got != 20<<20 {
		t.Errorf("RSS = %d, %v; want %d", got, err, 20<<20)
	}
	// The real one.
	if got, err := (System{}).RSS(); err != nil || got <= 0 {
		t.Errorf("RSS of this process = %d, %v", got, err)
	}
	if l, err := (System{}).DetectLimit(); err != nil || l.Bytes <= 0 {
		t.Errorf("DetectLimit here = %+v, %v", l, err)
	}
}

// ReleaseStartupPages advises the executable's read-only mappings and
// leaves the process working (it runs this test after the call).
func TestReleaseStartupPages(t *testing.T) {
	n, err := ReleaseStartupPages()
	if errors.Is(err, errors.ErrUnsupported) {
		t.Logf("this kernel has no MADV_PAGEOUT: %v", err)
		return
	}
	if err != nil || n <= 0 {
		t.Fatalf("ReleaseStartupPages = %d, %v", n, err)
	}
	if rss, err := (System{}).RSS(); err != nil || rss <= 0 {
		t.Fatalf("RSS after the release: %d, %v", rss, err)
	}
}
