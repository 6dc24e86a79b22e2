package count

import (
	"fmt"
	"slices"

	"github.com/udi-edge/udi-edge/agent"
)

// Plan returns the movements that adjust the ledger to what session found
// at location, for the differences the staff confirm: those of items (or
// lots) named in items, or, when items is empty, every difference whose
// action writes something but Investigate (an item the ledger has used
// is restocked only when named). Each movement's Reason names the session
// (agent.CountAdjustReason); the caller sets its time and actor.
//
//   - WriteOff: a disposal flagged agent.FlagLost, from and at location:
//     one for an item, one per unit short for a lot;
//   - Restock, Investigate: an adjustment, which puts the item in stock
//     at location (the lifecycle's rule for an adjustment that is not a
//     cancellation);
//   - TakeOnHand: a return at location per unit of a lot found beyond the
//     ledger's count.
//
// The other actions write nothing (None, Commission, CountByBarcode,
// Recount, Adjusted).
func Plan(session uint64, location string, diffs []Difference, items []string) []agent.Movement {
	var out []agent.Movement
	for _, d := range diffs {
		if len(items) > 0 && !slices.Contains(items, d.Item) || len(items) == 0 && d.Action == Investigate {
			continue
		}
		m := agent.Movement{Item: d.Item, Lot: d.Lot, Expiry: d.Expiry, Location: location}
		n := 1
		switch d.Action {
		case WriteOff:
			m.Kind, m.From, m.Flags = agent.KindDispose, location, []string{agent.FlagLost}
			m.Reason = agent.CountAdjustReason(session, fmt.Sprintf("not found at %s: written off as lost", location))
			if d.Kind == LotCount {
				n = d.Expected - d.Counted
				m.Reason = agent.CountAdjustReason(session, fmt.Sprintf("%s counted %d of %d at %s: one unit written off as lost", lotName(d), d.Counted, d.Expected, location))
			}
		case Restock, Investigate:
			m.Kind = agent.KindAdjust
			m.Reason = agent.CountAdjustReason(session, fmt.Sprintf("found at %s while the ledger has it %s: back on hand", location, d.LedgerStatus))
		case TakeOnHand:
			m.Kind = agent.KindReturn
			n = d.Counted - d.Expected
			m.Reason = agent.CountAdjustReason(session, fmt.Sprintf("%s counted %d, %d on record at %s: one unit taken on hand", lotName(d), d.Counted, d.Expected, location))
		default:
			continue
		}
		for range n {
			m.Flags = slices.Clone(m.Flags)
			out = append(out, m)
		}
	}
	return out
}

// lotName names a lot in a reason: "lot LOT", or the key when it names
// no lot (a product scanned without one).
func lotName(d Difference) string {
	if d.Lot != "" {
		return "lot " + d.Lot
	}
	return d.Item
}
