package count_test

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/count"
	"github.com/udi-edge/udi-edge/agent/lifecycle"
)

const (
	stem  = "09520123456788"
	gauze = "06901234100013"
)

func unit(serial string) string { return "(01)" + stem + "(21)" + serial }

var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.FixedZone("CST", 8*3600))

// ledger numbers movements from 1, as a gateway's ledger does.
func ledger(ms ...agent.Movement) []agent.Movement {
	for i := range ms {
		ms[i].Seq, ms[i].Gateway, ms[i].Time = uint64(i+1), "gw", t0.Add(time.Duration(i)*time.Minute)
	}
	return ms
}

func of(ms []agent.Movement, key string) []agent.Movement {
	var out []agent.Movement
	for _, m := range ms {
		if m.Item == key || m.Tag == key {
			out = append(out, m)
		}
	}
	return out
}

// TestCompare: each kind of difference, from a ledger's states, in the
// fixed order; what matches is counted, not reported.
func TestCompare(t *testing.T) {
	const wh = "WH"
	ms := ledger(
		agent.Movement{Kind: agent.KindReceive, Item: unit("S1"), Location: wh}, // 1: found here
		agent.Movement{Kind: agent.KindReceive, Item: unit("S2"), Location: wh}, // 2: missing
		agent.Movement{Kind: agent.KindReceive, Item: unit("S3"), Location: "W5"},
		agent.Movement{Kind: agent.KindReceive, Item: unit("S4"), Location: wh},
		agent.Movement{Kind: agent.KindUse, Item: unit("S4"), Location: "OR-3"}, // 5
		agent.Movement{Kind: agent.KindReceive, Item: unit("S5"), Location: wh},
		agent.Movement{Kind: agent.KindIssue, Item: unit("S5"), Location: wh}, // 7
		agent.Movement{Kind: agent.KindStock, Item: "urn:epc:raw:96.0A0B", Location: wh},
		agent.Movement{Kind: agent.KindReceive, Item: unit("S6"), Location: wh},
		agent.Movement{Kind: agent.KindQuarantine, Item: unit("S6"), Location: wh}, // 10: held here, found
		agent.Movement{Kind: agent.KindReceive, Item: unit("S7"), Location: wh},
		agent.Movement{Kind: agent.KindWaste, Item: unit("S7"), Location: wh},
		agent.Movement{Kind: agent.KindAdjust, Item: unit("S7"), Location: wh}, // 13: put back: not consumed
	)
	seen := func(key string) count.Seen {
		st, consumed := count.StateAt(of(ms, key), key, 100, 0)
		return count.Seen{Key: key, Product: lifecycle.Product(agent.Movement{Item: key}), State: st, Consumed: consumed}
	}
	in := count.Input{
		Location: wh,
		Expected: []count.Unit{{Key: unit("S1")}, {Key: unit("S2"), Product: stem}, {Key: unit("S6")}, {Key: unit("S7")}},
		Seen:     []count.Seen{seen(unit("S1")), seen(unit("S3")), seen(unit("S4")), seen(unit("S5")), seen("urn:epc:raw:96.0A0B"), seen(unit("S6")), seen(unit("S7")), seen(unit("S9"))},
		Lots: []count.Lot{
			{Key: "(01)" + gauze + "(10)G1", Lot: "G1", Start: 5, End: 5, Counted: 3},
			{Key: "(01)" + gauze + "(10)G2", Lot: "G2", Start: 2, End: 2, Counted: 4},
			{Key: "(01)" + gauze + "(10)G3", Lot: "G3", Start: 2, End: 2, Counted: 2},
			{Key: "(01)" + gauze + "(10)G4", Lot: "G4", Start: 5, End: 3, Counted: 5}, // counted before the issue
			{Key: "(01)" + gauze + "(10)G5", Lot: "G5", Start: 5, End: 3, Counted: 4},
		},
	}
	r := count.Compare(in)
	var got []string
	for _, d := range r.Differences {
		got = append(got, fmt.Sprintf("%s %s %s/%s %d/%d %s alert=%v", d.Kind, d.Item, d.LedgerLocation, d.LedgerStatus, d.Counted, d.Expected, d.Action, d.Alert))
	}
	want := []string{
		"missing " + unit("S2") + " / 0/1 write-off alert=true",
		"used " + unit("S4") + " OR-3/used 1/0 investigate alert=true",
		"issued " + unit("S5") + " WH/issued 1/0 restock alert=true",
		"misplaced " + unit("S3") + " W5/received 1/0 none alert=true",
		"unknown " + unit("S9") + " /none 1/0 commission alert=false",
		"unknown urn:epc:raw:96.0A0B WH/stocked 1/0 commission alert=false",
		"lot (01)" + gauze + "(10)G1 / 3/5 write-off alert=false",
		"lot (01)" + gauze + "(10)G2 / 4/2 take-on-hand alert=false",
		"lot (01)" + gauze + "(10)G5 / 4/3 recount alert=false",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("differences:\n%q\nwant\n%q", got, want)
	}
	if r.Matched != 5 { // S1, S6 (held here), S7 (put back), G3, G4
		t.Errorf("matched %d, want 5", r.Matched)
	}
	if d := r.Differences[8]; !d.Changed || d.ExpectedAtStart != 5 {
		t.Errorf("a lot that moved while counted: %+v", d)
	}
	// The same input in another order gives the same answer.
	slices.Reverse(in.Seen)
	slices.Reverse(in.Expected)
	slices.Reverse(in.Lots)
	if again := count.Compare(in); !reflect.DeepEqual(again, r) {
		t.Errorf("order of the input changed the answer:\n%+v\n%+v", again.Differences, r.Differences)
	}
	// An RFID snapshot cannot see an item never read by RFID.
	in.RFID = true
	in.Expected = []count.Unit{{Key: unit("S2")}, {Key: unit("S8"), Tagged: true}}
	in.Seen, in.Lots = nil, nil
	r = count.Compare(in)
	if len(r.Differences) != 2 || r.Differences[0].Kind != count.Missing || r.Differences[0].Item != unit("S8") ||
		r.Differences[1].Kind != count.Untagged || r.Differences[1].Action != count.CountByBarcode || r.Differences[1].Alert {
		t.Errorf("RFID: %+v", r.Differences)
	}
}

// TestStateAtLeavesTheCountOut: the state of an item before the count
// saw it, the session's own count movements left out (a count moves the
// item's location), and consumed as the lifecycle would have it through a
// cancellation.
func TestStateAtLeavesTheCountOut(t *testing.T) {
	key := unit("S1")
	ms := ledger(
		agent.Movement{Kind: agent.KindReceive, Item: key, Location: "W5"},
		agent.Movement{Kind: agent.KindContext, Item: agent.CountKey("WH"), Flags: []string{agent.FlagCountStart}},
		agent.Movement{Kind: agent.KindCount, Item: key, Location: "WH", Reason: agent.CountReason(2)},
		agent.Movement{Kind: agent.KindCount, Item: key, Location: "OR-3", Reason: agent.CountReason(99)},
		agent.Movement{Kind: agent.KindUse, Item: key, Location: "OR-3"},
	)
	ms = append(ms, agent.Movement{Seq: 6, Gateway: "gw", Kind: agent.KindAdjust, Item: key, Reason: agent.CancelReason(agent.KindUse, 5)})
	st, consumed := count.StateAt(ms, key, 3, 2)
	if st.Location != "W5" || consumed || st.Movements != 1 {
		t.Errorf("before the count saw it: %+v consumed=%v", st.Life, consumed)
	}
	if st, _ := count.StateAt(ms, key, 3, 0); st.Location != "WH" {
		t.Errorf("with the count: %s", st.Location)
	}
	if st, consumed := count.StateAt(ms, key, 5, 2); !consumed || st.Status != lifecycle.StatusUsed {
		t.Errorf("after the use: %s consumed=%v", st.Status, consumed)
	}
	if st, consumed := count.StateAt(ms, key, 6, 2); consumed || st.Status != lifecycle.StatusReceived || st.Location != "OR-3" {
		t.Errorf("use cancelled: %s at %s consumed=%v", st.Status, st.Location, consumed)
	}
	// A movement that names the key as a tag bound to another item is
	// not the key's.
	tag := "urn:epc:raw:96.0A0B"
	tms := ledger(
		agent.Movement{Kind: agent.KindStock, Item: tag, Location: "WH"},
		agent.Movement{Kind: agent.KindCommission, Item: key, Tag: tag, Location: "WH"},
	)
	if st, _ := count.StateAt(tms, tag, 9, 0); st.Movements != 1 || st.Commissioned {
		t.Errorf("the tag's own state: %+v", st)
	}
	if !count.Tagged(tms[1:]) || count.Tagged(ms) {
		t.Error("Tagged")
	}
}

// TestLotAt: a lot's count at a location at a point of its history, as
// the stock folds it.
func TestLotAt(t *testing.T) {
	key := "(01)" + gauze + "(10)G1"
	ms := ledger(
		agent.Movement{Kind: agent.KindReceive, Item: key, Location: "WH"},
		agent.Movement{Kind: agent.KindReceive, Item: key, Location: "WH"},
		agent.Movement{Kind: agent.KindReceive, Item: key, Location: "WH"},
		agent.Movement{Kind: agent.KindCount, Item: key, Location: "WH", Reason: agent.CountReason(9)},
		agent.Movement{Kind: agent.KindUse, Item: key, Location: "OR-3"}, // none in OR-3: one less at WH
		agent.Movement{Kind: agent.KindTransfer, Item: key, Location: "W5", From: "WH"},
	)
	for upto, want := range map[uint64]int{0: 0, 2: 2, 4: 3, 5: 2, 6: 1} {
		if got := count.LotAt(ms, key, upto, "WH"); got != want {
			t.Errorf("at %d: %d, want %d", upto, got, want)
		}
	}
	if got := count.LotAt(ms, key, 6, "W5"); got != 1 {
		t.Errorf("W5: %d", got)
	}
}

// TestPlan: the movements each action writes, with reasons that name
// the session and read back; an item the ledger has used is restocked
// only when named; named items limit the plan to them.
func TestPlan(t *testing.T) {
	lot := "(01)" + gauze + "(10)G1"
	diffs := []count.Difference{
		{Kind: count.Missing, Item: unit("S2"), Lot: "L1", Action: count.WriteOff, Expected: 1},
		{Kind: count.Used, Item: unit("S4"), LedgerStatus: "used", Action: count.Investigate, Counted: 1},
		{Kind: count.Issued, Item: unit("S5"), LedgerStatus: "issued", Action: count.Restock, Counted: 1},
		{Kind: count.Misplaced, Item: unit("S3"), Action: count.None, Counted: 1},
		{Kind: count.Unknown, Item: unit("S9"), Action: count.Commission, Counted: 1},
		{Kind: count.LotCount, Item: lot, Lot: "G1", Action: count.WriteOff, Expected: 5, Counted: 3},
		{Kind: count.LotCount, Item: "(01)" + gauze + "(10)G2", Lot: "G2", Action: count.TakeOnHand, Expected: 2, Counted: 3},
		{Kind: count.LotCount, Item: "(01)" + gauze + "(10)G5", Action: count.Recount, Expected: 3, Counted: 4},
		{Kind: count.Missing, Item: unit("S8"), Action: count.Adjusted, Adjusted: 40},
	}
	ms := count.Plan(17, "WH", diffs, nil)
	var got []string
	for _, m := range ms {
		if s, ok := agent.CountSession(m); !ok || s != 17 {
			t.Errorf("%q does not read back as session 17", m.Reason)
		}
		got = append(got, fmt.Sprintf("%s %s %s>%s %v %s", m.Kind, m.Item, m.From, m.Location, m.Flags, m.Reason))
	}
	want := []string{
		"dispose " + unit("S2") + " WH>WH [lost] cycle count 17: not found at WH: written off as lost",
		"adjust " + unit("S5") + " >WH [] cycle count 17: found at WH while the ledger has it issued: back on hand",
		"dispose " + lot + " WH>WH [lost] cycle count 17: lot G1 counted 3 of 5 at WH: one unit written off as lost",
		"dispose " + lot + " WH>WH [lost] cycle count 17: lot G1 counted 3 of 5 at WH: one unit written off as lost",
		"return (01)" + gauze + "(10)G2 >WH [] cycle count 17: lot G2 counted 3, 2 on record at WH: one unit taken on hand",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("plan:\n%q\nwant\n%q", got, want)
	}
	named := count.Plan(17, "WH", diffs, []string{unit("S4"), unit("S3")})
	if len(named) != 1 || named[0].Kind != agent.KindAdjust || named[0].Item != unit("S4") {
		t.Errorf("named: %+v", named)
	}
}

// TestVocabulary: the movements of a session read back, and nothing
// else reads as them.
func TestVocabulary(t *testing.T) {
	for _, s := range []agent.CountStart{{Stations: []string{"desk", "hand-1"}}, {Zones: []string{"shelf"}}} {
		m := agent.Movement{Kind: agent.KindContext, Flags: []string{agent.FlagCountStart}, Reason: agent.CountStartReason(s)}
		if got, ok := agent.ReadCountStart(m); !ok || !reflect.DeepEqual(got, s) {
			t.Errorf("ReadCountStart(%q) = %+v %v", m.Reason, got, ok)
		}
		m.Flags = nil
		if _, ok := agent.ReadCountStart(m); ok {
			t.Errorf("unflagged %q read as a start", m.Reason)
		}
	}
	end := agent.Movement{Kind: agent.KindContext, Flags: []string{agent.FlagCountEnd}, Reason: agent.CountEndReason(17)}
	if s, ok := agent.CountEnded(end); !ok || s != 17 {
		t.Errorf("CountEnded = %d %v", s, ok)
	}
	adj := agent.Movement{Kind: agent.KindContext, Flags: []string{agent.FlagCountAdjusted}, Reason: agent.CountAdjustedReason(17, 4)}
	if s, n, ok := agent.CountAdjusted(adj); !ok || s != 17 || n != 4 {
		t.Errorf("CountAdjusted = %d %d %v", s, n, ok)
	}
	for reason, want := range map[string]uint64{
		"cycle count 17":                      17,
		"cycle count 17; expired 2026-01-01":  17,
		"cycle count 17: not found at WH":     17,
		"cycle count 170":                     170,
		"cycle count 17 ended":                0,
		"cycle count 0":                       0,
		"cycle count x":                       0,
		"cycle count ":                        0,
		"present at start-up":                 0,
		"cycle count 99999999999999999999999": 0,
	} {
		s, ok := agent.CountSession(agent.Movement{Kind: agent.KindCount, Reason: reason})
		if s != want || ok != (want != 0) {
			t.Errorf("CountSession(%q) = %d %v, want %d", reason, s, ok, want)
		}
	}
	if _, ok := agent.CountSession(agent.Movement{Kind: agent.KindContext, Reason: agent.CountReason(3)}); ok {
		t.Error("a context movement is no count of a session")
	}
	if _, ok := agent.CountEnded(agent.Movement{Kind: agent.KindContext, Flags: []string{agent.FlagCountEnd}, Reason: "cycle count 17 ended early"}); ok {
		t.Error("a reason other than the form read as an end")
	}
}
