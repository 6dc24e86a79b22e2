package backoff

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestCeilings: from Min, doubling with every attempt, capped at Max
// (also where doubling would overflow, and with Max below Min); Reset
// starts over.
func TestCeilings(t *testing.T) {
	top := func(n int64) int64 { return n - 1 } // the largest draw
	b := Backoff{Min: 500 * time.Millisecond, Max: 60 * time.Second, Rand: top}
	var got []time.Duration
	for range 10 {
		got = append(got, b.Next())
	}
	want := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second,
		16 * time.Second, 32 * time.Second, 60 * time.Second, 60 * time.Second, 60 * time.Second}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("ceilings %v, want %v", got, want)
		}
	}
	for range 1000 {
		b.Next() // far past where Min·2ⁿ overflows
	}
	if c := b.Ceiling(); c != 60*time.Second {
		t.Fatalf("after many attempts: ceiling %v", c)
	}
	b.Reset()
	if d := b.Next(); d != 500*time.Millisecond {
		t.Fatalf("after Reset %v", d)
	}
	low := Backoff{Min: 250 * time.Millisecond, Max: 100 * time.Millisecond, Rand: top}
	if d := low.Next(); d != 100*time.Millisecond {
		t.Errorf("with Max below Min: longest first delay %v, want Max", d)
	}
	zero := Backoff{Min: time.Second, Max: time.Minute, Rand: func(int64) int64 { return 0 }}
	if d := zero.Next(); d != 0 {
		t.Errorf("shortest delay %v, want 0", d)
	}
}

// TestJitter: every delay within [0, ceiling], spread over it.
func TestJitter(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	b := Backoff{Min: 500 * time.Millisecond, Max: 60 * time.Second, Rand: rnd.Int64N}
	for attempt := range 200 {
		ceiling := b.Ceiling()
		if d := b.Next(); d < 0 || d > ceiling {
			t.Fatalf("attempt %d: delay %v outside [0, %v]", attempt, d, ceiling)
		}
	}
	var low, high int
	for range 1000 {
		if d := b.Next(); d < 30*time.Second {
			low++
		} else {
			high++
		}
	}
	if low < 400 || high < 400 {
		t.Errorf("jitter not uniform: %d below half, %d above", low, high)
	}
}

// TestHeld: a connection held when it lasted longer than the ceiling of
// the connections dropped before it; then the delays start over, the
// attempts that failed meanwhile forgotten. One that did not raises the
// bar for the next.
func TestHeld(t *testing.T) {
	const lo, hi = 250 * time.Millisecond, 30 * time.Second
	for _, c := range []struct {
		held    time.Duration
		dropped int
		want    bool
	}{
		{time.Hour, 0, true},
		{lo + time.Millisecond, 0, true},
		{lo, 0, false}, // not longer than the shortest delay
		{0, 0, false},  // dropped at once
		{8*lo + time.Millisecond, 3, true},
		{8 * lo, 3, false},
		{hi + time.Millisecond, 20, true}, // at the cap
		{29 * time.Second, 20, false},
		{hi, 64, false},
	} {
		b := Backoff{Min: lo, Max: hi, Rand: func(n int64) int64 { return n - 1 }}
		for range c.dropped {
			b.Held(0)
		}
		for range 5 {
			b.Next() // attempts that failed while the broker was away
		}
		if got := b.Held(c.held); got != c.want {
			t.Errorf("held %v after %d dropped: %v, want %v", c.held, c.dropped, got, c.want)
		}
		if want := lo; c.want && b.Next() != want {
			t.Errorf("held %v after %d dropped: the delays did not start over", c.held, c.dropped)
		}
	}
}
