package sysmem

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// madvPageout is Linux's MADV_PAGEOUT (5.4 and later): reclaim the pages
// of a range now.
const madvPageout = 21

// ReleaseStartupPages asks the kernel to reclaim the resident pages of the
// executable's read-only mappings (code, read-only data, the function
// table). Most of them were touched once, by the package initializers of
// every library linked in (hook backends, SDKs, collectors that are not
// configured included) and are never needed again; the pages the server
// does use are read back on their next use, as any file page. Call it once,
// when startup is done. It returns the bytes of the ranges it advised; on
// kernels without MADV_PAGEOUT (before 5.4) it does nothing and returns an
// error wrapping errors.ErrUnsupported. Pages that other processes map too
// stay where they are.
func ReleaseStartupPages() (int64, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, err
	}
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return 0, err
	}
	var total int64
	sc := bufio.NewScanner(bytes.NewReader(maps))
	for sc.Scan() {
		// start-end perms offset dev inode path
		f := strings.Fields(sc.Text())
		if len(f) < 6 || f[5] != exe || strings.Contains(f[1], "w") {
			continue
		}
		start, end, ok := strings.Cut(f[0], "-")
		a, err1 := strconv.ParseUint(start, 16, 64)
		b, err2 := strconv.ParseUint(end, 16, 64)
		if !ok || err1 != nil || err2 != nil || b <= a {
			continue
		}
		if _, _, e := syscall.Syscall(syscall.SYS_MADVISE, uintptr(a), uintptr(b-a), madvPageout); e != 0 {
			if e == syscall.EINVAL {
				return total, fmt.Errorf("madvise MADV_PAGEOUT: %w", errors.ErrUnsupported)
			}
			return total, fmt.Errorf("madvise: %w", e)
		}
		total += int64(b - a)
	}
	return total, sc.Err()
}
