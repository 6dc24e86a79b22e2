package core

import (
	"errors"
	"time"

	"github.com/udi-edge/udi-edge/agent"
)

// restoreCap bounds how far back the stations' contexts are read at
// start when a case or a badge never times out: a case open a day
// without a scan is not one to go on with.
const restoreCap = 24 * time.Hour

// restoreMaxMovements bounds the movements read back for it.
const restoreMaxMovements = 1 << 21

// errRestoreFound stops a Range once the movement it looked for is read.
var errRestoreFound = errors.New("found")

// restoreStations replays into the ingest the scans of the stations
// recorded within the longest of the case idle time, the badge timeout
// and the hold time before now (station.Ingest.Replay): a gateway
// restarted in the middle of an operation (a crash, an upgrade, a power
// cut) goes on with the case open at each station, the badge read, a
// command waiting, as if it had not stopped. It returns how many stations
// have a case open.
func (g *Gateway) restoreStations() (int, error) {
	p := g.cfg.Patterns
	if p == nil {
		return 0, nil
	}
	window := max(p.CaseIdle, p.BadgeTimeout, p.HoldFor)
	if p.CaseIdle == 0 || p.BadgeTimeout == 0 {
		window = max(window, restoreCap)
	}
	since := g.cfg.Now().Add(-window)
	last := g.store.LastSeq()
	if last == 0 {
		return 0, nil
	}
	// Back from the last movement, by doubling steps, to one recorded
	// before the window (the clock may have jumped, so time is not
	// searched by halves).
	from := last
	for n := uint64(1024); ; n *= 2 {
		from = 1
		if last > n {
			from = last - n + 1
		}
		var first agent.Movement
		err := g.store.Range(from, func(m agent.Movement) error {
			first = m
			return errRestoreFound
		})
		if err != nil && !errors.Is(err, errRestoreFound) {
			return 0, err
		}
		if from == 1 || first.Time.Before(since) || n >= restoreMaxMovements {
			break
		}
	}
	stations := map[string]bool{}
	err := g.store.Range(from, func(m agent.Movement) error {
		if m.Time.Before(since) {
			return nil // read on the way back, before the window
		}
		g.ingest.Replay(m)
		if m.Station != "" {
			stations[m.Station] = true
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	open := 0
	for st := range stations {
		if g.ingest.Context(st).Open() {
			open++
		}
	}
	return open, nil
}
