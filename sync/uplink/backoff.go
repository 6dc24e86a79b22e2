package uplink

import "time"

// backoff computes reconnect delays: exponential from min to max, with
// full jitter (a uniform delay between 0 and the exponential ceiling).
type backoff struct {
	min, max time.Duration
	// attempt counts the connections failed or lost since the last
	// progress or connection that held; dropped those of them that were
	// made but did not hold.
	attempt, dropped int
	// rand returns a uniform number in [0, n).
	rand func(n int64) int64
}

// ceiling returns the exponential ceiling of the current attempt.
func (b *backoff) ceiling() time.Duration { return b.ceilingAt(b.attempt) }

// ceilingAt returns the exponential ceiling of attempt n.
func (b *backoff) ceilingAt(n int) time.Duration {
	d := b.min
	for i := 0; i < n && d < b.max; i++ {
		d *= 2
	}
	return min(d, b.max)
}

// next returns the delay before the next attempt, and counts the attempt.
func (b *backoff) next() time.Duration {
	c := b.ceiling()
	if b.attempt < 64 {
		b.attempt++
	}
	return time.Duration(b.rand(int64(c) + 1))
}

// reset starts over after progress.
func (b *backoff) reset() { b.attempt, b.dropped = 0, 0 }

// held notes that a connection lasted d. Longer than the ceiling of the
// connections dropped before it, it held: the broker took it and kept
// it, and its loss is news (a broker restarted), so the delays start
// over as after progress, which a gateway with nothing to send makes
// none of; the attempts that failed while the broker was away do not
// count. A connection lost sooner (another gateway with the same client
// id taking the session as soon as it connects) does not start them
// over, and raises the bar for the next.
func (b *backoff) held(d time.Duration) {
	if d > b.ceilingAt(b.dropped) {
		b.reset()
	} else if b.dropped < 64 {
		b.dropped++
	}
}
