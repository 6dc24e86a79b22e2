package core

import (
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/udi-edge/udi-edge/agent"
)

// ClockTolerance is how far a movement's time may be behind the latest
// time the ledger already holds before it is flagged clock-back
// (agent.ClockBackFlag). Within it, times out of order are the gateway's
// own doing, not its clock's: a movement is stamped when its read
// arrived and reaches the ledger after its checks, so two stations'
// movements can cross by the time a decision takes (milliseconds, a few
// seconds on a busy disk); a cabinet's movement carries the time of the
// round or sighting that decided it (a portal's window is 5 s by
// default). A minute is well above all of these, and well below any
// step an auditor must be told of (an hour of summer time, a zone set
// wrong, a clock restarting from an old time).
const ClockTolerance = time.Minute

// clockStore is the gateway's ledger seen through the clock check: every
// movement the core writes (stations, cabinets, the core's own) passes
// through its Submit, in the order the ledger numbers them, and one whose
// time is behind the latest time already recorded by more than
// ClockTolerance is flagged agent.ClockBackFlag with how far. It is
// recorded all the same, in its place in the sequence: nothing is
// refused or reordered for a clock.
type clockStore struct {
	Store
	log *slog.Logger

	mu     sync.Mutex
	latest time.Time // the latest time recorded so far
	behind bool      // the last movement checked was flagged
}

// newClockStore returns s seen through the clock check, which starts from
// the latest time of s's last movement.
func newClockStore(s Store, log *slog.Logger) *clockStore {
	c := &clockStore{Store: s, log: log}
	if last := s.LastSeq(); last > 0 {
		err := s.Range(last, func(m agent.Movement) error {
			c.latest = latestAfter(m)
			return errStopRange
		})
		if err != nil && !errors.Is(err, errStopRange) {
			c.log.Warn("clock check: the last movement could not be read; it starts from the next one", "err", err)
		}
	}
	return c
}

// latestAfter is the latest time a ledger held once m was recorded, as
// far as m tells: its own time, or the time it was flagged behind.
// Within ClockTolerance the latest time is not recorded, so after a
// restart the check may start up to that much earlier than it stood.
func latestAfter(m agent.Movement) time.Time {
	d, _ := agent.ClockBack(m)
	return m.Time.Add(d)
}

// Submit checks m's time against the latest recorded and submits it.
// Movements submitted at once from several goroutines may be numbered in
// another order than they were checked in; they were stamped within
// moments of each other, far within ClockTolerance, so no flag depends
// on it. (Submitting under the check's lock would order them exactly,
// and deadlock a done that submits when the ledger answers at once.)
func (c *clockStore) Submit(m agent.Movement, done func(agent.Movement, error)) {
	c.mu.Lock()
	c.check(&m)
	c.mu.Unlock()
	c.Store.Submit(m, done)
}

// check flags m when its time is behind the latest recorded by more than
// ClockTolerance, and otherwise moves the latest on. A clock-back flag m
// carries already is dropped: the check is the only one to set it.
func (c *clockStore) check(m *agent.Movement) {
	if slices.ContainsFunc(m.Flags, agent.IsClockBackFlag) {
		m.Flags = slices.DeleteFunc(slices.Clone(m.Flags), agent.IsClockBackFlag)
	}
	if m.Time.IsZero() {
		return
	}
	back := c.latest.Sub(m.Time)
	if back <= ClockTolerance {
		if m.Time.After(c.latest) {
			c.latest = m.Time
		}
		if c.behind {
			c.behind = false
			c.log.Info("clock check: the clock has caught up with the latest time recorded")
		}
		return
	}
	// A new array: m's flags may share one with the movement it was
	// built from.
	m.Flags = append(slices.Clip(m.Flags), agent.ClockBackFlag(back))
	if !c.behind {
		c.behind = true
		c.log.Warn("clock check: the clock is behind the latest time recorded; movements are recorded in order and flagged clock-back until it catches up",
			"behind", back.Round(time.Second).String(), "latest", c.latest)
	}
}
