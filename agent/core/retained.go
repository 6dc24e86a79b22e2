package core

import (
	"context"
	"fmt"
	"time"

	"github.com/udi-edge/udi-edge/agent"
)

// RetainedItem is what the ledger keeps of an item whose movements
// retention took away (agent/bolt's tombstone): how many, the first and
// the last, the kind of the last, and when they left. The centre holds
// the movements themselves.
type RetainedItem struct {
	Key        string     `json:"key"`
	Movements  uint64     `json:"movements"`
	First      uint64     `json:"first_seq"`
	Last       uint64     `json:"last_seq"`
	FirstTime  time.Time  `json:"first_time"`
	LastTime   time.Time  `json:"last_time"`
	LastKind   agent.Kind `json:"last_kind"`
	RetainedAt time.Time  `json:"retained_at"`
}

// RetainedFunc tells what the ledger keeps of an item retained away:
// ok false when its key never had movements taken away.
type RetainedFunc func(key string) (RetainedItem, bool, error)

// retainedHistory is the item's history as the checks read it: its
// movements, or, when retention took them all away, the receipt and the
// last movement its tombstone names, so that an item used before the
// cut is still used (a reused serial is used twice, not never
// received).
func retainedHistory(ms []agent.Movement, key string, retained RetainedFunc) []agent.Movement {
	if len(ms) > 0 || retained == nil {
		return ms
	}
	t, ok, err := retained(key)
	if err != nil || !ok {
		return ms
	}
	note := fmt.Sprintf("retained away on %s: %d movement(s), %d to %d", t.RetainedAt.Format(time.DateOnly), t.Movements, t.First, t.Last)
	last := agent.Movement{Seq: t.Last, Time: t.LastTime, Kind: t.LastKind, Item: key, Decision: agent.DecisionAccepted, Reason: note}
	if t.Movements < 2 || t.LastKind == agent.KindReceive {
		return []agent.Movement{last}
	}
	first := agent.Movement{Seq: t.First, Time: t.FirstTime, Kind: agent.KindReceive, Item: key, Decision: agent.DecisionAccepted, Reason: note}
	return []agent.Movement{first, last}
}

// retainedItem returns the tombstone of key for a trace that found no
// movement, nil when there is none.
func (g *Gateway) retainedItem(ctx context.Context, key string) (*RetainedItem, error) {
	if g.retained == nil || key == "" || ctx.Err() != nil {
		return nil, ctx.Err()
	}
	t, ok, err := g.retained(key)
	if err != nil || !ok {
		return nil, err
	}
	return &t, nil
}

// retainedLedger is the ledger the checks read an item's history from:
// its Trace, completed by the tombstone of an item retained away.
type retainedLedger struct {
	agent.Ledger
	retained RetainedFunc
}

// Trace returns key's movements, or what its tombstone says of them.
func (l retainedLedger) Trace(ctx context.Context, key string) ([]agent.Movement, error) {
	ms, err := l.Ledger.Trace(ctx, key)
	if err != nil {
		return ms, err
	}
	return retainedHistory(ms, key, l.retained), nil
}
