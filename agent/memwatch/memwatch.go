// Package memwatch measures a process's memory for benchmarks and
// reports: the peak of the heap in use, sampled while a workload runs,
// and the peak resident set (VmHWM), which Linux lets a process reset.
package memwatch

import (
	"os"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// HeapWatch samples the heap in use (live objects and unused heap spans)
// every 5 ms while it runs, for benchmarks that report a peak.
type HeapWatch struct {
	stop, done chan struct{}
	peak       atomic.Uint64
	start      time.Time
	samples    []sample // written by the sampler until done
}

// sample is the live heap at a moment of the watch: what the last
// garbage collection found reachable, free of the sawtooth of garbage
// between collections.
type sample struct {
	at   time.Duration
	live uint64
}

// Heap starts sampling the heap.
func Heap() *HeapWatch {
	w := &HeapWatch{stop: make(chan struct{}), done: make(chan struct{}), start: time.Now()}
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}, {Name: "/gc/heap/live:bytes"}}
	go func() {
		defer close(w.done)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			v := s[0].Value.Uint64() + s[1].Value.Uint64()
			if v > w.peak.Load() {
				w.peak.Store(v)
			}
			w.samples = append(w.samples, sample{time.Since(w.start), s[2].Value.Uint64()})
			select {
			case <-w.stop:
				return
			case <-t.C:
			}
		}
	}()
	return w
}

// End stops sampling and returns the peak in MiB.
func (w *HeapWatch) End() float64 {
	close(w.stop)
	<-w.done
	return float64(w.peak.Load()) / (1 << 20)
}

// Window returns, after End, the largest live heap (reachable at the last
// collection) in MiB over the part of the watch from fraction from to
// fraction to of its length (0.15, 0.25): comparing an early window with
// a late one shows whether what the work keeps grows with it. 0 when no
// sample fell in it.
func (w *HeapWatch) Window(from, to float64) float64 {
	if len(w.samples) == 0 {
		return 0
	}
	total := float64(w.samples[len(w.samples)-1].at)
	var peak uint64
	for _, s := range w.samples {
		if f := float64(s.at) / total; f >= from && f <= to {
			peak = max(peak, s.live)
		}
	}
	return float64(peak) / (1 << 20)
}

// ResetPeakRSS resets the process's peak resident set (VmHWM), where
// Linux allows it (clear_refs 5).
func ResetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// PeakRSS returns the process's peak resident set (VmHWM) in MiB, 0 where
// unknown.
func PeakRSS() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			if err == nil {
				return float64(kb) / 1024
			}
		}
	}
	return 0
}
