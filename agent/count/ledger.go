package count

import (
	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/lifecycle"
	"github.com/udi-edge/udi-edge/agent/stock"
)

// StateAt returns the state of the item key after its movements in ms
// (its trace, oldest first) up to sequence number upto, the count
// movements of session left out (what the ledger said of the item
// before the count saw it; 0 leaves none out), and whether the item is
// consumed then: used, wasted or disposed of, with no adjustment that is
// not a cancellation since (one restores it to stock, as the lifecycle
// has it). A movement of ms that names key only as its tag (the
// commission of the tag to another item) is not the item's and is left
// out.
func StateAt(ms []agent.Movement, key string, upto, session uint64) (st lifecycle.State, consumed bool) {
	before := false
	for _, m := range ms {
		if m.Seq > upto {
			break
		}
		if m.Item != key {
			continue
		}
		if s, ok := agent.CountSession(m); ok && s == session && m.Kind == agent.KindCount {
			continue
		}
		cancel := lifecycle.CancelsLast(st, m)
		next, _ := lifecycle.Apply(st, m)
		applied := next.Movements != st.Movements
		st = next // a context movement may say something (a loan set) without moving the item
		if !applied {
			continue // blocked, rejected, context
		}
		switch {
		case cancel:
			consumed = before
		default:
			before = consumed
			switch m.Kind {
			case agent.KindUse, agent.KindWaste, agent.KindDispose:
				consumed = true
			case agent.KindAdjust:
				consumed = false
			}
		}
	}
	return st, consumed
}

// OnHandAt reports whether st has its item on hand or held at location.
func OnHandAt(st lifecycle.State, location string) bool {
	if st.Location != location {
		return false
	}
	switch st.Status {
	case lifecycle.StatusReceived, lifecycle.StatusCommissioned, lifecycle.StatusStocked, lifecycle.StatusReturned,
		lifecycle.StatusQuarantined:
		return true
	}
	return false
}

// LotAt returns the count at location of key, a key naming many items,
// after its movements in ms (its trace, oldest first) up to sequence
// number upto, folded as the stock folds them (stock.Stock.Apply).
func LotAt(ms []agent.Movement, key string, upto uint64, location string) int {
	st := stock.New()
	for _, m := range ms {
		if m.Seq > upto {
			break
		}
		if m.Item == key {
			st.Apply(m)
		}
	}
	for _, l := range st.LotsAt(location) {
		if l.Key == key {
			return l.Units
		}
	}
	return 0
}

// Tagged reports whether any of ms read its item by RFID or names a tag
// (a commission binding one to it).
func Tagged(ms []agent.Movement) bool {
	for _, m := range ms {
		if m.Symbology == agent.SymbologyEPC || m.Tag != "" {
			return true
		}
	}
	return false
}

// AdjustedBy returns the sequence number of the first movement of ms
// that adjusts the ledger for session (agent.CountAdjustReason), 0 when
// none does.
func AdjustedBy(ms []agent.Movement, session uint64) uint64 {
	for _, m := range ms {
		if s, ok := agent.CountSession(m); ok && s == session && m.Kind != agent.KindCount {
			return m.Seq
		}
	}
	return 0
}
