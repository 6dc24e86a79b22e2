package core

import (
	"context"
	"log/slog"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/lifecycle"
	"github.com/udi-edge/udi-edge/agent/master"
	"github.com/udi-edge/udi-edge/agent/stock"
)

// NewDecider returns the point-of-use decision the stations and cabinets
// run on each item movement (lifecycle.Decider: the checks over the
// master data held in st and the item's history in the ledger l, with
// its policies for no catalogue and an unreadable history).
//
// stk, when not nil, is the stock kept beside the ledger, which the
// procurement check (is a product selected in volume-based procurement
// in stock?) and the FEFO check (is a unit expiring earlier on the
// shelf?) ask; nil, those checks do not run.
func NewDecider(gateway string, cfg Config, st *master.Store, l agent.Ledger, log *slog.Logger, stk *stock.Keeper) (*lifecycle.Decider, error) {
	var selected func(generic, location string) (string, bool)
	var earlier func(product, location, expiry, item string) (string, string, bool)
	if stk != nil {
		q := stockChecks{stock: stk, master: st, now: cfg.Now}
		selected, earlier = q.selectedInStock, q.earlierOnShelf
	}
	return lifecycle.NewDecider(lifecycle.DeciderConfig{
		Gateway:         gateway,
		Now:             cfg.Now,
		Rules:           cfg.Rules,
		ExpiringDays:    cfg.ExpiringDays,
		Master:          st.Load,
		SelectedInStock: selected,
		EarlierOnShelf:  earlier,
		History:         func(key string) ([]agent.Movement, error) { return l.Trace(context.Background(), key) },
		HistoryError: func(key string, err error) {
			log.Warn("item history not read for the checks: decided as with none, flagged "+string(lifecycle.CheckHistoryUnreadable), "err", err)
		},
	})
}

// stockChecks answers the checks' questions of the stock kept beside
// the ledger; while that stock is being rebuilt (at start) each says no
// rather than wait: a scan is answered at once.
type stockChecks struct {
	stock  *stock.Keeper
	master *master.Store
	now    func() time.Time
}

// selectedInStock reports whether a product of generic name generic
// selected in volume-based procurement is on hand at location.
func (c stockChecks) selectedInStock(generic, location string) (string, bool) {
	st := c.stock.Ready()
	if st == nil {
		return "", false
	}
	d := c.master.Load()
	for _, p := range d.Selected(generic) {
		if len(st.OnHand(location, p, d)) > 0 {
			return p, true
		}
	}
	return "", false
}

// earlierOnShelf is the FEFO check's question: the first unit of product
// on hand at location expiring before expiry and not yet expired.
func (c stockChecks) earlierOnShelf(product, location, expiry, item string) (string, string, bool) {
	st := c.stock.Ready()
	if st == nil {
		return "", "", false
	}
	return st.EarlierOnShelf(location, product, expiry, c.now().Format(time.DateOnly), c.master.Load())
}
