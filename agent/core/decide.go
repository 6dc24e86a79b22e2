package core

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/lifecycle"
	"github.com/udi-edge/udi-edge/agent/master"
)

// NewDecider returns the point-of-use decision the stations and cabinets
// run on each item movement: the lifecycle checker over the master data
// kept on the gateway and the item's history in the ledger.
func NewDecider(cfg Config, st *master.Store, l agent.Ledger, log *slog.Logger) func(agent.Movement, bool) agent.Decision {
	withCat := &lifecycle.Checker{
		Now:          cfg.Now,
		Rules:        cfg.Rules,
		ExpiringDays: cfg.ExpiringDays,
		Catalogue: func(product string) (lifecycle.Item, bool) {
			e, ok := st.Load().Lookup(product)
			if !ok {
				return lifecycle.Item{}, false
			}
			return lifecycle.Item{GTIN: e.GTIN, Name: e.Name, HighValue: e.HighValue, Imported: e.Imported,
				Tracking: lifecycle.Tracking(e.Tracking)}, true
		},
		Recalled: func(product, lot, serial string) (string, bool) {
			r, ok := st.Load().Recalled(product, lot, serial)
			if !ok {
				return "", false
			}
			return fmt.Sprintf("%s (%s)", r.Reason, r.Date), true
		},
		LotStatus: func(product, lot string) string {
			s, ok := st.Load().LotStatus(product, lot)
			if !ok {
				return ""
			}
			switch s.Status {
			case master.StatusOnHold:
				return lifecycle.LotOnHold
			default:
				return string(s.Status)
			}
		},
		State: func(key string) (lifecycle.State, bool) {
			ms, err := l.Trace(context.Background(), key)
			if err != nil {
				log.Warn("item history not read for the checks", "err", err)
				return lifecycle.State{}, false
			}
			if len(ms) == 0 {
				return lifecycle.State{}, false
			}
			s, _ := lifecycle.Replay(ms)
			return s, true
		},
	}
	if withCat.Now == nil {
		withCat.Now = time.Now
	}
	// Without a catalogue on the gateway every item would be "unknown":
	// the checks that need one do not run until one is imported.
	noCat := *withCat
	noCat.Catalogue = nil
	return func(m agent.Movement, openCase bool) agent.Decision {
		c := withCat
		if st.Load().Counts().Catalogue == 0 {
			c = &noCat
		}
		d := c.Check(m, openCase)
		out := agent.Decision{Outcome: d.Outcome.String(), Flags: d.Flags}
		for _, r := range d.Reasons {
			out.Reasons = append(out.Reasons, r.Text)
		}
		return out
	}
}
