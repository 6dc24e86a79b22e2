package testkit

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
}

// WatchHeap starts sampling the heap.
func WatchHeap() *HeapWatch {
	w := &HeapWatch{stop: make(chan struct{}), done: make(chan struct{})}
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
	go func() {
		defer close(w.done)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64() + s[1].Value.Uint64(); v > w.peak.Load() {
				w.peak.Store(v)
			}
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
