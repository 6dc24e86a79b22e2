package lifecycle

import (
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
)

// removedThen is an item stocked in CAB-1, taken from it at 10:05 (seq
// 3), then moved by each of then, numbered on.
func removedThen(then ...agent.Movement) []agent.Movement {
	ms := []agent.Movement{mv(agent.KindReceive, "WH"), mv(agent.KindStock, "CAB-1"), mv(agent.KindIssue, "CAB-1")}
	ms = append(ms, then...)
	for i := range ms {
		ms[i].Seq = uint64(i + 1)
		ms[i].Time = ms[i].Time.Add(time.Duration(i) * time.Minute)
	}
	return ms
}

func at(k agent.Kind, loc string, mods ...func(*agent.Movement)) agent.Movement {
	m := mv(k, loc)
	for _, f := range mods {
		f(&m)
	}
	return m
}

// TestRemovalLinked is the rule of the "removed but not linked" alert, as
// the running agent's sweeper asks it of an item's trace.
func TestRemovalLinked(t *testing.T) {
	blocked := func(m *agent.Movement) { m.Decision = agent.DecisionBlocked }
	cancels := func(k agent.Kind, seq uint64) func(*agent.Movement) {
		return func(m *agent.Movement) { m.Reason = agent.CancelReason(k, seq) }
	}
	removedAt := removedThen()[2].Time
	for _, tc := range []struct {
		name   string
		then   []agent.Movement
		linked bool
	}{
		{"nothing since", nil, false},
		{"used", []agent.Movement{at(agent.KindUse, "OR-3")}, true},
		{"returned", []agent.Movement{at(agent.KindReturn, "WH")}, true},
		{"wasted", []agent.Movement{at(agent.KindWaste, "OR-3")}, true},
		{"disposed", []agent.Movement{at(agent.KindDispose, "WH")}, true},
		{"quarantined", []agent.Movement{at(agent.KindQuarantine, "Q")}, true},
		{"received", []agent.Movement{at(agent.KindReceive, "WH")}, true},
		{"put back in its cabinet", []agent.Movement{at(agent.KindStock, "CAB-1")}, true},
		{"put in another cabinet", []agent.Movement{at(agent.KindStock, "CAB-2")}, true},
		{"counted in its cabinet", []agent.Movement{at(agent.KindCount, "CAB-1")}, true},
		{"adjusted", []agent.Movement{at(agent.KindAdjust, "CAB-1")}, true},
		{"counted elsewhere", []agent.Movement{at(agent.KindCount, "OR-3")}, false},
		{"through a door", []agent.Movement{at(agent.KindTransfer, "CORRIDOR")}, false},
		{"commissioned", []agent.Movement{at(agent.KindCommission, "WH")}, false},
		{"context scan", []agent.Movement{at(agent.KindContext, "OR-3")}, false},
		{"use blocked", []agent.Movement{at(agent.KindUse, "OR-3", blocked)}, false},
		{"use cancelled", []agent.Movement{at(agent.KindUse, "OR-3"), at(agent.KindAdjust, "OR-3", cancels(agent.KindUse, 4))}, false},
		{"stale cancel", []agent.Movement{at(agent.KindAdjust, "OR-3", cancels(agent.KindUse, 2))}, false},
		{"removal cancelled", []agent.Movement{at(agent.KindAdjust, "CAB-1", cancels(agent.KindIssue, 3))}, true},
		{"put back, taken again", []agent.Movement{at(agent.KindStock, "CAB-1"), at(agent.KindIssue, "CAB-1")}, true},
		{"moved on, then used", []agent.Movement{at(agent.KindTransfer, "CORRIDOR"), at(agent.KindUse, "OR-3")}, true},
	} {
		ms := removedThen(tc.then...)
		if got := RemovalLinked(ms, removedAt); got != tc.linked {
			t.Errorf("%s: linked %v, want %v", tc.name, got, tc.linked)
		}
		// The auditor's view is the same fold: no removal outstanding.
		if s, _ := Replay(ms); s.Removal.Outstanding() == tc.linked && tc.name != "put back, taken again" {
			t.Errorf("%s: removal outstanding %v", tc.name, s.Removal.Outstanding())
		}
	}
	// The removal is the issue movement's.
	s, _ := Replay(removedThen())
	if want := (Removal{Gateway: "gw-1", Seq: 3, Time: removedAt, Location: "CAB-1"}); s.Removal != want {
		t.Errorf("removal %+v, want %+v", s.Removal, want)
	}
}
