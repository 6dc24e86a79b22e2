package cabinet_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/cabinet"
	"github.com/udi-edge/udi-edge/agent/presence"
	"github.com/udi-edge/udi-edge/agent/testkit"
)

func TestPresenceMovements(t *testing.T) {
	l := &testkit.MemLedger{}
	known := "(01)06901234010014(21)100101"
	l.Add(agent.Movement{Item: known, Kind: agent.KindReceive})
	p := &cabinet.Presence{Ledger: l, Zones: map[string]cabinet.Zone{"cab1-s1": {Name: "cab1-s1", Location: "cabinet-1"}}}
	at := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	ctx := context.Background()
	cases := []struct {
		name   string
		ev     presence.Event
		kind   agent.Kind
		loc    string
		reason string
	}{
		{"baseline", presence.Event{Kind: presence.Placed, Baseline: true, Tag: known, Zone: "cab1-s1"}, agent.KindCount, "cabinet-1", "start-up"},
		{"placed", presence.Event{Kind: presence.Placed, Tag: known, Zone: "cab1-s1"}, agent.KindStock, "cabinet-1", ""},
		{"removed", presence.Event{Kind: presence.Removed, Tag: known, Zone: "cab1-s1", Rounds: 8}, agent.KindIssue, "cabinet-1", "after 8 inventory rounds"},
		{"portal in", presence.Event{Kind: presence.PortalIn, Tag: known, Zone: "dock-in", Portal: "dock"}, agent.KindTransfer, "dock-in", "through dock, in"},
		{"portal out", presence.Event{Kind: presence.PortalOut, Tag: known, Zone: "dock-out", Portal: "dock"}, agent.KindTransfer, "dock-out", "through dock, out"},
		{"seen", presence.Event{Kind: presence.Seen, Tag: known, Zone: "or3"}, agent.KindCount, "or3", ""},
		{"unknown placed", presence.Event{Kind: presence.Placed, Tag: "urn:epc:raw:96.xE2801160600002054CC2096F", Zone: "cab1-s1"}, agent.KindStock, "cabinet-1", "unknown tag"},
		{"unknown seen", presence.Event{Kind: presence.Seen, Tag: "(01)06901234010021(21)9", Zone: "or3"}, agent.KindCount, "or3", "unknown tag"},
	}
	for _, tc := range cases {
		tc.ev.Time, tc.ev.Reader = at, "cab1"
		m := p.Movement(ctx, tc.ev, []byte{0x30, 0x00, 1, 2})
		if m.Kind != tc.kind || m.Location != tc.loc || m.Item != tc.ev.Tag || m.Station != "cab1" || !m.Time.Equal(at) {
			t.Errorf("%s: %+v", tc.name, m)
		}
		if (tc.reason == "") != (m.Reason == "") || !strings.Contains(m.Reason, tc.reason) {
			t.Errorf("%s: reason %q, want %q", tc.name, m.Reason, tc.reason)
		}
	}
	var got []agent.Outcome
	p.Answer = func(o agent.Outcome) { got = append(got, o) }
	p.Handle(ctx, presence.Event{Kind: presence.Removed, Tag: known, Zone: "cab1-s1", Time: at}, nil)
	p.Wait()
	if len(got) != 1 || got[0].Verdict != agent.VerdictAccepted || got[0].Movement.Seq != 2 {
		t.Fatalf("outcomes %+v", got)
	}
}

// TestPresenceRemovalChecked: an item taken from a cabinet goes through
// the checks; a decision to block becomes a warning (the item is gone
// already), recorded with its reasons and flags, and only removals are
// checked.
func TestPresenceRemovalChecked(t *testing.T) {
	l := &testkit.MemLedger{}
	const known = "(01)09520123456788(21)77"
	l.Add(agent.Movement{Seq: 1, Kind: agent.KindReceive, Item: known})
	var checked []agent.Kind
	var outs []agent.Outcome
	var mu sync.Mutex
	p := &cabinet.Presence{Ledger: l, Zones: map[string]cabinet.Zone{"cab1-s1": {Name: "cab1-s1", Location: "cabinet-1"}},
		Decide: func(m agent.Movement, _ bool) agent.Decision {
			checked = append(checked, m.Kind)
			return agent.Decision{Outcome: agent.DecisionBlocked, Reasons: []string{"expired 2025-05-31"}, Flags: []string{"expired"}}
		},
		Answer: func(o agent.Outcome) { mu.Lock(); outs = append(outs, o); mu.Unlock() },
	}
	ctx := context.Background()
	p.Handle(ctx, presence.Event{Kind: presence.Placed, Tag: known, Zone: "cab1-s1"}, nil)
	p.Handle(ctx, presence.Event{Kind: presence.Removed, Tag: known, Zone: "cab1-s1", Rounds: 8}, nil)
	p.Wait()
	if !slices.Equal(checked, []agent.Kind{agent.KindIssue}) {
		t.Fatalf("checked %v; want the removal only", checked)
	}
	ms := l.All()
	got := ms[len(ms)-1]
	if got.Kind != agent.KindIssue || got.Decision != agent.DecisionWarned || !slices.Equal(got.Flags, []string{"expired"}) ||
		!strings.Contains(got.Reason, "after 8 inventory rounds; expired 2025-05-31") {
		t.Fatalf("removal recorded as %+v", got)
	}
	mu.Lock()
	defer mu.Unlock()
	// The in-memory ledger answers on goroutines of its own: in any order.
	verdicts := map[agent.Kind]agent.Verdict{}
	for _, o := range outs {
		verdicts[o.Movement.Kind] = o.Verdict
	}
	if len(outs) != 2 || verdicts[agent.KindStock] != agent.VerdictAccepted || verdicts[agent.KindIssue] != agent.VerdictWarned {
		t.Fatalf("outcomes %+v", outs)
	}
}
