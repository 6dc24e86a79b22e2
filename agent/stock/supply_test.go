package stock

import (
	"slices"
	"strings"
	"testing"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/master"
)

func consigned(s string) func(*agent.Movement) {
	return func(m *agent.Movement) { m.Flags = append(m.Flags, agent.ConsignedFlag(s)) }
}

func serial(sn, lot, expiry string) func(*agent.Movement) {
	return func(m *agent.Movement) {
		m.Item, m.Serial, m.Lot, m.Expiry = "(01)"+gtin+"(21)"+sn, sn, lot, expiry
	}
}

// requestAt is the request movement for the hip stem at loc.
func requestAt(loc string, r agent.Request, mods ...func(*agent.Movement)) agent.Movement {
	m := agent.Movement{Gateway: "gw", Time: day, Kind: agent.KindContext, Item: gtin, Location: loc,
		Flags: []string{agent.FlagReplenish}, Reason: agent.RequestReason(r)}
	for _, f := range mods {
		f(&m)
	}
	return m
}

// TestOwnerLines: units received as a supplier's are on their own line,
// named by the supplier; those received as the hospital's are not.
func TestOwnerLines(t *testing.T) {
	s := fold(
		mv(agent.KindReceive, "WH", serial("S1", "L1", "2027-06-30"), consigned("华东医药")),
		mv(agent.KindReceive, "WH", serial("S2", "L1", "2027-06-30"), consigned("华东医药")),
		mv(agent.KindReceive, "WH", serial("S3", "L1", "2027-06-30")),
		mv(agent.KindUse, "WH", serial("S2", "L1", "2027-06-30")),
	)
	var got []string
	for _, l := range s.Lines(Query{}, nil) {
		got = append(got, l.Location+" "+l.Lot+" "+l.Owner+" "+strings.Repeat("*", l.Units))
	}
	want := []string{"WH L1  *", "WH L1 华东医药 *"}
	if !slices.Equal(got, want) {
		t.Fatalf("lines %q, want %q", got, want)
	}
}

// TestRequests: a request is open until as many units arrived at its
// location (received, stocked, transferred: a box counting as the units
// it packs); a return is no arrival, nor is an arrival elsewhere or of
// another product; a later request replaces none while one is open.
func TestRequests(t *testing.T) {
	const box = "19520123456785" // a box of 2 stems
	d, _, err := (&master.Data{}).Import("catalogue", strings.NewReader("gtin,name,unit_price,package_of,package_quantity\n"+
		gtin+",Stem,1,,\n"+box+",Stem box,2,"+gtin+",2\n"), master.ImportOptions{Format: master.FormatCSV})
	if err != nil {
		t.Fatal(err)
	}
	s := New()
	s.SetCatalogue(func() *master.Data { return d })
	seq := uint64(0)
	apply := func(m agent.Movement) {
		seq++
		m.Seq = seq
		s.Apply(m)
	}
	apply(requestAt("OR-3", agent.Request{Quantity: 4, Urgency: agent.UrgencyUrgent, Max: 4}, consigned("华东医药")))
	r, ok := s.Open("OR-3", gtin)
	if !ok || r.Quantity != 4 || r.Supplier != "华东医药" || r.Seq != 1 {
		t.Fatalf("open request: %+v %v", r, ok)
	}
	apply(mv(agent.KindReceive, "WH", serial("S1", "L1", "2027-06-30")))    // elsewhere
	apply(mv(agent.KindReturn, "OR-3", serial("S9", "L1", "2027-06-30")))   // a return
	apply(mv(agent.KindTransfer, "OR-3", serial("S1", "L1", "2027-06-30"))) // 1 arrived
	apply(mv(agent.KindStock, "OR-3", serial("S1", "L1", "2027-06-30")))    // already here
	if r, _ := s.Open("OR-3", gtin); r.Arrived != 1 {
		t.Fatalf("arrived %d, want 1 (the transfer only)", r.Arrived)
	}
	boxScan := agent.Movement{Gateway: "gw", Time: day, Kind: agent.KindReceive, Item: "(01)" + box + "(10)B2", GTIN: box, Lot: "B2", Location: "OR-3"}
	apply(boxScan) // 2 more: 3
	if r, ok := s.Open("OR-3", gtin); !ok || r.Arrived != 3 {
		t.Fatalf("after a box: %+v %v", r, ok)
	}
	apply(mv(agent.KindReceive, "OR-3", serial("S5", "L1", "2027-06-30")))
	if r, ok := s.Open("OR-3", gtin); ok {
		t.Fatalf("met request still open: %+v", r)
	}
	if rs := s.Requests(""); len(rs) != 0 {
		t.Fatalf("requests %+v", rs)
	}
	met := s.Met()
	if len(met) != 1 || met[0].Seq != 1 || met[0].Arrived != 4 {
		t.Fatalf("met %+v", met)
	}
	apply(agent.Movement{Kind: agent.KindContext, Item: gtin, Location: "OR-3", Flags: []string{agent.FlagMet}, Reason: agent.MetReason(1, 4)})
	if met := s.Met(); len(met) != 0 {
		t.Fatalf("met after its movement %+v", met)
	}
}

// TestNeed: the replenishment rule.
func TestNeed(t *testing.T) {
	s := fold(
		mv(agent.KindReceive, "OR-3", serial("S1", "L1", "2027-06-30")),
		mv(agent.KindReceive, "OR-3", serial("S2", "L1", "2027-06-30")),
	)
	used := fold(
		mv(agent.KindReceive, "OR-3", serial("S1", "L1", "2027-06-30"), consigned("S")),
		mv(agent.KindReceive, "OR-3", serial("S2", "L1", "2027-06-30"), consigned("S")),
		mv(agent.KindReceive, "OR-3", serial("S3", "L1", "2027-06-30"), consigned("S")),
		mv(agent.KindUse, "OR-3", serial("S3", "L1", "2027-06-30"), consigned("S")),
	)
	par := Par{ReorderPoint: 3, Max: 6}
	for _, tc := range []struct {
		name string
		s    *Stock
		par  Par
		want agent.Request
		ok   bool
	}{
		{"below the reorder point", s, par, agent.Request{Quantity: 4, Urgency: agent.UrgencyRoutine, OnHand: 2, ReorderPoint: 3, Max: 6}, true},
		{"at the reorder point", s, Par{ReorderPoint: 2, Max: 6}, agent.Request{}, false},
		{"none left", New(), par, agent.Request{Quantity: 6, Urgency: agent.UrgencyUrgent, ReorderPoint: 3, Max: 6}, true},
		{"consigned use above the point", used, Par{ReorderPoint: 1, Max: 6}, agent.Request{Quantity: 4, Urgency: agent.UrgencyRefill, OnHand: 2, ReorderPoint: 1, Max: 6}, true},
		{"consigned use at max", used, Par{ReorderPoint: 1, Max: 2}, agent.Request{}, false},
		{"consigned use, no par", used, Par{}, agent.Request{Quantity: 1, Urgency: agent.UrgencyRefill, OnHand: 2}, true},
		{"no par, no refill", s, Par{}, agent.Request{}, false},
	} {
		got, ok := tc.s.Need("OR-3", gtin, tc.par, nil)
		if ok != tc.ok || got != tc.want {
			t.Errorf("%s: %+v %v, want %+v %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
	if got := used.Refills(); !slices.Equal(got, [][2]string{{"OR-3", gtin}}) {
		t.Errorf("refills %q", got)
	}
	for _, x := range []*Stock{s, used} {
		x.Apply(requestAt("OR-3", agent.Request{Quantity: 4, Urgency: agent.UrgencyRoutine}))
		if r, ok := x.Need("OR-3", gtin, par, nil); ok {
			t.Errorf("a second request while one is open: %+v", r)
		}
	}
	if got := used.Refills(); len(got) != 0 {
		t.Errorf("refills after the request %q", got)
	}
}

// TestEarlierOnShelf: the first unexpired unit expiring earlier.
func TestEarlierOnShelf(t *testing.T) {
	s := fold(
		mv(agent.KindReceive, "OR-3", serial("S1", "L0", "2026-11-30")), // expired
		mv(agent.KindReceive, "OR-3", serial("S2", "L1", "2027-01-31")),
		mv(agent.KindReceive, "OR-3", serial("S3", "L2", "2027-06-30")),
		mv(agent.KindReceive, "WH", serial("S4", "L9", "2026-12-31")),
	)
	if lot, e, ok := s.EarlierOnShelf("OR-3", gtin, "2027-06-30", "2026-12-06", nil); !ok || lot != "L1" || e != "2027-01-31" {
		t.Errorf("got %s %s %v, want L1 2027-01-31", lot, e, ok)
	}
	if _, _, ok := s.EarlierOnShelf("OR-3", gtin, "2027-01-31", "2026-12-06", nil); ok {
		t.Error("the earliest unexpired unit taken: no warning due")
	}
	if _, _, ok := s.EarlierOnShelf("OR-3", gtin, "", "2026-12-06", nil); ok {
		t.Error("no expiry read: nothing to compare")
	}
}

// TestDemand: the daily uses of a product at a location, days without a
// use as zero, a cancelled use taken back, the series starting at the
// first use; another location's uses apart.
func TestDemand(t *testing.T) {
	at := func(days int) func(*agent.Movement) {
		return func(m *agent.Movement) { m.Time = day.AddDate(0, 0, days) }
	}
	s := fold(
		mv(agent.KindUse, "OR-3", serial("S1", "L1", "2027-06-30"), at(0)),
		mv(agent.KindUse, "OR-3", serial("S2", "L1", "2027-06-30"), at(0)),
		mv(agent.KindUse, "OR-3", serial("S3", "L1", "2027-06-30"), at(3)),
		mv(agent.KindUse, "OR-3", serial("S4", "L1", "2027-06-30"), at(3)),
		cancel(agent.KindUse, 4, "OR-3", serial("S4", "L1", "2027-06-30"), at(3)),
		mv(agent.KindUse, "OR-5", serial("S5", "L1", "2027-06-30"), at(1)),
	)
	got := s.Demand("OR-3", gtin, day.AddDate(0, 0, 5), 30)
	if want := []float64{2, 0, 0, 1, 0, 0}; !slices.Equal(got, want) {
		t.Errorf("OR-3 demand %v, want %v", got, want)
	}
	if got := s.Demand("OR-3", gtin, day.AddDate(0, 0, 5), 3); !slices.Equal(got, []float64{1, 0, 0}) {
		t.Errorf("last 3 days %v", got)
	}
	if got := s.Demand("OR-9", gtin, day, 30); got != nil {
		t.Errorf("no uses: %v", got)
	}
	if got := s.Demanded(); !slices.Equal(got, [][2]string{{"OR-3", gtin}, {"OR-5", gtin}}) {
		t.Errorf("demanded %v", got)
	}
	// Older than kept: the series keeps its last DemandDays days.
	s.Apply(mv(agent.KindUse, "OR-3", serial("S6", "L1", "2027-06-30"), at(DemandDays+10)))
	if got := s.Demand("OR-3", gtin, day.AddDate(0, 0, DemandDays+10), 2*DemandDays); len(got) != DemandDays || got[len(got)-1] != 1 {
		t.Errorf("a year on: %d days, last %v", len(got), got[len(got)-1])
	}
}

// TestRefillWhereDrawn: a consigned unit used in the OR is owed to the
// shelf it was drawn from; its use cancelled, nothing is owed.
func TestRefillWhereDrawn(t *testing.T) {
	s := fold(
		mv(agent.KindReceive, "WH", serial("S1", "L1", "2027-06-30"), consigned("S")),
		mv(agent.KindUse, "OR-3", serial("S1", "L1", "2027-06-30"), consigned("S")),
	)
	if got := s.Refills(); !slices.Equal(got, [][2]string{{"WH", gtin}}) {
		t.Fatalf("refills %q, want the warehouse's", got)
	}
	if got := s.Demand("WH", gtin, day, 1); !slices.Equal(got, []float64{1}) {
		t.Errorf("warehouse demand %v", got)
	}
	s.Apply(cancel(agent.KindUse, 2, "OR-3", serial("S1", "L1", "2027-06-30")))
	if got := s.Refills(); len(got) != 0 {
		t.Errorf("refills after the cancellation %q", got)
	}
	if got := s.Demand("WH", gtin, day, 1); !slices.Equal(got, []float64{0}) {
		t.Errorf("warehouse demand after the cancellation %v", got)
	}
}

// TestNoRefillForLoan: a loan set's item ("bill only") is brought for one
// operation and never stocked here: its use is the supplier's
// consumption, not stock to refill (no delivery would ever meet such a
// request), for an item and for a lot; cancelling it takes back no
// refill owed for a consigned unit drawn from the shelf. Its use is
// still demand.
func TestNoRefillForLoan(t *testing.T) {
	loanSet := func(m *agent.Movement) {
		m.Kind, m.Flags, m.Decision = agent.KindContext, []string{agent.FlagLoanSet, agent.ConsignedFlag("S")}, ""
	}
	loan := func(m *agent.Movement) { m.Flags = append(m.Flags, agent.FlagLoan) }
	s := fold(
		mv(agent.KindContext, "OR-3", serial("L1", "A", "2027-06-30"), loanSet),
		mv(agent.KindUse, "OR-3", serial("L1", "A", "2027-06-30"), loan, consigned("S")),
		mv(agent.KindContext, "OR-3", lotKey("B"), loanSet),
		mv(agent.KindUse, "OR-3", lotKey("B"), loan, consigned("S")),
	)
	if got := s.Refills(); len(got) != 0 {
		t.Fatalf("refills %q after loan uses, want none", got)
	}
	if got := s.Demand("OR-3", gtin, day, 1); !slices.Equal(got, []float64{2}) {
		t.Errorf("demand %v, want the two uses", got)
	}
	for _, key := range []func(*agent.Movement){serial("L1", "A", "2027-06-30"), lotKey("B")} {
		s := fold(
			mv(agent.KindReceive, "OR-3", serial("S1", "L1", "2027-06-30"), consigned("S")),
			mv(agent.KindUse, "OR-3", serial("S1", "L1", "2027-06-30"), consigned("S")),
			mv(agent.KindContext, "OR-3", key, loanSet),
			mv(agent.KindUse, "OR-3", key, loan, consigned("S")),
			cancel(agent.KindUse, 4, "OR-3", key),
		)
		if r, ok := s.Need("OR-3", gtin, Par{}, nil); !ok || r.Quantity != 1 {
			t.Errorf("a loan use cancelled: need %+v %v, want the shelf's unit owed still", r, ok)
		}
	}
}

// TestWithdraw: a request whose par level is removed, or corrected so
// that on hand is no longer below its reorder point, is withdrawn (with
// why); one whose par level is unchanged, or still calls for it, stays
// open, and a refill always does. The movement withdrawing it closes it
// in the fold (as on the centre, which folds the same movements); one
// naming an older request closes nothing.
func TestWithdraw(t *testing.T) {
	s := New()
	seq := uint64(0)
	apply := func(m agent.Movement) {
		seq++
		m.Seq = seq
		s.Apply(m)
	}
	apply(mv(agent.KindReceive, "OR-3", serial("S1", "L1", "2027-06-30")))
	apply(requestAt("OR-3", agent.Request{Quantity: 3, Urgency: agent.UrgencyRoutine, OnHand: 1, ReorderPoint: 2, Max: 4}))
	r, ok := s.Open("OR-3", gtin)
	if !ok {
		t.Fatal("no request open")
	}
	for _, tc := range []struct {
		par  Par
		want bool
		says string
	}{
		{Par{ReorderPoint: 2, Max: 4}, false, ""},
		{Par{ReorderPoint: 3, Max: 6}, false, ""}, // corrected, still calls for it
		{Par{}, true, "removed"},
		{Par{ReorderPoint: 1, Max: 4}, true, "reorder point 1, max 4: on hand 1"},
	} {
		why, ok := s.Withdraw(r, tc.par, nil)
		if ok != tc.want || !strings.Contains(why, tc.says) {
			t.Errorf("par %+v: withdraw %v %q, want %v saying %q", tc.par, ok, why, tc.want, tc.says)
		}
	}
	if _, ok := s.Withdraw(Request{Location: "OR-3", Product: gtin, Request: agent.Request{Quantity: 1, Urgency: agent.UrgencyRefill}}, Par{}, nil); ok {
		t.Error("a refill withdrawn")
	}
	closing := func(seq uint64) agent.Movement {
		return agent.Movement{Gateway: "gw", Time: day, Kind: agent.KindContext, Item: gtin, Location: "OR-3",
			Flags: []string{agent.FlagMet}, Reason: agent.WithdrawnReason(seq, 0, "the par level that raised it was removed")}
	}
	apply(closing(r.Seq + 100)) // another request's
	if _, ok := s.Open("OR-3", gtin); !ok {
		t.Fatal("a withdrawal of another request closed this one")
	}
	apply(closing(r.Seq))
	if _, ok := s.Open("OR-3", gtin); ok || len(s.Requests("")) != 0 {
		t.Fatalf("withdrawn, still open: %+v", s.Requests(""))
	}
}
