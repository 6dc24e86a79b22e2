package core

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/lifecycle"
	"github.com/udi-edge/udi-edge/agent/station"
)

// What the station page (agent/web) asks of the core besides what the
// command line and the local API ask: the stations, a station's recent
// scans, whether an item's use still waits for a justification, and
// CLOSE CASE without the command barcode in hand.

// ErrNoStation is wrapped by the error for a station the gateway does not
// have.
var ErrNoStation = errors.New("no such station")

// ErrNoCloseCase is returned by CloseCase when no close-case command
// barcode is configured (patterns.commands): the station's case is closed
// by the same command a scanned barcode gives, and there is none.
var ErrNoCloseCase = errors.New("no close-case command barcode is configured (patterns.commands)")

// MaxRecentWindow is how many of the ledger's last movements Recent reads
// at most: a station's recent scans are among them, and a page never
// walks the whole ledger.
const MaxRecentWindow = 4096

// Stations returns the gateway's barcode stations, by id.
func (g *Gateway) Stations() []agent.Station {
	out := make([]agent.Station, 0, len(g.cfg.Stations))
	for _, s := range g.cfg.Stations {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b agent.Station) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// Station returns the station id; false when there is none.
func (g *Gateway) Station(id string) (agent.Station, bool) {
	s, ok := g.cfg.Stations[id]
	return s, ok
}

// StationContext returns station's context as its next scan would find
// it (the case open there, the badge it read): the station's own, which
// the page shows rather than guessing it from the outcomes. The error
// wraps ErrNoStation.
func (g *Gateway) StationContext(id string) (station.Context, error) {
	if _, ok := g.cfg.Stations[id]; !ok {
		return station.Context{}, fmt.Errorf("%w: %q", ErrNoStation, id)
	}
	return g.ingest.Context(id), nil
}

// CanCloseCase reports whether a close-case command barcode is configured
// (see CloseCase).
func (g *Gateway) CanCloseCase() bool {
	_, ok := g.closeCaseCode()
	return ok
}

// closeCaseCode returns the configured close-case command barcode; the
// first in order when several are.
func (g *Gateway) closeCaseCode() (string, bool) {
	if g.cfg.Patterns == nil {
		return "", false
	}
	var codes []string
	for c, cmd := range g.cfg.Patterns.Commands {
		if cmd == agent.CmdCloseCase {
			codes = append(codes, c)
		}
	}
	if len(codes) == 0 {
		return "", false
	}
	sort.Strings(codes)
	return codes[0], true
}

// CloseCase closes the case open at station as its close-case command
// barcode would: the command is handed to the station as a read of that
// barcode, so that the station's context is closed by the one code that
// closes it, the movement recorded is the one a scan records ("case
// closed"), and its outcome arrives through OnAnswer like any scan's. It
// returns at once. The errors wrap ErrNoStation or are ErrNoCloseCase.
func (g *Gateway) CloseCase(station string) error {
	if _, ok := g.cfg.Stations[station]; !ok {
		return fmt.Errorf("%w: %q", ErrNoStation, station)
	}
	c, ok := g.closeCaseCode()
	if !ok {
		return ErrNoCloseCase
	}
	g.Scan(agent.Read{Source: station, Time: g.cfg.Now(), Raw: []byte(c), Data: []byte(c)})
	return nil
}

// Recent returns up to n of the last movements recorded at station,
// oldest first, from the ledger's last MaxRecentWindow movements (those
// the page shows after a restart: the station's scans, a justification
// given at it).
func (g *Gateway) Recent(ctx context.Context, station string, n int) ([]agent.Movement, error) {
	if n <= 0 {
		return nil, nil
	}
	last := g.store.LastSeq()
	if last == 0 {
		return nil, nil
	}
	from := uint64(1)
	if last > MaxRecentWindow {
		from = last - MaxRecentWindow + 1
	}
	var out []agent.Movement
	err := g.store.Range(from, func(m agent.Movement) error {
		if m.Seq > last {
			return errStopRange
		}
		if m.Station == station {
			out = append(out, m)
			if len(out) > n {
				out = out[1:]
			}
		}
		return ctx.Err()
	})
	if err != nil && !errors.Is(err, errStopRange) {
		return nil, err
	}
	return out, nil
}

// PendingUse returns the last use of the item whose key is item that
// still waits for a necessity justification; false when none does.
func (g *Gateway) PendingUse(ctx context.Context, item string) (agent.Movement, bool, error) {
	ms, err := g.store.Trace(ctx, item)
	if err != nil {
		return agent.Movement{}, false, err
	}
	m, ok := lifecycle.PendingUse(ms)
	return m, ok, nil
}
