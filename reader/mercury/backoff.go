package mercury

import "time"

// backoff yields the waits between attempts to connect: exponential from
// min to max, each drawn uniformly from the upper half of the current step
// and never below min, so that gateways restarted together do not retry
// in step.
type backoff struct {
	min, max time.Duration
	cur      time.Duration
	rand     func() float64 // in [0, 1)
}

// next returns the wait before the next attempt and advances the step.
func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.min
	} else if b.cur > b.max/2 {
		b.cur = b.max
	} else {
		b.cur *= 2
	}
	d := b.cur/2 + time.Duration(b.rand()*float64(b.cur/2))
	return min(max(d, b.min), b.max)
}

// reset starts again from min.
func (b *backoff) reset() { b.cur = 0 }
