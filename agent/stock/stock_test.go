package stock

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/master"
)

const (
	gtin  = "09520123456788"
	unit1 = "(01)" + gtin + "(21)S1"
)

var day = time.Date(2026, 12, 1, 9, 0, 0, 0, time.FixedZone("CST", 8*3600))

// mv is a movement of the hip stem's serial S1 unless mods say otherwise.
func mv(kind agent.Kind, loc string, mods ...func(*agent.Movement)) agent.Movement {
	m := agent.Movement{Gateway: "gw", Time: day, Kind: kind, Item: unit1, GTIN: gtin, Serial: "S1", Lot: "L1", Expiry: "2027-06-30", Location: loc}
	for _, f := range mods {
		f(&m)
	}
	return m
}

func from(loc string) func(*agent.Movement) { return func(m *agent.Movement) { m.From = loc } }
func item(key string) func(*agent.Movement) { return func(m *agent.Movement) { m.Item = key } }
func lotKey(lot string) func(*agent.Movement) {
	return func(m *agent.Movement) { m.Item, m.Serial, m.Lot = "(01)"+gtin+"(10)"+lot, "", lot }
}
func blocked(m *agent.Movement) { m.Decision = agent.DecisionBlocked }

// fold applies ms in order, numbering them from 1, and returns the stock.
func fold(ms ...agent.Movement) *Stock {
	s := New()
	for i, m := range ms {
		m.Seq = uint64(i + 1)
		s.Apply(m)
	}
	return s
}

// cancel is the CANCEL LAST of movement seq of kind k.
func cancel(k agent.Kind, seq uint64, loc string, mods ...func(*agent.Movement)) agent.Movement {
	return mv(agent.KindAdjust, loc, append(mods, func(m *agent.Movement) { m.Reason = agent.CancelReason(k, seq) })...)
}

// show prints the lines q selects, one "LOC PRODUCT LOT EXPIRY units[+held]"
// each, in Lines' order.
func show(s *Stock, q Query, d *master.Data) []string {
	var out []string
	for _, l := range s.Lines(q, d) {
		x := fmt.Sprintf("%s %s %s %s %d", l.Location, l.Product, l.Lot, l.Expiry, l.Units)
		if l.Quarantined != 0 {
			x += fmt.Sprintf("+%dq", l.Quarantined)
		}
		out = append(out, x)
	}
	return out
}

// TestSerialItemByKind: an item named by its serial is one unit, on hand
// where the lifecycle puts it, for each kind of movement.
func TestSerialItemByKind(t *testing.T) {
	on := func(loc string) []string { return []string{loc + " " + gtin + " L1 2027-06-30 1"} }
	held := func(loc string) []string { return []string{loc + " " + gtin + " L1 2027-06-30 0+1q"} }
	rcv := mv(agent.KindReceive, "WH")
	for _, c := range []struct {
		name string
		ms   []agent.Movement
		want []string
	}{
		{"receive", []agent.Movement{rcv}, on("WH")},
		{"commission", []agent.Movement{rcv, mv(agent.KindCommission, "WH")}, on("WH")},
		{"stock into a cabinet", []agent.Movement{rcv, mv(agent.KindStock, "CAB-1")}, on("CAB-1")},
		{"transfer out of WH, in to the ward", []agent.Movement{rcv, mv(agent.KindTransfer, "W5", from("WH"))}, on("W5")},
		{"issue: picked, off the shelf", []agent.Movement{rcv, mv(agent.KindIssue, "OR-3")}, nil},
		{"use", []agent.Movement{rcv, mv(agent.KindUse, "OR-3")}, nil},
		{"return after issue", []agent.Movement{rcv, mv(agent.KindIssue, "OR-3"), mv(agent.KindReturn, "WH")}, on("WH")},
		{"waste", []agent.Movement{rcv, mv(agent.KindWaste, "WH")}, nil},
		{"dispose", []agent.Movement{rcv, mv(agent.KindDispose, "WH")}, nil},
		{"quarantine: held apart", []agent.Movement{rcv, mv(agent.KindQuarantine, "WH")}, held("WH")},
		{"quarantine lifted by an adjustment", []agent.Movement{rcv, mv(agent.KindQuarantine, "WH"), mv(agent.KindAdjust, "WH")}, on("WH")},
		{"count elsewhere moves it", []agent.Movement{rcv, mv(agent.KindCount, "CAB-2")}, on("CAB-2")},
		{"count of an item used: still used", []agent.Movement{rcv, mv(agent.KindUse, "OR-3"), mv(agent.KindCount, "CAB-2")}, nil},
		{"count of an item never received: not on hand", []agent.Movement{mv(agent.KindCount, "CAB-2")}, nil},
		{"stock of an item never received: on hand", []agent.Movement{mv(agent.KindStock, "CAB-2")}, on("CAB-2")},
		{"adjustment of an item used: back on hand", []agent.Movement{rcv, mv(agent.KindUse, "OR-3"), mv(agent.KindAdjust, "WH")}, on("WH")},
		{"a blocked use did not happen", []agent.Movement{rcv, mv(agent.KindUse, "OR-3", blocked)}, on("WH")},
		{"rejects and context scans move nothing", []agent.Movement{rcv, {Kind: agent.KindReject, Reason: "bad"}, mv(agent.KindContext, "OR-3")}, on("WH")},
		{"cancelled use: back where it was", []agent.Movement{rcv, mv(agent.KindUse, "OR-3"), cancel(agent.KindUse, 2, "OR-3")}, on("WH")},
		{"cancelled receipt: gone", []agent.Movement{rcv, cancel(agent.KindReceive, 1, "WH")}, nil},
		{"cancel of a movement not the last: an adjustment", []agent.Movement{rcv, mv(agent.KindUse, "OR-3"), cancel(agent.KindReceive, 1, "WH")}, on("WH")},
		{"cancelled, then used again", []agent.Movement{rcv, mv(agent.KindUse, "OR-3"), cancel(agent.KindUse, 2, "OR-3"), mv(agent.KindUse, "OR-3")}, nil},
		{"a later scan's lot and expiry", []agent.Movement{rcv, mv(agent.KindStock, "CAB-1", func(m *agent.Movement) { m.Expiry = "2027-07-31" })},
			[]string{"CAB-1 " + gtin + " L1 2027-07-31 1"}},
		{"a tag read carries neither: the item keeps its own", []agent.Movement{rcv, mv(agent.KindStock, "CAB-1", func(m *agent.Movement) { m.Lot, m.Expiry, m.GTIN = "", "", "" })}, on("CAB-1")},
	} {
		if got := show(fold(c.ms...), Query{}, nil); !slices.Equal(got, c.want) {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

// TestLotKeys: a scan of a key naming a lot is one unit of it, counted
// where it is scanned, and taken from where the lot has units when it is
// scanned elsewhere.
func TestLotKeys(t *testing.T) {
	line := func(loc string, n int) string { return fmt.Sprintf("%s %s L9 2027-06-30 %d", loc, gtin, n) }
	rcv := mv(agent.KindReceive, "WH", lotKey("L9"))
	for _, c := range []struct {
		name string
		ms   []agent.Movement
		want []string
	}{
		{"each receipt one unit", []agent.Movement{rcv, rcv, rcv}, []string{line("WH", 3)}},
		{"a use twice is two units", []agent.Movement{rcv, rcv, rcv, mv(agent.KindUse, "WH", lotKey("L9")), mv(agent.KindUse, "WH", lotKey("L9"))}, []string{line("WH", 1)}},
		{"transfer with no From: from where the lot is", []agent.Movement{rcv, rcv, rcv, mv(agent.KindTransfer, "W5", lotKey("L9")), mv(agent.KindTransfer, "W5", lotKey("L9"))},
			[]string{line("W5", 2), line("WH", 1)}},
		{"transfer from a named location", []agent.Movement{rcv, mv(agent.KindTransfer, "W5", lotKey("L9"), from("CAB-1"))},
			[]string{line("CAB-1", -1), line("W5", 1), line("WH", 1)}},
		{"use where none is: from the fullest", []agent.Movement{rcv, rcv, mv(agent.KindTransfer, "W5", lotKey("L9")), mv(agent.KindUse, "OR-3", lotKey("L9")), mv(agent.KindUse, "OR-3", lotKey("L9"))},
			nil},
		{"more used than received: below zero where used", []agent.Movement{rcv, mv(agent.KindUse, "OR-3", lotKey("L9")), mv(agent.KindUse, "OR-3", lotKey("L9"))},
			[]string{line("OR-3", -1)}},
		{"cancelled use undone", []agent.Movement{rcv, rcv, mv(agent.KindTransfer, "W5", lotKey("L9")), mv(agent.KindUse, "OR-3", lotKey("L9")), cancel(agent.KindUse, 4, "OR-3", lotKey("L9"))},
			[]string{line("W5", 1), line("WH", 1)}},
		{"cancelled transfer undone", []agent.Movement{rcv, mv(agent.KindTransfer, "W5", lotKey("L9")), cancel(agent.KindTransfer, 2, "W5", lotKey("L9"))}, []string{line("WH", 1)}},
		{"stock where it is: no change", []agent.Movement{rcv, mv(agent.KindStock, "WH", lotKey("L9"))}, []string{line("WH", 1)}},
		{"stock of a lot never received: counted", []agent.Movement{mv(agent.KindStock, "CAB-1", lotKey("L9"))}, []string{line("CAB-1", 1)}},
		{"quarantine, count, adjustment: no count", []agent.Movement{rcv, mv(agent.KindQuarantine, "WH", lotKey("L9")), mv(agent.KindCount, "CAB-1", lotKey("L9")), mv(agent.KindAdjust, "W5", lotKey("L9"))},
			[]string{line("WH", 1)}},
		{"a blocked use did not happen", []agent.Movement{rcv, mv(agent.KindUse, "WH", lotKey("L9"), blocked)}, []string{line("WH", 1)}},
		{"lot and serial apart", []agent.Movement{rcv, mv(agent.KindReceive, "WH")}, []string{"WH " + gtin + " L1 2027-06-30 1", line("WH", 1)}},
		{"a product key with no lot", []agent.Movement{mv(agent.KindReceive, "WH", item("(01)"+gtin), func(m *agent.Movement) { m.Lot, m.Expiry = "", "" })},
			[]string{"WH " + gtin + "   1"}},
	} {
		if got := show(fold(c.ms...), Query{}, nil); !slices.Equal(got, c.want) {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

// catalogue: the hip stem, and its box of 10 (a package DI).
func catalogue(t *testing.T) *master.Data {
	t.Helper()
	d, err := master.NewData("t", []master.CatalogueEntry{
		{GTIN: gtin, Name: "hip stem", Tracking: master.TrackSerial},
		{GTIN: "19520123456785", Name: "hip stem, box of 10", PackageOf: gtin, PackageQuantity: 10, Tracking: master.TrackSerial},
	}, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestPackages: a package's DI counts the units it packs, as the product
// it packs, whether the box has a serial or a lot; resolved when asked,
// so with no catalogue a box is one unit of its own DI.
func TestPackages(t *testing.T) {
	const box = "19520123456785"
	d := catalogue(t)
	s := fold(
		mv(agent.KindReceive, "WH"),
		mv(agent.KindReceive, "WH", func(m *agent.Movement) { m.Item, m.GTIN, m.Serial = "(01)"+box+"(21)B1", box, "B1" }),
		mv(agent.KindReceive, "WH", func(m *agent.Movement) { m.Item, m.GTIN, m.Serial = "(01)"+box+"(10)L1", box, "" }),
		// A product between the unit's DI and the box's, in the order
		// the location keeps its lines.
		mv(agent.KindReceive, "WH", func(m *agent.Movement) { m.Item, m.GTIN = "(01)09999999999994(21)X", "09999999999994" }),
	)
	if got, want := show(s, Query{}, d), []string{"WH " + gtin + " L1 2027-06-30 21", "WH 09999999999994 L1 2027-06-30 1"}; !slices.Equal(got, want) {
		t.Errorf("with the catalogue: %q, want %q", got, want)
	}
	if got, want := show(s, Query{Location: "WH"}, d), []string{"WH " + gtin + " L1 2027-06-30 21", "WH 09999999999994 L1 2027-06-30 1"}; !slices.Equal(got, want) {
		t.Errorf("with the catalogue: %q, want %q", got, want)
	}
	if ls := s.Lines(Query{Product: box}, d); len(ls) != 1 || ls[0].Units != 21 || ls[0].Name != "hip stem" {
		t.Errorf("asked by the box's DI: %+v", ls)
	}
	if got, want := show(s, Query{}, nil), []string{"WH " + gtin + " L1 2027-06-30 1", "WH 09999999999994 L1 2027-06-30 1", "WH " + box + " L1 2027-06-30 2"}; !slices.Equal(got, want) {
		t.Errorf("with no catalogue: %q, want %q", got, want)
	}
}

// TestCommissionedTag: a tag commissioned to an item counts as the item;
// a tag seen before its commissioning stops counting on its own.
func TestCommissionedTag(t *testing.T) {
	const tag = "urn:epc:raw:96.xE28011600000000000000001"
	tagRead := func(k agent.Kind, loc string) agent.Movement {
		return agent.Movement{Gateway: "gw", Kind: k, Item: tag, Location: loc, Symbology: agent.SymbologyEPC}
	}
	s := fold(
		tagRead(agent.KindStock, "CAB-1"), // unknown tag, placed before it was commissioned
		mv(agent.KindReceive, "WH"),
		mv(agent.KindCommission, "WH", func(m *agent.Movement) { m.Tag = tag }),
		tagRead(agent.KindStock, "CAB-1"),
	)
	if got, want := show(s, Query{}, nil), []string{"CAB-1 " + gtin + " L1 2027-06-30 1"}; !slices.Equal(got, want) {
		t.Errorf("stocked by its tag: %q, want %q", got, want)
	}
	s.Apply(agent.Movement{Seq: 5, Gateway: "gw", Kind: agent.KindIssue, Item: tag, Location: "CAB-1"})
	if got := show(s, Query{}, nil); got != nil {
		t.Errorf("taken out by its tag: %q", got)
	}
}

// TestQueries: by location, by product across locations, expiring within
// N days (the expired included, no expiry left out), FEFO order.
func TestQueries(t *testing.T) {
	const other = "06901234100013"
	serial := func(n int, loc, exp string) agent.Movement {
		return mv(agent.KindReceive, loc, func(m *agent.Movement) {
			m.Serial = fmt.Sprint("S", n)
			m.Item, m.Expiry, m.Lot = "(01)"+gtin+"(21)"+m.Serial, exp, "L-"+exp[:4]
		})
	}
	s := fold(
		serial(1, "WH", "2027-06-30"), serial(2, "WH", "2026-12-20"), serial(3, "WH", "2026-12-20"),
		serial(4, "W5", "2026-11-30"), serial(5, "W5", "2027-01-15"),
		mv(agent.KindReceive, "W5", func(m *agent.Movement) { m.Item, m.GTIN, m.Lot, m.Expiry = "(01)"+other+"(21)X", other, "", "" }),
	)
	d := catalogue(t)
	if got, want := show(s, Query{Location: "WH"}, d), []string{
		"WH " + gtin + " L-2026 2026-12-20 2", "WH " + gtin + " L-2027 2027-06-30 1",
	}; !slices.Equal(got, want) {
		t.Errorf("WH: %q, want %q", got, want)
	}
	if got, want := show(s, Query{Product: gtin}, d), []string{
		"W5 " + gtin + " L-2026 2026-11-30 1", "W5 " + gtin + " L-2027 2027-01-15 1",
		"WH " + gtin + " L-2026 2026-12-20 2", "WH " + gtin + " L-2027 2027-06-30 1",
	}; !slices.Equal(got, want) {
		t.Errorf("by product: %q, want %q", got, want)
	}
	ls := s.Lines(Query{ExpiringDays: 30, Now: day}, d)
	if len(ls) != 2 || ls[0].Location != "W5" || !ls[0].Expired || *ls[0].DaysLeft != -1 || ls[1].Location != "WH" || *ls[1].DaysLeft != 19 || ls[1].Units != 2 {
		t.Errorf("expiring within 30 days: %+v", ls)
	}
	if ls := s.Lines(Query{Location: "W5", Now: day}, d); len(ls) != 3 || ls[0].Product != other || ls[0].DaysLeft != nil || ls[0].Name != "" ||
		ls[1].Name != "hip stem" || ls[1].Expiry != "2026-11-30" {
		t.Errorf("W5, by product then expiry: %+v", ls)
	}
	// Within a product, a line with no expiry comes last.
	s.Apply(mv(agent.KindReceive, "W5", func(m *agent.Movement) {
		m.Seq, m.Item, m.Serial, m.Lot, m.Expiry = 7, "(01)"+gtin+"(21)S7", "S7", "", ""
	}))
	if fefo := s.OnHand("W5", gtin, d); len(fefo) != 3 || fefo[2].Expiry != "" || fefo[0].Expiry != "2026-11-30" {
		t.Errorf("FEFO at W5: %+v", fefo)
	}
	if fefo := s.OnHand("WH", gtin, d); len(fefo) != 2 || fefo[0].Expiry != "2026-12-20" {
		t.Errorf("FEFO: %+v", fefo)
	}
	if ls := s.Lines(Query{Location: "nowhere"}, d); len(ls) != 0 {
		t.Errorf("an unknown location: %+v", ls)
	}
}

// TestSeqOnce: a movement already folded (its Seq not above the last) is
// not folded again.
func TestSeqOnce(t *testing.T) {
	s := New()
	m := mv(agent.KindReceive, "WH", lotKey("L9"))
	for _, seq := range []uint64{1, 2, 2, 1, 3} {
		m.Seq = seq
		s.Apply(m)
	}
	if got := show(s, Query{}, nil); len(got) != 1 || !strings.HasSuffix(got[0], " 3") || s.Last() != 3 {
		t.Errorf("%q, last %d", got, s.Last())
	}
}
