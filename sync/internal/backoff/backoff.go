// Package backoff is the one rule for the delays before reconnecting to
// the broker, the gateway's uplink's and the centre's: exponential from
// Min to Max with full jitter (a uniform delay between 0 and the
// exponential ceiling, so that clients that lost the broker together do
// not come back together), started over after a connection that held.
package backoff

import "time"

// maxAttempts bounds the counts: Max is reached long before.
const maxAttempts = 64

// Backoff counts the attempts since the last start over. The zero value
// is not usable: set Min, Max and Rand.
type Backoff struct {
	// Min is the ceiling of the first delay, Max the largest ceiling.
	Min, Max time.Duration
	// Rand returns a uniform number in [0, n).
	Rand func(n int64) int64
	// attempt counts the connections failed or lost since the last start
	// over; dropped those of them that were made but did not hold.
	attempt, dropped int
}

// Ceiling returns the ceiling of the next delay.
func (b *Backoff) Ceiling() time.Duration { return b.ceilingAt(b.attempt) }

// ceilingAt returns Min·2ⁿ, capped at Max (also where it would overflow).
func (b *Backoff) ceilingAt(n int) time.Duration {
	if c := b.Min << n; n < maxAttempts && c>>n == b.Min && c < b.Max {
		return c
	}
	return b.Max
}

// Next returns the delay before the next attempt, and counts the attempt.
func (b *Backoff) Next() time.Duration {
	c := b.Ceiling()
	b.attempt = min(b.attempt+1, maxAttempts)
	return time.Duration(b.Rand(int64(c) + 1))
}

// Reset starts over from the shortest delay (after progress).
func (b *Backoff) Reset() { b.attempt, b.dropped = 0, 0 }

// Held notes that a connection lasted d, and reports whether it held:
// whether it lasted longer than the ceiling of the connections dropped in
// a row before it. Then the broker took it and kept it, and its loss is
// news (a broker restarted, a network cut): the delays start over,
// however often the broker went before and however long it was away (the
// attempts that failed meanwhile do not count). One lost sooner (a second
// client with the same id taking the session as soon as it connects, a
// broker that crashes again and again) does not start them over, and
// raises the bar for the next: the delays grow until they are about as
// long as the connections last, so that such a pair does not take the
// session from each other several times a second.
func (b *Backoff) Held(d time.Duration) bool {
	if d > b.ceilingAt(b.dropped) {
		b.Reset()
		return true
	}
	b.dropped = min(b.dropped+1, maxAttempts)
	return false
}
