package stock

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/lifecycle"
)

// TestUnitsAndLotsAt: the items on hand or held at a location, and the
// counts of lots there, as Lines counts them: items gone (issued, used),
// elsewhere or cancelled back are not at the location; a tag counts as
// the item it was commissioned to; an emptied lot is not listed.
func TestUnitsAndLotsAt(t *testing.T) {
	s := fold(
		mv(agent.KindReceive, "WH"), // 1: S1
		mv(agent.KindReceive, "WH", item("(01)"+gtin+"(21)S2")),
		mv(agent.KindQuarantine, "WH", item("(01)"+gtin+"(21)S2")), // 3: held at WH
		mv(agent.KindReceive, "WH", item("(01)"+gtin+"(21)S3")),
		mv(agent.KindIssue, "WH", item("(01)"+gtin+"(21)S3")), // 5: off hand
		mv(agent.KindReceive, "W5", item("(01)"+gtin+"(21)S4")),
		mv(agent.KindReceive, "WH", item("(01)"+gtin+"(21)S5")),
		mv(agent.KindTransfer, "W5", item("(01)"+gtin+"(21)S5")), // 8: gone to W5
		cancel(agent.KindTransfer, 8, "W5", item("(01)"+gtin+"(21)S5")),
		mv(agent.KindCommission, "WH", item("(01)"+gtin+"(21)S6"), func(m *agent.Movement) { m.Tag = "urn:epc:raw:96.0A" }),
		mv(agent.KindStock, "WH", item("urn:epc:raw:96.0A")), // 11: the tag read: S6
		mv(agent.KindReceive, "WH", lotKey("G1")),
		mv(agent.KindReceive, "WH", lotKey("G1")),
		mv(agent.KindReceive, "WH", lotKey("G2")),
		mv(agent.KindUse, "OR-3", lotKey("G2")), // 15: none in OR-3: G2 at WH emptied
		mv(agent.KindCount, "WH", item("(01)"+gtin+"(21)S9")),
	)
	var got []string
	for _, u := range s.UnitsAt("WH") {
		got = append(got, fmt.Sprintf("%s %s %s %s %d", u.Key, u.Product, u.Lot, u.Status, u.LastSeq))
	}
	want := []string{
		unit1 + " " + gtin + " L1 received 1",
		"(01)" + gtin + "(21)S2 " + gtin + " L1 quarantined 3",
		"(01)" + gtin + "(21)S5 " + gtin + " L1 received 9",
		"(01)" + gtin + "(21)S6 " + gtin + " L1 stocked 11",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("UnitsAt(WH):\n%q\nwant\n%q", got, want)
	}
	units := 0
	for _, l := range s.Lines(Query{Location: "WH"}, nil) {
		units += l.Units + l.Quarantined
	}
	lots := s.LotsAt("WH")
	if len(lots) != 1 || lots[0].Key != "(01)"+gtin+"(10)G1" || lots[0].Units != 2 || lots[0].Lot != "G1" || lots[0].LastSeq != 13 {
		t.Errorf("LotsAt(WH): %+v", lots)
	}
	if n := len(s.UnitsAt("WH")) + lots[0].Units; n != units {
		t.Errorf("units and lots at WH: %d, the lines hold %d", n, units)
	}
	if u := s.UnitsAt("W5"); len(u) != 1 || u[0].Status != lifecycle.StatusReceived {
		t.Errorf("UnitsAt(W5): %+v", u)
	}
	if s.UnitsAt("nowhere") != nil || s.LotsAt("nowhere") != nil || s.LotsAt("OR-3") != nil {
		t.Error("a location with nothing")
	}
}

// BenchmarkUnitsAt measures what a cycle count asks of the stock: the
// items at one location (UnitsAt walks every item key the stock follows)
// beside the lines of the same location (Lines, which reads only that
// location's), over the benchmark hospital's ledger of n movements.
func BenchmarkUnitsAt(b *testing.B) {
	for _, n := range []int{1_000_000, 4_000_000} {
		b.Run(fmt.Sprintf("movements=%d", n), func(b *testing.B) {
			st := New()
			seq := uint64(0)
			benchMovements(n, func(m agent.Movement) {
				seq++
				m.Seq = seq
				st.apply(m)
			})
			var units, lines int
			var walk, ceiling time.Duration
			for b.Loop() {
				for _, loc := range benchLocs {
					t0 := time.Now()
					units += len(st.UnitsAt(loc))
					t1 := time.Now()
					lines += len(st.Lines(Query{Location: loc}, nil))
					walk, ceiling = walk+t1.Sub(t0), ceiling+time.Since(t1)
				}
			}
			q := float64(b.N * len(benchLocs))
			b.ReportMetric(float64(st.Items()), "items")
			b.ReportMetric(float64(units)/q, "units/location")
			b.ReportMetric(walk.Seconds()*1e3/q, "unitsat-ms")
			b.ReportMetric(float64(lines)/q, "lines/location")
			b.ReportMetric(ceiling.Seconds()*1e3/q, "lines-ms")
		})
	}
}

// TestHolds: a location holds something while units are on hand or held
// there or uses were drawn from it; a location no movement named holds
// nothing, nor one every unit has left, nor one where only a request is
// open. Locations lists those that hold something.
func TestHolds(t *testing.T) {
	s := fold(
		mv(agent.KindReceive, "WH", serial("S1", "L1", "2027-06-30")),
		mv(agent.KindTransfer, "W5", serial("S1", "L1", "2027-06-30")),
		mv(agent.KindReceive, "W7", serial("S2", "L1", "2027-06-30")),
		mv(agent.KindUse, "OR-3", serial("S2", "L1", "2027-06-30")),
		requestAt("W9", agent.Request{Quantity: 1, Urgency: agent.UrgencyUrgent, Max: 1}),
	)
	for loc, want := range map[string]bool{"W5": true, "W7": true, "W9": false, "WH": false, "OR-3": false, "w5": false, "": false} {
		if got := s.Holds(loc); got != want {
			t.Errorf("Holds(%q) = %v, want %v", loc, got, want)
		}
	}
	if got := s.Locations(); !slices.Equal(got, []string{"W5", "W7"}) {
		t.Errorf("Locations() = %q, want W5 W7", got)
	}
}
