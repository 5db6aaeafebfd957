package crypt

import (
	"runtime"
	"syscall"
)

// threadCPU measures the CPU time of the calling goroutine's thread, which
// it locks, so that a benchmark's cost is not inflated by time the machine
// spent elsewhere.
type threadCPU struct{ start int64 }

const rusageThread = 1 // RUSAGE_THREAD

func threadNanos() (int64, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0, false
	}
	return ru.Utime.Nano() + ru.Stime.Nano(), true
}

func startThreadCPU() threadCPU {
	runtime.LockOSThread()
	ns, _ := threadNanos()
	return threadCPU{start: ns}
}

func (c threadCPU) stop() (int64, bool) {
	defer runtime.UnlockOSThread()
	ns, ok := threadNanos()
	return ns - c.start, ok
}
