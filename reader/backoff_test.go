package reader

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	const lo, hi = 250 * time.Millisecond, 10 * time.Second
	r := rand.New(rand.NewPCG(1, 2))
	b := Backoff{Min: lo, Max: hi, Rand: r.Float64}
	step := lo
	distinct := map[time.Duration]bool{}
	for i := range 40 {
		d := b.Next()
		if i == 0 && d != lo {
			t.Fatalf("first wait %v, want %v", d, lo)
		}
		if d < max(step/2, lo) || d > step {
			t.Fatalf("wait %d = %v, want within [%v, %v]", i, d, max(step/2, lo), step)
		}
		distinct[d] = true
		step = min(2*step, hi)
	}
	if len(distinct) < 10 {
		t.Errorf("only %d distinct waits in 40: not jittered", len(distinct))
	}
	b.Reset()
	if d := b.Next(); d != lo {
		t.Errorf("after reset: %v, want %v", d, lo)
	}

	huge := Backoff{Min: time.Second, Max: 1<<63 - 1, Rand: r.Float64}
	for range 100 {
		if d := huge.Next(); d < time.Second {
			t.Fatalf("wait %v below min: step overflowed", d)
		}
	}
}

// TestRunBacksOff runs a scanner whose device never opens, with the sleep
// injected: the waits start at MinBackoff, grow, stay within MaxBackoff,
// and the failure is reported once.
