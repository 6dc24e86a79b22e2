package core

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/stock"
)

// Observer is told what the core does that an operator watches: how long
// the point-of-use decisions take and how much stock is close to expiry.
// The gateway's metrics implement it (cmd/internal/edge); the core never
// depends on what they do with it. Its methods must not block.
type Observer interface {
	// Decided is called after each point-of-use decision with the time
	// it took and its outcome (agent.DecisionAccepted...), on the
	// goroutine of the read it decided.
	Decided(took time.Duration, outcome string)
	// Expiring is called after each sweep of the expiry horizons with
	// the units on hand per location within each horizon; it replaces
	// what the last call said.
	Expiring(units []ExpiringUnits)
}

// ExpiringUnits is how many units on hand at a location expire within a
// horizon.
type ExpiringUnits struct {
	Location string
	// HorizonDays is the horizon (SupplyConfig.ExpiryHorizons): the units
	// expire within that many days and are not expired yet; 0 counts the
	// units already expired on the shelf.
	HorizonDays int
	Units       int
}

// timed returns decide, telling g's observer how long each decision took.
func (g *Gateway) timed(decide func(agent.Movement, bool) agent.Decision) func(agent.Movement, bool) agent.Decision {
	if g.observer == nil {
		return decide
	}
	return func(m agent.Movement, openCase bool) agent.Decision {
		start := time.Now()
		d := decide(m, openCase)
		g.observer.Decided(time.Since(start), d.Outcome)
		return d
	}
}

// observeExpiring tells g's observer the units of lines (the stock within
// the largest horizon of hs, largest first) within each horizon, per
// location: a unit is counted under every horizon it is within.
func (g *Gateway) observeExpiring(lines []stock.Line, hs []int) {
	if g.observer == nil {
		return
	}
	type key struct {
		location string
		horizon  int
	}
	sum := map[key]int{}
	for _, l := range lines {
		if l.Units <= 0 || l.DaysLeft == nil {
			continue
		}
		if l.Expired {
			sum[key{l.Location, 0}] += l.Units
			continue
		}
		for _, h := range hs {
			if *l.DaysLeft <= h {
				sum[key{l.Location, h}] += l.Units
			}
		}
	}
	out := make([]ExpiringUnits, 0, len(sum))
	for k, n := range sum {
		out = append(out, ExpiringUnits{Location: k.location, HorizonDays: k.horizon, Units: n})
	}
	slices.SortFunc(out, func(a, b ExpiringUnits) int {
		return cmp.Or(strings.Compare(a.Location, b.Location), cmp.Compare(a.HorizonDays, b.HorizonDays))
	})
	g.observer.Expiring(out)
}
