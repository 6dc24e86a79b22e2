package audit

import (
	"slices"
	"testing"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/master"
)

// TestTraceAndReconcileAgree: the settlement lines trace prints for an
// item are the lines reconcile finds billing its uses, on the same
// movements: a use linked to a case later is billed in that case, a
// cancelled or blocked use by nothing.
func TestTraceAndReconcileAgree(t *testing.T) {
	d := data(t) // S1 bills item 1 in C1, S2 item 99, S3 item 4 in C2, S4 lot L7 ×3 in C3
	lotL7 := func(m *agent.Movement) { m.Lot = "L7" }
	ms := []agent.Movement{
		mv(1, agent.KindUse, "1", at(21, 10), func(m *agent.Movement) { m.Case = "C1" }),
		mv(2, agent.KindUse, "2", at(21, 11), lotL7, func(m *agent.Movement) { m.Flags = []string{"no-case"} }),
		mv(3, agent.KindContext, "2", at(21, 11), func(m *agent.Movement) {
			m.Case, m.Patient, m.Flags, m.Reason = "C3", "P1", []string{agent.FlagCaseLink}, agent.LinkReason(2)
		}),
		mv(4, agent.KindUse, "3", at(21, 12), lotL7, func(m *agent.Movement) { m.Case = "C3" }),
		mv(5, agent.KindAdjust, "3", at(21, 12), func(m *agent.Movement) { m.Reason = agent.CancelReason(agent.KindUse, 4) }),
		mv(6, agent.KindUse, "4", at(21, 13), func(m *agent.Movement) { m.Case = "C2"; m.Decision = agent.DecisionBlocked }),
	}
	ids := func(ss []master.Settlement) []string {
		var out []string
		for _, s := range ss {
			out = append(out, s.ID)
		}
		return out
	}
	if got := ids(SettlementsFor(d, ms)); !slices.Equal(got, []string{"S1", "S4"}) {
		t.Fatalf("trace of every movement: %v, want S1 S4", got)
	}

	a := &Auditor{Data: d}
	for _, m := range ms {
		a.Add(m)
	}
	rc := kinds(a.Reconcile())
	var never []string
	for _, f := range rc[BilledNeverScanned] {
		never = append(never, f.Settlement)
	}
	if !slices.Equal(never, []string{"S2", "S3"}) {
		t.Errorf("billed never scanned: %v, want S2 S3", never)
	}
	if q := rc[QuantityMismatch]; len(q) != 1 || q[0].Text != "06901234100013|L7|C3: billed 3, used 1" {
		t.Errorf("quantity mismatch: %+v", q)
	}
	unbilled := map[string]bool{}
	for _, f := range rc[UsedNotBilled] {
		unbilled[f.Item] = true
	}
	// Item by item, trace shows a line exactly where reconcile finds the
	// use billed.
	for _, serial := range []string{"1", "2", "3", "4"} {
		key := "(01)06901234100013(21)" + serial
		var trace []agent.Movement
		uses := 0
		for _, m := range ms {
			if m.Item == key {
				trace = append(trace, m)
			}
		}
		for _, u := range a.standing() {
			if u.Item == key {
				uses++
			}
		}
		lines := SettlementsFor(d, trace)
		if uses > 0 && (len(lines) > 0) == unbilled[key] {
			t.Errorf("item %s: trace shows %v, reconcile unbilled %v", serial, ids(lines), unbilled[key])
		}
		if uses == 0 && len(lines) > 0 {
			t.Errorf("item %s has no use standing, trace shows %v", serial, ids(lines))
		}
	}
}

// TestBills is the matching rule, line by line.
func TestBills(t *testing.T) {
	use := mv(1, agent.KindUse, "1", at(21, 10), func(m *agent.Movement) { m.Case = "C1" })
	for _, tc := range []struct {
		name string
		s    master.Settlement
		m    func(*agent.Movement)
		want bool
	}{
		{"its item", master.Settlement{Item: use.Item, Case: "C1"}, nil, true},
		{"its item, billed in another case", master.Settlement{Item: use.Item, Case: "A-77"}, nil, true},
		{"another item", master.Settlement{Item: "(01)06901234100013(21)2", Case: "C1"}, nil, false},
		{"its lot in its case", master.Settlement{GTIN: use.GTIN, Lot: "L1", Case: "C1"}, nil, true},
		{"its product in its case", master.Settlement{GTIN: use.GTIN, Case: "C1"}, nil, true},
		{"another lot", master.Settlement{GTIN: use.GTIN, Lot: "L2", Case: "C1"}, nil, false},
		{"another case", master.Settlement{GTIN: use.GTIN, Lot: "L1", Case: "C2"}, nil, false},
		{"another product", master.Settlement{GTIN: "06901234100014", Lot: "L1", Case: "C1"}, nil, false},
		{"a use with no case", master.Settlement{GTIN: use.GTIN, Case: "C1"}, func(m *agent.Movement) { m.Case = "" }, false},
		{"product from the key", master.Settlement{GTIN: use.GTIN, Case: "C1"}, func(m *agent.Movement) { m.GTIN = "" }, true},
		{"a blocked use", master.Settlement{Item: use.Item}, func(m *agent.Movement) { m.Decision = agent.DecisionBlocked }, false},
		{"not a use", master.Settlement{Item: use.Item}, func(m *agent.Movement) { m.Kind = agent.KindIssue }, false},
	} {
		u := use
		if tc.m != nil {
			tc.m(&u)
		}
		if got := Bills(tc.s, u); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
