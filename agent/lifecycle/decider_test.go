package lifecycle

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/master"
)

const (
	hipGTIN    = "06901234100013"
	stentGTIN  = "06901234200027" // imported
	unknownGTN = "06901234999990"
)

// masterData returns recalls of lot BAD of the hip stem and, withCat, a
// catalogue of the hip stem and an imported stent.
func masterData(t *testing.T, withCat bool) *master.Data {
	t.Helper()
	var cat []master.CatalogueEntry
	if withCat {
		cat = []master.CatalogueEntry{
			{GTIN: hipGTIN, Name: "hip stem", Tracking: "serial"},
			{GTIN: stentGTIN, Name: "stent", Imported: true, Tracking: "serial"},
		}
	}
	rec := []master.Recall{{GTIN: hipGTIN, Lots: []string{"BAD"}, Reason: "sterile barrier", Date: "2026-11-01"}}
	d, err := master.NewData("t", cat, rec, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// orUse is a use in an open case at OR-3, not yet recorded.
func orUse(gtin, serial string, mods ...func(*agent.Movement)) agent.Movement {
	m := agent.Movement{Kind: agent.KindUse, Item: "(01)" + gtin + "(21)" + serial, GTIN: gtin, Serial: serial,
		Lot: "L1", Expiry: "2028-12-31", Location: "OR-3", Case: "C-20", Time: time.Date(2026, 11, 24, 10, 0, 0, 0, shanghai)}
	for _, f := range mods {
		f(&m)
	}
	return m
}

func decider(t *testing.T, d *master.Data, history func(string) ([]agent.Movement, error)) *Decider {
	t.Helper()
	dc, err := NewDecider(DeciderConfig{
		Gateway: "gw-or",
		Now:     func() time.Time { return time.Date(2026, 11, 24, 10, 5, 0, 0, shanghai) },
		Master:  func() *master.Data { return d },
		History: history,
	})
	if err != nil {
		t.Fatal(err)
	}
	return dc
}

// TestDeciderNoCatalogue: without a catalogue on the gateway, the checks
// that need one do not run (no item is "unknown", none "imported"); the
// recalls are checked all the same. With one, they run.
func TestDeciderNoCatalogue(t *testing.T) {
	for _, withCat := range []bool{false, true} {
		dc := decider(t, masterData(t, withCat), nil)
		unknown := dc.Decide(orUse(unknownGTN, "Q1"), true)
		stent := dc.Decide(orUse(stentGTIN, "P7"), true)
		recalled := dc.Decide(orUse(hipGTIN, "S9", func(m *agent.Movement) { m.Lot = "BAD" }), true)
		if recalled.Outcome != agent.DecisionBlocked || !slices.Contains(recalled.Flags, string(CheckRecalled)) {
			t.Errorf("catalogue %v: recalled lot %+v", withCat, recalled)
		}
		want := map[bool][2]string{false: {agent.DecisionAccepted, agent.DecisionAccepted}, true: {agent.DecisionWarned, agent.DecisionPending}}[withCat]
		if unknown.Outcome != want[0] || slices.Contains(unknown.Flags, string(CheckUnknownItem)) != withCat {
			t.Errorf("catalogue %v: unknown item %+v", withCat, unknown)
		}
		if stent.Outcome != want[1] || slices.Contains(stent.Flags, string(CheckImported)) != withCat {
			t.Errorf("catalogue %v: imported item %+v", withCat, stent)
		}
	}
	// No master data at all is no catalogue.
	if d := decider(t, nil, nil).Decide(orUse(unknownGTN, "Q1"), true); d.Outcome != agent.DecisionAccepted || d.Flags != nil {
		t.Errorf("no master data: %+v", d)
	}
}

// TestDeciderHistoryUnreadable: a history the ledger cannot read still
// gives a decision, as with no history, warned and flagged; the error
// reaches the caller's hook.
func TestDeciderHistoryUnreadable(t *testing.T) {
	errPage := errors.New("page 7 damaged")
	used := numbered(orUse(hipGTIN, "S1"))
	used[0].Gateway = "gw-or"
	readable := true
	history := func(key string) ([]agent.Movement, error) {
		if !readable {
			return nil, errPage
		}
		if key == used[0].Item {
			return used, nil
		}
		return nil, nil
	}
	var told []error
	dc, err := NewDecider(DeciderConfig{
		Gateway: "gw-or", Now: func() time.Time { return time.Date(2026, 11, 24, 10, 5, 0, 0, shanghai) },
		Master: func() *master.Data { return masterData(t, true) }, History: history,
		HistoryError: func(key string, err error) { told = append(told, err) },
	})
	if err != nil {
		t.Fatal(err)
	}
	again := orUse(hipGTIN, "S1")
	// Readable, the history blocks the second use.
	if d := dc.Decide(again, true); d.Outcome != agent.DecisionBlocked || !slices.Contains(d.Flags, string(CheckUsedTwice)) {
		t.Fatalf("readable history: %+v", d)
	}
	readable = false
	d := dc.Decide(again, true)
	if d.Outcome != agent.DecisionWarned || !slices.Equal(d.Flags, []string{string(CheckHistoryUnreadable)}) ||
		!slices.Equal(d.Reasons, []string{HistoryUnreadableText}) {
		t.Errorf("unreadable history: %+v", d)
	}
	// A block from the label still blocks; the warning follows it.
	expired := orUse(hipGTIN, "S2", func(m *agent.Movement) { m.Expiry = "2025-05-31" })
	d = dc.Decide(expired, true)
	if d.Outcome != agent.DecisionBlocked || !slices.Equal(d.Flags, []string{string(CheckExpired), string(CheckHistoryUnreadable)}) ||
		len(d.Reasons) != 2 || d.Reasons[1] != HistoryUnreadableText {
		t.Errorf("expired, unreadable history: %+v", d)
	}
	// Any movement the history is read for is warned, a return too.
	ret := orUse(hipGTIN, "S1", func(m *agent.Movement) { m.Kind = agent.KindReturn })
	if d := dc.Decide(ret, true); d.Outcome != agent.DecisionWarned || !slices.Equal(d.Flags, []string{string(CheckHistoryUnreadable)}) {
		t.Errorf("return, unreadable history: %+v", d)
	}
	if len(told) != 3 || !errors.Is(told[0], errPage) {
		t.Errorf("errors told: %v", told)
	}
	// With no ledger at all there is nothing unreadable: no flag.
	if d := decider(t, masterData(t, true), nil).Decide(again, true); d.Outcome != agent.DecisionAccepted || d.Flags != nil {
		t.Errorf("no history kept: %+v", d)
	}
}

// TestDeciderCancel: the station's CANCEL LAST, decided before the
// ledger stamps it, cancels the last use of this gateway: accepted, with
// no lifecycle flag; the rescan is no second use.
func TestDeciderCancel(t *testing.T) {
	ms := numbered(orUse(hipGTIN, "S1"))
	ms[0].Gateway = "gw-or"
	history := func(string) ([]agent.Movement, error) { return ms, nil }
	dc := decider(t, masterData(t, true), history)
	cancel := orUse(hipGTIN, "S1", func(m *agent.Movement) {
		m.Kind, m.Reason = agent.KindAdjust, agent.CancelReason(agent.KindUse, 1)
	})
	if d := dc.Decide(cancel, true); d.Outcome != agent.DecisionAccepted || d.Flags != nil {
		t.Fatalf("cancel: %+v", d)
	}
	cancel.Gateway, cancel.Seq = "gw-or", 2
	ms = append(ms, cancel)
	// The item was never received here: that is recorded, nothing else.
	if d := dc.Decide(orUse(hipGTIN, "S1"), true); d.Outcome != agent.DecisionAccepted || !slices.Equal(d.Flags, []string{FlagNeverReceived}) {
		t.Fatalf("rescan: %+v", d)
	}
}

func TestNewDeciderRules(t *testing.T) {
	_, err := NewDecider(DeciderConfig{Rules: Rules{"no-cse": SeverityWarn}})
	var re *RuleError
	if !errors.As(err, &re) || !errors.Is(err, ErrUnknownCheck) || re.Key != "no-cse" {
		t.Fatalf("bad rules: %v", err)
	}
}
