package memwatch

import (
	"runtime"
	"testing"
	"time"
)

// TestWindow: the windows pick the largest live heap among the samples
// that fall in them, by their share of the watch's length.
func TestWindow(t *testing.T) {
	w := &HeapWatch{samples: []sample{
		{at: 0, live: 5 << 20},
		{at: 20 * time.Millisecond, live: 10 << 20},
		{at: 22 * time.Millisecond, live: 12 << 20},
		{at: 50 * time.Millisecond, live: 99 << 20},
		{at: 80 * time.Millisecond, live: 30 << 20},
		{at: 100 * time.Millisecond, live: 7 << 20},
	}}
	if got := w.Window(0.15, 0.25); got != 12 {
		t.Errorf("early window %v MiB, want 12", got)
	}
	if got := w.Window(0.75, 0.85); got != 30 {
		t.Errorf("late window %v MiB, want 30", got)
	}
	if got := w.Window(0.3, 0.4); got != 0 {
		t.Errorf("a window without samples %v MiB, want 0", got)
	}
	if got := (&HeapWatch{}).Window(0, 1); got != 0 {
		t.Errorf("no samples: %v", got)
	}
}

// TestHeapSeesAnAllocation: a watch over an allocation held reports a
// peak at least its size, and samples the live heap as it goes.
func TestHeapSeesAnAllocation(t *testing.T) {
	w := Heap()
	held := make([]byte, 64<<20)
	for i := range held {
		held[i] = byte(i)
	}
	runtime.GC()
	time.Sleep(30 * time.Millisecond)
	peak := w.End()
	runtime.KeepAlive(held)
	if peak < 64 {
		t.Fatalf("peak %v MiB with 64 MiB held", peak)
	}
	if w.Window(0.5, 1) < 64 {
		t.Fatalf("live heap in the second half %v MiB with 64 MiB held", w.Window(0.5, 1))
	}
}
