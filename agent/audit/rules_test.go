package audit

import (
	"slices"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/lifecycle"
	"github.com/udi-edge/udi-edge/agent/master"
)

// orGateway stamps a movement as the ledger records it on the OR gateway.
func orGateway(m *agent.Movement) { m.Gateway = "gw-or" }

// wrongItemRescan is "wrong item, cancel, rescan" at an OR station exactly
// as the agent records it: the wristband (1), item X used (2), CANCEL LAST
// (3: an adjust cancelling use 2, carrying the flags the checks gave it),
// item X used again (4). Every movement has its gateway and sequence
// number, as the ledger filled them in.
func wrongItemRescan(adjustFlags []string) []agent.Movement {
	inCase := func(m *agent.Movement) { m.Patient = "004217"; m.Case = "C1"; m.Decision = agent.DecisionAccepted }
	cancel := mv(3, agent.KindAdjust, "1", at(21, 10), orGateway, inCase, func(m *agent.Movement) {
		m.Reason = agent.CancelReason(agent.KindUse, 2)
		m.Flags = adjustFlags
	})
	return []agent.Movement{
		{Gateway: "gw-or", Seq: 1, Kind: agent.KindContext, Time: at(21, 10), Patient: "004217", Reason: "patient identified: case open", Location: "OR-3"},
		mv(2, agent.KindUse, "1", at(21, 10), orGateway, inCase),
		cancel,
		mv(4, agent.KindUse, "1", at(21, 10), orGateway, inCase),
	}
}

// TestWrongItemCancelRescan: the cancelled use is no use. The rescan is
// neither used twice nor billed twice, whether the adjust was recorded
// with no flags or with the flags the checks gave it before they knew its
// gateway ("cancel-not-last moved-after-use").
func TestWrongItemCancelRescan(t *testing.T) {
	for name, flags := range map[string][]string{
		"no flags":     nil,
		"checks flags": {lifecycle.FlagCancelNotLast, lifecycle.FlagMovedAfterUse},
	} {
		t.Run(name, func(t *testing.T) {
			ms := wrongItemRescan(flags)
			a := &Auditor{Data: data(t), Now: at(24, 18), LinkWithin: 2 * time.Hour}
			for _, m := range ms {
				a.Add(m)
			}
			// Item 1 was never received on this gateway: that, on the
			// standing use, is the only anomaly.
			var an []Finding
			for _, f := range a.Anomalies() {
				if f.Item == "(01)06901234100013(21)1" {
					an = append(an, f)
				}
			}
			if len(an) != 1 || an[0].Kind != NeverReceived || an[0].Seq != 4 {
				t.Fatalf("anomalies of item 1: %+v; want never-received on 4 only", an)
			}
			// S1 bills item 1 once: the one use stands and is billed.
			for _, f := range a.Reconcile() {
				if f.Item == "(01)06901234100013(21)1" {
					t.Errorf("reconcile: %+v", f)
				}
			}

			// Received first, the sequence leaves no anomaly about item 1.
			a = &Auditor{Data: data(t), Now: at(24, 18), LinkWithin: 2 * time.Hour}
			a.Add(mv(9, agent.KindReceive, "1", at(20, 9), orGateway))
			for _, m := range ms {
				a.Add(m)
			}
			for _, f := range a.Anomalies() {
				if f.Item == "(01)06901234100013(21)1" {
					t.Errorf("anomaly after receipt: %+v", f)
				}
			}

			// With no settlement line, exactly one use is unbilled.
			a = &Auditor{Data: emptyData(t)}
			for _, m := range ms {
				a.Add(m)
			}
			if nb := kinds(a.Reconcile())[UsedNotBilled]; len(nb) != 1 || nb[0].Seq != 4 {
				t.Fatalf("used not billed: %+v; want movement 4 only", nb)
			}
		})
	}
}

func emptyData(t *testing.T) *master.Data {
	t.Helper()
	d, err := master.NewData("t", nil, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestPutBackIsLinked: an item taken from a cabinet and put back into one
// (a stock movement, or the cabinet's count seeing it again) is accounted
// for, as the running agent's sweeper holds; a transfer through a door, a
// count elsewhere and a cancelled use are not.
func TestPutBackIsLinked(t *testing.T) {
	cabinet := func(m *agent.Movement) { m.Location = "cabinet-1"; m.Symbology = "EPC" }
	elsewhere := func(m *agent.Movement) { m.Location = "OR-3" }
	issue := func(seq uint64, serial string) agent.Movement {
		return mv(seq, agent.KindIssue, serial, at(24, 9), cabinet)
	}
	a := &Auditor{Data: emptyData(t), Now: at(24, 18), LinkWithin: 2 * time.Hour}
	ms := []agent.Movement{
		issue(1, "1"), mv(2, agent.KindStock, "1", at(24, 10), cabinet), // put back
		issue(3, "2"), mv(4, agent.KindCount, "2", at(24, 10), cabinet), // seen back in its cabinet
		issue(5, "3"), mv(6, agent.KindTransfer, "3", at(24, 10), elsewhere), // through a door: not linked
		issue(7, "4"), mv(8, agent.KindCount, "4", at(24, 10), elsewhere), // seen elsewhere: not linked
		issue(9, "5"), mv(10, agent.KindUse, "5", at(24, 10), elsewhere), // used, then the use cancelled
		mv(11, agent.KindAdjust, "5", at(24, 10), elsewhere, func(m *agent.Movement) { m.Reason = agent.CancelReason(agent.KindUse, 10) }),
		issue(12, "6"), mv(13, agent.KindQuarantine, "6", at(24, 10)), // held: linked
		issue(14, "7"), mv(15, agent.KindReturn, "7", at(24, 10), func(m *agent.Movement) { m.Decision = agent.DecisionBlocked }), // blocked: did not happen
	}
	for _, m := range ms {
		a.Add(m)
	}
	var got []uint64
	for _, f := range kinds(a.Anomalies())[RemovedNotLinked] {
		got = append(got, f.Seq)
	}
	if want := []uint64{5, 7, 9, 14}; !slices.Equal(got, want) {
		t.Fatalf("removed not linked: %v, want %v", got, want)
	}
}

// TestLotLineQuantity: a settlement line naming a product with no lot is
// checked against the uses it bills, like a line naming a lot; a
// cancelled use is billed by nothing and counts in no quantity.
func TestLotLineQuantity(t *testing.T) {
	sets := []master.Settlement{
		{ID: "S5", Patient: "P1", Case: "C5", GTIN: "06901234100013", Quantity: 2, Amount: 1370000},
		{ID: "S6", Patient: "P1", Case: "C6", GTIN: "06901234100013", Lot: "L1", Quantity: 1, Amount: 685000},
	}
	d, err := master.NewData("t", nil, nil, nil, sets)
	if err != nil {
		t.Fatal(err)
	}
	a := &Auditor{Data: d}
	inCase := func(c string) func(*agent.Movement) { return func(m *agent.Movement) { m.Case = c } }
	for _, m := range []agent.Movement{
		mv(1, agent.KindUse, "1", at(24, 9), inCase("C5")), // S5 bills 2, one use
		mv(2, agent.KindUse, "2", at(24, 9), inCase("C6")), // S6's only use, cancelled
		mv(3, agent.KindAdjust, "2", at(24, 9), inCase("C6"), func(m *agent.Movement) { m.Reason = agent.CancelReason(agent.KindUse, 2) }),
	} {
		a.Add(m)
	}
	rc := kinds(a.Reconcile())
	if q := rc[QuantityMismatch]; len(q) != 1 || q[0].Text != "06901234100013||C5: billed 2, used 1" {
		t.Errorf("quantity mismatch: %+v", q)
	}
	if b := rc[BilledNeverScanned]; len(b) != 1 || b[0].Settlement != "S6" {
		t.Errorf("billed never scanned: %+v", b)
	}
}

// TestCancelledPendingUse: an imported item's use that was cancelled waits
// for no justification; the rescan does, until justified.
func TestCancelledPendingUse(t *testing.T) {
	pending := func(m *agent.Movement) { m.Case = "C2"; m.Decision = agent.DecisionPending }
	ms := []agent.Movement{
		mv(1, agent.KindUse, "4", at(24, 9), pending),
		mv(2, agent.KindAdjust, "4", at(24, 9), func(m *agent.Movement) { m.Case = "C2"; m.Reason = agent.CancelReason(agent.KindUse, 1) }),
		mv(3, agent.KindUse, "4", at(24, 9), pending),
	}
	a := &Auditor{Data: data(t)}
	for _, m := range ms {
		a.Add(m)
	}
	if p := kinds(a.Reconcile())[PendingJustification]; len(p) != 1 || p[0].Seq != 3 {
		t.Fatalf("pending justification: %+v; want movement 3 only", p)
	}
	a.Add(agent.Justify(agent.Movement{Seq: 4, Time: at(24, 10)}, ms[2], "R03"))
	if p := kinds(a.Reconcile())[PendingJustification]; len(p) != 0 {
		t.Fatalf("pending justification after the justification: %+v", p)
	}
}

// TestLotKeyUsedAgain: a key naming a lot names many items (lifecycle.Unit):
// its uses are no used-twice, as at the point of use.
func TestLotKeyUsedAgain(t *testing.T) {
	lotKey := func(m *agent.Movement) { m.Item, m.Serial = "(01)06901234100013(10)L1", "" }
	a := &Auditor{Data: emptyData(t)}
	a.Add(mv(1, agent.KindReceive, "", at(20, 9), lotKey))
	a.Add(mv(2, agent.KindUse, "", at(21, 9), lotKey))
	a.Add(mv(3, agent.KindUse, "", at(21, 10), lotKey))
	if f := a.Anomalies(); len(f) != 0 {
		t.Fatalf("anomalies of a lot key used twice: %+v", f)
	}
}
