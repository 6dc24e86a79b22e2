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
func NewDecider(gateway string, cfg Config, st *master.Store, l agent.Ledger, log *slog.Logger) (*lifecycle.Decider, error) {
	return lifecycle.NewDecider(lifecycle.DeciderConfig{
		Gateway:      gateway,
		Now:          cfg.Now,
		Rules:        cfg.Rules,
		ExpiringDays: cfg.ExpiringDays,
		Master:       st.Load,
		History:      func(key string) ([]agent.Movement, error) { return l.Trace(context.Background(), key) },
		HistoryError: func(key string, err error) {
			log.Warn("item history not read for the checks: decided as with none, flagged "+string(lifecycle.CheckHistoryUnreadable), "err", err)
		},
	})
}
