package core

import (
	"context"
	"log/slog"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/lifecycle"
	"github.com/udi-edge/udi-edge/agent/master"
)

// NewDecider returns the point-of-use decision the stations and cabinets
// run on each item movement (lifecycle.Decider: the checks over the
// master data held in st and the item's history in the ledger l, with
// its policies for no catalogue and an unreadable history).
//
// selected, when not nil, tells the procurement check whether a product
// selected in volume-based procurement is in stock (Gateway's stock, see
// selectedInStock); nil, that check does not run.
func NewDecider(gateway string, cfg Config, st *master.Store, l agent.Ledger, log *slog.Logger,
	selected func(generic, location string) (string, bool)) (*lifecycle.Decider, error) {
	return lifecycle.NewDecider(lifecycle.DeciderConfig{
		Gateway:         gateway,
		Now:             cfg.Now,
		Rules:           cfg.Rules,
		ExpiringDays:    cfg.ExpiringDays,
		Master:          st.Load,
		SelectedInStock: selected,
		History:         func(key string) ([]agent.Movement, error) { return l.Trace(context.Background(), key) },
		HistoryError: func(key string, err error) {
			log.Warn("item history not read for the checks: decided as with none, flagged "+string(lifecycle.CheckHistoryUnreadable), "err", err)
		},
	})
}

// selectedInStock reports whether a product of generic name generic
// selected in volume-based procurement is on hand at location, from the
// stock kept beside the ledger; while that stock is being rebuilt (at
// start) it says no rather than wait: a scan is answered at once.
func (g *Gateway) selectedInStock(generic, location string) (string, bool) {
	st := g.stock.Ready()
	if st == nil {
		return "", false
	}
	d := g.master.Load()
	for _, p := range d.Selected(generic) {
		if len(st.OnHand(location, p, d)) > 0 {
			return p, true
		}
	}
	return "", false
}
