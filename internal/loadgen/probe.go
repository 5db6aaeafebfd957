package loadgen

import (
	"sync"
	"time"
)

// maxSamples bounds the series a Probe keeps (at 100 ms, 1.8 hours of
// readings); later readings still count for the peak.
const maxSamples = 1 << 16

// Sample is one reading of a process's resident set size.
type Sample struct {
	At  time.Duration // since the probe started
	RSS int64         // VmRSS in bytes
}

// Usage is what a Probe measured between its start and Stop. RSS values
// are in bytes; a field that was not measured is 0 (or nil).
type Usage struct {
	IdleRSS int64 // VmRSS when the probe started
	PeakRSS int64 // highest VmRSS sampled
	// HWM is VmHWM at Stop: the process's peak RSS since its start as the
	// kernel tracks it (lazily: it may lag PeakRSS a little).
	HWM int64
	// CPU is the user+system CPU time the process used; MachineBusy is the
	// share of the whole machine's CPU time (all cores, every process)
	// that was not idle, from 0 to 1.
	CPU         time.Duration
	MachineBusy float64
	// Series is VmRSS at the start and every sampling interval after.
	Series []Sample
}

// Probe watches one process (its RSS and CPU time) and the machine's CPU
// over an interval: StartProbe, the work, Stop.
type Probe struct {
	pid        int
	start      time.Time
	cpu0       time.Duration
	cpuErr     error
	machine0   cpuTicks
	machineErr error

	done, stopped chan struct{}
	stopOnce      sync.Once
	usage         Usage // the sampler's until stopped is closed
}

// StartProbe reads pid's VmRSS and CPU time now, then VmRSS every
// interval (at least 1 ms) until Stop. With pid 0 it measures only how
// busy the machine is.
func StartProbe(pid int, every time.Duration) *Probe {
	every = max(every, time.Millisecond)
	p := &Probe{pid: pid, start: time.Now(), done: make(chan struct{}), stopped: make(chan struct{})}
	p.machine0, p.machineErr = machineCPU()
	if pid == 0 {
		close(p.stopped)
		return p
	}
	p.cpu0, p.cpuErr = ProcessCPU(pid)
	p.usage.IdleRSS, _ = readStatus(pid, "VmRSS")
	p.record(p.usage.IdleRSS)
	go p.sample(every)
	return p
}

func (p *Probe) sample(every time.Duration) {
	defer close(p.stopped)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-p.done:
			return
		case <-t.C:
		}
		if v, err := readStatus(p.pid, "VmRSS"); err == nil {
			p.record(v)
		}
	}
}

func (p *Probe) record(rss int64) {
	if rss <= 0 {
		return
	}
	p.usage.PeakRSS = max(p.usage.PeakRSS, rss)
	if len(p.usage.Series) < maxSamples {
		p.usage.Series = append(p.usage.Series, Sample{At: time.Since(p.start), RSS: rss})
	}
}

// Stop ends the sampling and returns the usage since StartProbe. Later
// calls return the same usage.
func (p *Probe) Stop() Usage {
	p.stopOnce.Do(func() {
		close(p.done)
		<-p.stopped
		if m, err := machineCPU(); err == nil && p.machineErr == nil {
			p.usage.MachineBusy = busyFraction(p.machine0, m)
		}
		if p.pid == 0 {
			return
		}
		p.usage.HWM, _ = readStatus(p.pid, "VmHWM")
		if c, err := ProcessCPU(p.pid); err == nil && p.cpuErr == nil {
			p.usage.CPU = c - p.cpu0
		}
	})
	return p.usage
}
