package central

import (
	"testing"
	"time"
)

// TestReconnectDelay checks the ceiling of the reconnect delay: from lo,
// doubling with every attempt, capped at hi (also where doubling would
// overflow), with the whole range from 0 to the ceiling drawn.
func TestReconnectDelay(t *testing.T) {
	const lo, hi = 250 * time.Millisecond, 30 * time.Second
	top := func(n int64) int64 { return n - 1 } // the largest draw
	for _, c := range []struct {
		attempt int
		want    time.Duration
	}{
		{0, lo},
		{1, 2 * lo},
		{3, 8 * lo},
		{6, 64 * lo}, // 16 s
		{7, hi},      // 32 s capped
		{40, hi},     // lo·2⁴⁰ overflows
		{1000, hi},
	} {
		if got := reconnectDelay(c.attempt, lo, hi, top); got != c.want {
			t.Errorf("attempt %d: longest delay %v, want %v", c.attempt, got, c.want)
		}
		if got := reconnectDelay(c.attempt, lo, hi, func(int64) int64 { return 0 }); got != 0 {
			t.Errorf("attempt %d: shortest delay %v, want 0", c.attempt, got)
		}
	}
	if got := reconnectDelay(0, lo, 100*time.Millisecond, top); got != 100*time.Millisecond {
		t.Errorf("with hi below lo: longest first delay %v, want hi", got)
	}
}
