package lifecycle

import (
	"testing"

	"github.com/udi-edge/udi-edge/agent"
)

// numbered numbers movements from 1, on gateway gw-1.
func numbered(ms ...agent.Movement) []agent.Movement {
	for i := range ms {
		ms[i].Gateway, ms[i].Seq = "gw-1", uint64(i+1)
	}
	return ms
}

func pendingUse() agent.Movement {
	return at(agent.KindUse, "OR-3", func(m *agent.Movement) { m.Case, m.Decision = "C-20", agent.DecisionPending })
}

func justification(use agent.Movement) agent.Movement {
	return agent.Justify(agent.Movement{Location: "OR-3"}, use, "R03")
}

func TestPendingUse(t *testing.T) {
	// Pending, then justified: nothing waits.
	ms := numbered(at(agent.KindReceive, "WH"), pendingUse())
	if u, ok := PendingUse(ms); !ok || u.Seq != 2 {
		t.Fatalf("pending use: %d %v, want 2", u.Seq, ok)
	}
	ms = numbered(append(ms, justification(ms[1]))...)
	if u, ok := PendingUse(ms); ok {
		t.Fatalf("justified use still pending: %d", u.Seq)
	}

	// Wrong item, cancel, rescan: the cancelled use waits for nothing,
	// the rescan does.
	ms = numbered(pendingUse(), at(agent.KindAdjust, "OR-3"), pendingUse())
	ms[1].Reason = agent.CancelReason(agent.KindUse, 1)
	if u, ok := PendingUse(ms); !ok || u.Seq != 3 {
		t.Fatalf("after cancel and rescan: %d %v, want 3", u.Seq, ok)
	}
	// Cancelled and not rescanned: nothing waits.
	if u, ok := PendingUse(ms[:2]); ok {
		t.Fatalf("cancelled use pending: %d", u.Seq)
	}
	// A blocked use did not happen; an accepted one waits for nothing.
	blocked := pendingUse()
	blocked.Decision = agent.DecisionBlocked
	if u, ok := PendingUse(numbered(blocked, at(agent.KindUse, "OR-3"))); ok {
		t.Fatalf("pending: %d", u.Seq)
	}
	// A justification completes the latest pending use; an earlier one
	// still waits.
	ms = numbered(pendingUse(), pendingUse())
	ms = numbered(append(ms, justification(ms[1]))...)
	if u, ok := PendingUse(ms); !ok || u.Seq != 1 {
		t.Fatalf("earlier pending use: %d %v, want 1", u.Seq, ok)
	}
}

// TestHistoryUses: the uses that stand, with the case a later link gives.
func TestHistoryUses(t *testing.T) {
	noCase := at(agent.KindUse, "OR-3")
	link := at(agent.KindContext, "OR-3", func(m *agent.Movement) {
		m.Case, m.Patient, m.Flags, m.Reason = "C-21", "P-1", []string{agent.FlagCaseLink}, agent.LinkReason(2)
	})
	ms := numbered(at(agent.KindReceive, "WH"), noCase, link)
	var h History
	for _, m := range ms {
		h.Add(m)
	}
	if len(h.Uses) != 1 || h.Uses[0].Case != "C-21" || h.Uses[0].Patient != "P-1" || h.State.Uses != 1 {
		t.Fatalf("linked use: %+v", h.Uses)
	}
	// A link from another gateway's movement of the same number does not
	// touch this gateway's use.
	other := link
	other.Gateway, other.Case = "gw-2", "C-99"
	h.Add(other)
	if h.Uses[0].Case != "C-21" {
		t.Fatalf("another gateway's link moved the use to %s", h.Uses[0].Case)
	}
	// The cancelled use is dropped, in step with the state.
	cancel := at(agent.KindAdjust, "OR-3")
	cancel.Gateway, cancel.Seq, cancel.Reason = "gw-1", 4, agent.CancelReason(agent.KindUse, 2)
	if flags := h.Add(cancel); flags != nil || len(h.Uses) != 0 || h.State.Uses != 0 {
		t.Fatalf("after cancel: %d uses, state %d, flags %q", len(h.Uses), h.State.Uses, flags)
	}
}
