package lifecycle

import (
	"slices"

	"github.com/udi-edge/udi-edge/agent"
)

// Use is a use of an item that stands: recorded, not blocked by the
// checks, not cancelled since.
type Use struct {
	// Movement is the use as recorded, but for Case and Patient: those of
	// the case a later case-link movement linked it to (agent.Linked), if
	// one did.
	agent.Movement
	// Justified says that a necessity justification was recorded for the
	// use (agent.Justify) after it.
	Justified bool
}

// Pending reports whether u waits for a necessity justification: it was
// recorded pending one and none was recorded since.
func (u *Use) Pending() bool { return u.Decision == agent.DecisionPending && !u.Justified }

// History is one item's State with its uses that stand. It is the one
// reading of an item's movements that the auditor, trace's settlement
// lines and the justification command share: a use is a use unless the
// checks blocked it or a cancellation undid it; a use recorded with no
// case counts in the case a later case-link movement names; a
// justification completes the item's latest use still pending one (as a
// station's justification barcode completes its last pending use). The
// zero History is an item no movement has named.
type History struct {
	// State is the fold of Apply over the movements added.
	State State
	// Uses are the uses that stand, oldest first.
	Uses []Use
}

// Add folds m, the item's next movement in ledger order, into h and
// returns the lifecycle flags Apply raises for it. A case-link movement
// moves the use it links into its case; a justification completes the
// latest pending use; other context scans and rejections change nothing.
func (h *History) Add(m agent.Movement) []string {
	if seq, ok := agent.Linked(m); ok {
		for i := range h.Uses {
			if u := &h.Uses[i]; u.Seq == seq && u.Gateway == m.Gateway {
				u.Case, u.Patient = m.Case, m.Patient
			}
		}
		return nil
	}
	if m.Kind == agent.KindContext && slices.Contains(m.Flags, agent.FlagJustification) {
		for i := len(h.Uses) - 1; i >= 0; i-- {
			if u := &h.Uses[i]; u.Pending() {
				u.Justified = true
				break
			}
		}
		return nil
	}
	prev := h.State
	undo := CancelsLast(prev, m)
	var flags []string
	h.State, flags = Apply(prev, m)
	switch {
	case undo && prev.LastKind == agent.KindUse:
		if n := len(h.Uses); n > 0 && h.Uses[n-1].Seq == prev.LastSeq && h.Uses[n-1].Gateway == prev.LastGateway {
			h.Uses = h.Uses[:n-1]
		}
	case m.Kind == agent.KindUse && m.Decision != agent.DecisionBlocked:
		h.Uses = append(h.Uses, Use{Movement: m})
	}
	return flags
}

// PendingUse returns the use the item's next necessity justification
// completes: its latest use that stands and is still pending one. ms are
// the item's movements, oldest first (its trace from the ledger).
func PendingUse(ms []agent.Movement) (agent.Movement, bool) {
	var h History
	for _, m := range ms {
		h.Add(m)
	}
	return h.PendingUse()
}

// PendingUse returns the latest use in h still pending a justification.
func (h *History) PendingUse() (agent.Movement, bool) {
	for i := len(h.Uses) - 1; i >= 0; i-- {
		if u := &h.Uses[i]; u.Pending() {
			return u.Movement, true
		}
	}
	return agent.Movement{}, false
}
