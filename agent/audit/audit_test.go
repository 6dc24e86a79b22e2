package audit

import (
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/master"
)

var cst = time.FixedZone("CST", 8*3600)

func at(day, hour int) time.Time { return time.Date(2026, 11, day, hour, 0, 0, 0, cst) }

func mv(seq uint64, kind agent.Kind, serial string, t time.Time, mods ...func(*agent.Movement)) agent.Movement {
	m := agent.Movement{Seq: seq, Kind: kind, Item: "(01)06901234100013(21)" + serial, GTIN: "06901234100013",
		Serial: serial, Lot: "L1", Expiry: "2028-12-31", Time: t, Location: "OR-3"}
	for _, f := range mods {
		f(&m)
	}
	return m
}

func data(t *testing.T) *master.Data {
	t.Helper()
	cat := []master.CatalogueEntry{{GTIN: "06901234100013", Name: "hip stem", InsuranceCode: "C0301010010000100001", UnitPrice: 685000, Tracking: "serial"}}
	rec := []master.Recall{{GTIN: "06901234100013", Lots: []string{"BAD"}, Reason: "sterile barrier", Date: "2026-11-01"}}
	sets := []master.Settlement{
		{ID: "S1", Patient: "P1", Case: "C1", Item: "(01)06901234100013(21)1", GTIN: "06901234100013", Quantity: 1, Amount: 685000, InsuranceCode: "C0301010010000100001"},
		{ID: "S2", Patient: "P1", Case: "C1", Item: "(01)06901234100013(21)99", GTIN: "06901234100013", Quantity: 1, Amount: 685000},
		{ID: "S3", Patient: "P1", Case: "C2", Item: "(01)06901234100013(21)4", GTIN: "06901234100013", Quantity: 1, Amount: 685000, InsuranceCode: "C0301010010000100009"},
		{ID: "S4", Patient: "P1", Case: "C3", GTIN: "06901234100013", Lot: "L7", Quantity: 3, Amount: 2055000},
	}
	d, err := master.NewData("t", cat, rec, nil, sets)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func kinds(fs []Finding) map[string][]Finding {
	m := map[string][]Finding{}
	for _, f := range fs {
		m[f.Kind] = append(m[f.Kind], f)
	}
	return m
}

func TestAnomaliesAndReconcile(t *testing.T) {
	a := &Auditor{Data: data(t), Now: at(24, 18), LinkWithin: 2 * time.Hour}
	ms := []agent.Movement{
		mv(1, agent.KindReceive, "1", at(20, 9)),
		mv(2, agent.KindUse, "1", at(21, 10), func(m *agent.Movement) { m.Case = "C1" }),
		mv(3, agent.KindUse, "1", at(22, 10), func(m *agent.Movement) { m.Case = "C9" }),                                         // used twice
		mv(4, agent.KindUse, "2", at(22, 11), func(m *agent.Movement) { m.Expiry = "2026-11-21" }),                               // after expiry, never received
		mv(5, agent.KindUse, "3", at(22, 12), func(m *agent.Movement) { m.Lot = "BAD" }),                                         // recalled
		mv(6, agent.KindUse, "5", at(23, 9), func(m *agent.Movement) { m.Decision = agent.DecisionBlocked }),                     // blocked: ignored
		mv(7, agent.KindIssue, "6", at(24, 9), func(m *agent.Movement) { m.Location = "cabinet-1" }),                             // removed, not linked
		mv(8, agent.KindIssue, "7", at(24, 9)), mv(9, agent.KindUse, "7", at(24, 10), func(m *agent.Movement) { m.Case = "C4" }), // linked
		mv(10, agent.KindUse, "4", at(24, 11), func(m *agent.Movement) { m.Case = "C2"; m.Decision = agent.DecisionPending }),
		mv(11, agent.KindUse, "8", at(24, 12), func(m *agent.Movement) { m.Case = "C3"; m.Lot = "L7" }),
		{Seq: 12, Kind: agent.KindReject, Reason: "bad"},
		mv(13, agent.KindUse, "9", at(24, 13), func(m *agent.Movement) { m.Case = "C2"; m.Decision = agent.DecisionPending }),
		mv(14, agent.KindContext, "9", at(24, 14), func(m *agent.Movement) { m.Flags = []string{agent.FlagJustification} }),
	}
	for _, m := range ms {
		a.Add(m)
	}
	an := kinds(a.Anomalies())
	check := func(set map[string][]Finding, kind string, seqs ...uint64) {
		t.Helper()
		got := set[kind]
		if len(got) != len(seqs) {
			t.Fatalf("%s: %d findings %+v, want seqs %v", kind, len(got), got, seqs)
		}
		for i, s := range seqs {
			if got[i].Seq != s {
				t.Errorf("%s[%d]: seq %d, want %d", kind, i, got[i].Seq, s)
			}
		}
	}
	check(an, UsedTwice, 3)
	check(an, UsedAfterExpiry, 4)
	check(an, UsedFromRecall, 5)
	check(an, NeverReceived, 4, 5, 9, 10, 11, 13)
	check(an, RemovedNotLinked, 7)
	if b := an[BilledNeverScanned]; len(b) != 1 || b[0].Settlement != "S2" {
		t.Fatalf("billed never scanned: %+v", b)
	}
	rc := kinds(a.Reconcile())
	check(rc, UsedNotBilled, 3, 4, 5, 9, 13)
	check(rc, PendingJustification, 10)
	if m := rc[InsuranceMismatch]; len(m) != 1 || m[0].Settlement != "S3" || !strings.Contains(m[0].Text, "C0301010010000100001") {
		t.Fatalf("insurance mismatch: %+v", m)
	}
	if q := rc[QuantityMismatch]; len(q) != 1 || !strings.Contains(q[0].Text, "billed 3, used 1") {
		t.Fatalf("quantity mismatch: %+v", q)
	}
	for _, f := range append(a.Anomalies(), a.Reconcile()...) {
		if f.Text == "" {
			t.Errorf("finding without text: %+v", f)
		}
	}
}

func TestExpiryIsLocalDay(t *testing.T) {
	a := &Auditor{Data: data(t)}
	// Used at 01:00 on the 25th in Shanghai (17:00 on the 24th UTC): the
	// item expired on the 24th.
	a.Add(mv(1, agent.KindUse, "1", time.Date(2026, 11, 25, 1, 0, 0, 0, cst), func(m *agent.Movement) { m.Expiry = "2026-11-24" }))
	a.Add(mv(2, agent.KindUse, "2", time.Date(2026, 11, 24, 23, 59, 0, 0, cst), func(m *agent.Movement) { m.Expiry = "2026-11-24" }))
	if got := kinds(a.Anomalies())[UsedAfterExpiry]; len(got) != 1 || got[0].Seq != 1 {
		t.Fatalf("%+v", got)
	}
}

// TestExpiryHourAsTheChecks: a label that gives the hour expires at the
// end of that hour, for the audit as for the point-of-use checks
// (lifecycle.DaysLeft): used at 17:00 after "…T16" is used after expiry,
// used at 16:59 is not.
func TestExpiryHourAsTheChecks(t *testing.T) {
	a := &Auditor{Data: data(t)}
	a.Add(mv(1, agent.KindUse, "1", time.Date(2026, 11, 24, 17, 0, 0, 0, cst), func(m *agent.Movement) { m.Expiry = "2026-11-24T16" }))
	a.Add(mv(2, agent.KindUse, "2", time.Date(2026, 11, 24, 16, 59, 0, 0, cst), func(m *agent.Movement) { m.Expiry = "2026-11-24T16" }))
	if got := kinds(a.Anomalies())[UsedAfterExpiry]; len(got) != 1 || got[0].Seq != 1 {
		t.Fatalf("%+v", got)
	}
}

// TestUseLinkedLater: a use scanned with no case open counts in the case
// a later link names, for reconciliation too; one never linked is an
// anomaly.
func TestUseLinkedLater(t *testing.T) {
	a := &Auditor{Data: data(t), Now: at(24, 18)}
	noCase := func(m *agent.Movement) { m.Flags = []string{"no-case"}; m.Decision = agent.DecisionWarned }
	ms := []agent.Movement{
		mv(1, agent.KindReceive, "1", at(20, 9)),
		mv(2, agent.KindReceive, "5", at(20, 9)),
		mv(3, agent.KindUse, "1", at(21, 10), noCase),
		mv(4, agent.KindUse, "5", at(21, 10), noCase),
		{Seq: 5, Kind: agent.KindContext, Patient: "P1", Time: at(21, 10)}, // the wristband
		mv(6, agent.KindContext, "1", at(21, 10), func(m *agent.Movement) {
			m.Case, m.Patient, m.Flags, m.Reason = "C1", "P1", []string{agent.FlagCaseLink}, agent.LinkReason(3)
		}),
	}
	for _, m := range ms {
		a.Add(m)
	}
	f := kinds(a.Anomalies())[UsedWithoutCase]
	if len(f) != 1 || f[0].Seq != 4 {
		t.Fatalf("used without case: %+v; want movement 4 only", f)
	}
	// S1 bills item 1 in case C1: the linked use is billed, the other is
	// not.
	nb := kinds(a.Reconcile())[UsedNotBilled]
	if len(nb) != 1 || nb[0].Seq != 4 {
		t.Fatalf("used not billed: %+v; want movement 4 only", nb)
	}
	if u := a.standing(); len(u) != 2 || u[0].Case != "C1" {
		t.Fatalf("the linked use's case: %+v", u)
	}
}
