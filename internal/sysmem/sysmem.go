package sysmem

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
)

// System reads the files of one machine. The zero value reads the real
// ones.
type System struct {
	// Root is prepended to every path read ("": /).
	Root string
}

// Limit is a memory limit and where it came from.
type Limit struct {
	Bytes int64
	// Source says where: "cgroup v2 memory.max", "cgroup v1
	// memory.limit_in_bytes", "physical memory", or what the caller set.
	Source string
}

// unlimited is the smallest cgroup v1 value taken as "no limit": the
// kernel reports 2^63-1 rounded down to a page.
const unlimited = 1 << 62

// RSS returns the process's resident set size in bytes (VmRSS of
// /proc/self/status).
func (s System) RSS() (int64, error) {
	kb, err := s.statusField("/proc/self/status", "VmRSS:")
	return kb << 10, err
}

// Physical returns the machine's memory in bytes (MemTotal).
func (s System) Physical() (int64, error) {
	kb, err := s.statusField("/proc/meminfo", "MemTotal:")
	return kb << 10, err
}

// DetectLimit returns the memory limit the process runs under (see the
// package documentation for the order of the sources).
func (s System) DetectLimit() (Limit, error) {
	mounts, err := s.cgroupMounts()
	if err == nil {
		v2, v1, err := s.cgroupPaths()
		if err == nil {
			if b, ok := s.smallest(mounts.v2, v2, "memory.max"); ok {
				return Limit{b, "cgroup v2 memory.max"}, nil
			}
			if b, ok := s.smallest(mounts.v1, v1, "memory.limit_in_bytes"); ok {
				return Limit{b, "cgroup v1 memory.limit_in_bytes"}, nil
			}
		}
	}
	phys, err := s.Physical()
	if err != nil {
		return Limit{}, fmt.Errorf("no memory limit found: %w", err)
	}
	return Limit{phys, "physical memory"}, nil
}

// mount is a cgroup hierarchy's mount: where it is, and which cgroup path
// its root is.
type mount struct{ point, root string }

type mounts struct{ v2, v1 *mount }

// cgroupMounts finds the cgroup v2 mount and the v1 mount of the memory
// controller in /proc/self/mountinfo.
func (s System) cgroupMounts() (mounts, error) {
	data, err := s.read("/proc/self/mountinfo")
	if err != nil {
		return mounts{}, err
	}
	var m mounts
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		// id parent major:minor root point options [optional...] - fstype source superoptions
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 5 || len(g) < 1 {
			continue
		}
		mt := &mount{point: f[4], root: f[3]}
		switch {
		case g[0] == "cgroup2" && m.v2 == nil:
			m.v2 = mt
		case g[0] == "cgroup" && len(g) >= 3 && hasOption(g[2], "memory") && m.v1 == nil:
			m.v1 = mt
		}
	}
	return m, sc.Err()
}

func hasOption(opts, want string) bool {
	for _, o := range strings.Split(opts, ",") {
		if o == want {
			return true
		}
	}
	return false
}

// cgroupPaths reads the process's cgroup v2 path and its v1 memory
// controller path from /proc/self/cgroup ("" when absent).
func (s System) cgroupPaths() (v2, v1 string, err error) {
	data, err := s.read("/proc/self/cgroup")
	if err != nil {
		return "", "", err
	}
	for _, line := range strings.Split(string(data), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		switch {
		case parts[0] == "0" && parts[1] == "":
			v2 = parts[2]
		case hasOption(parts[1], "memory"):
			v1 = parts[2]
		}
	}
	return v2, v1, nil
}

// smallest reads file in the cgroup directory of path and in each of its
// ancestors up to the mount, and returns the smallest limit found.
func (s System) smallest(m *mount, cgroup, file string) (int64, bool) {
	if m == nil || cgroup == "" {
		return 0, false
	}
	rel, err := filepath.Rel(m.root, cgroup)
	if err != nil || strings.HasPrefix(rel, "..") {
		rel = "." // outside the mount's root (a cgroup namespace): the mount is ours
	}
	best, found := int64(0), false
	for dir := path.Clean("/" + rel); ; dir = path.Dir(dir) {
		if b, ok := s.limitFile(path.Join(m.point, dir, file)); ok && (!found || b < best) {
			best, found = b, true
		}
		if dir == "/" {
			return best, found
		}
	}
}

// limitFile reads one memory.max or memory.limit_in_bytes; ok is false
// when it is missing or means no limit.
func (s System) limitFile(p string) (int64, bool) {
	data, err := s.read(p)
	if err != nil {
		return 0, false
	}
	v := strings.TrimSpace(string(data))
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 || n >= unlimited {
		return 0, false // "max", or v1's "no limit"
	}
	return n, true
}

// statusField reads the kB value of a "Name:   123 kB" line.
func (s System) statusField(p, name string) (int64, error) {
	data, err := s.read(p)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, name); ok {
			f := strings.Fields(rest)
			if len(f) == 0 {
				break
			}
			return strconv.ParseInt(f[0], 10, 64)
		}
	}
	return 0, fmt.Errorf("%s: no %s line", p, name)
}

func (s System) read(p string) ([]byte, error) {
	return os.ReadFile(filepath.Join(s.Root, filepath.FromSlash(p)))
}
