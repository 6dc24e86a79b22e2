package reader

import "time"

// Backoff yields the waits between attempts to open or reconnect a device:
// exponential from Min to Max, each drawn uniformly from the upper half of
// the current step and never below Min, so that gateways restarted
// together do not retry in step. Its zero value with Min, Max and Rand set
// is ready; it is not safe for concurrent use.
type Backoff struct {
	Min, Max time.Duration
	// Rand returns a number in [0, 1).
	Rand func() float64
	cur  time.Duration
}

// Next returns the wait before the next attempt and advances the step.
func (b *Backoff) Next() time.Duration {
	if b.cur == 0 {
		b.cur = b.Min
	} else if b.cur > b.Max/2 {
		b.cur = b.Max
	} else {
		b.cur *= 2
	}
	d := b.cur/2 + time.Duration(b.Rand()*float64(b.cur/2))
	return min(max(d, b.Min), b.Max)
}

// Reset starts again from Min.
func (b *Backoff) Reset() { b.cur = 0 }
