package lifecycle

import (
	"slices"
	"testing"

	"github.com/udi-edge/udi-edge/agent"
)

// orHistory is an item received and stocked, then used at an OR station,
// as the gateway's ledger holds it: every movement stamped "gw-or".
func orHistory() []agent.Movement {
	var ms []agent.Movement
	for i, k := range []agent.Kind{agent.KindReceive, agent.KindStock, agent.KindUse} {
		m := mv(k, "OR-3")
		m.Gateway, m.Seq = "gw-or", uint64(i+1)
		ms = append(ms, m)
	}
	return ms
}

// cancelUse is the adjust a station's CANCEL LAST makes for use seq,
// before the ledger has stamped its gateway and sequence number.
func cancelUse(seq uint64) agent.Movement {
	m := mv(agent.KindAdjust, "OR-3")
	m.Gateway, m.Reason = "", agent.CancelReason(agent.KindUse, seq)
	return m
}

// TestCancelBeforeRecorded: the checks decide on a CANCEL LAST before the
// ledger has stamped its gateway. It cancels the item's last use: no
// cancel-not-last, no moved-after-use, the use undone.
func TestCancelBeforeRecorded(t *testing.T) {
	s, _ := Replay(orHistory())
	next, flags := Apply(s, cancelUse(3))
	if flags != nil || next.Uses != 0 || next.Status != StatusStocked {
		t.Fatalf("unstamped cancel of the last use: %v uses %d, flags %q", next.Status, next.Uses, flags)
	}
	// The checks give it no flag, with or without this gateway's id.
	for _, gw := range []string{"", "gw-or"} {
		c := &Checker{Gateway: gw, State: func(string) (State, bool) { return s, true }}
		if d := c.Check(cancelUse(3), true); d.Flags != nil || d.Outcome != Accept {
			t.Errorf("checker gateway %q: %v %q", gw, d.Outcome, d.Flags)
		}
	}
}

// TestCancelOfAnotherGateway: an unstamped cancellation is never taken
// for a cancellation of another gateway's movement that happens to bear
// the same kind and sequence number.
func TestCancelOfAnotherGateway(t *testing.T) {
	ms := orHistory()
	other := mv(agent.KindUse, "OR-9")
	other.Gateway, other.Seq = "gw-b", 3 // another gateway's use 3, now the item's last
	ms = append(ms[:2], other)
	s, _ := Replay(ms)
	if s.Gateway != "gw-or" || !s.ManyGateways {
		t.Fatalf("history of two gateways: %q many %v", s.Gateway, s.ManyGateways)
	}
	next, flags := Apply(s, cancelUse(3))
	if next.Uses != 1 || !slices.Equal(flags, []string{FlagCancelNotLast, FlagMovedAfterUse}) {
		t.Errorf("unstamped cancel in a mixed history: uses %d, flags %q", next.Uses, flags)
	}
	// Stamped, it is exact: gw-b's cancel undoes gw-b's use, gw-or's does not.
	for gw, undone := range map[string]bool{"gw-b": true, "gw-or": false} {
		c := cancelUse(3)
		c.Gateway = gw
		if next, _ := Apply(s, c); (next.Uses == 0) != undone {
			t.Errorf("cancel stamped %s: uses %d", gw, next.Uses)
		}
		ck := &Checker{Gateway: gw, State: func(string) (State, bool) { return s, true }}
		if d := ck.Check(cancelUse(3), true); (d.Flags == nil) != undone {
			t.Errorf("checker of %s: flags %q", gw, d.Flags)
		}
	}
	// A history all of another gateway: the unstamped cancel is taken as
	// that gateway's, the one whose ledger holds the item's history.
	only := orHistory()
	for i := range only {
		only[i].Gateway = "gw-b"
	}
	s, _ = Replay(only)
	if next, flags := Apply(s, cancelUse(3)); next.Uses != 0 || flags != nil {
		t.Errorf("unstamped cancel, one-gateway history: uses %d flags %q", next.Uses, flags)
	}
}
