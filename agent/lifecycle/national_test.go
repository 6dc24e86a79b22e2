package lifecycle

import (
	"slices"
	"testing"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/master"
)

// TestCheckLabelIncomplete: a scan lacking what the product's label
// carries is flagged, unless the item's history gives it; a tag read is
// not held to the label.
func TestCheckLabelIncomplete(t *testing.T) {
	f := newFixture()
	it := f.items[gtin]
	it.Label = master.LabelLot | master.LabelSerial | master.LabelExpiry
	f.items[gtin] = it
	c := f.checker(nil)
	f.stocked("(01)" + gtin + "(21)S1")

	m := use(gtin, "S1")
	if d := c.Check(m, true); slices.Contains(codes(d), CheckLabelIncomplete) {
		t.Errorf("complete label flagged: %v", d.Reasons)
	}
	m.Lot, m.Expiry = "", ""
	d := c.Check(m, true)
	if !slices.Contains(codes(d), CheckLabelIncomplete) || d.Outcome != Warn {
		t.Fatalf("lot and expiry missing: %v %v", codes(d), d.Outcome)
	}
	if r := d.Reasons[0]; r.Text != "label incomplete: no lot, expiry read, though the product's label carries it" {
		t.Errorf("reason %q", r.Text)
	}
	// The lot and expiry recorded at the receipt complete the scan.
	key := "(01)" + gtin + "(21)S1"
	st := f.states[key]
	st.Lot, st.Expiry = "L2405A", "2027-06-30"
	f.states[key] = st
	if d := c.Check(m, true); slices.Contains(codes(d), CheckLabelIncomplete) {
		t.Errorf("history's lot not taken: %v", d.Reasons)
	}
	// A tag read is no label.
	m = use(gtin, "S2")
	m.Lot, m.Expiry, m.Tag = "", "", "urn:epc:id:sgtin:0690123.410001.S2"
	if d := c.Check(m, true); slices.Contains(codes(d), CheckLabelIncomplete) {
		t.Errorf("tag read flagged: %v", d.Reasons)
	}
	// Blocked by configuration, as require_serial did per station.
	m = use(gtin, "S3")
	m.Item, m.Serial = "(01)"+gtin+"(10)L2405A", ""
	d = f.checker(Rules{CheckLabelIncomplete: SeverityBlock}).Check(m, true)
	if d.Outcome != Block || !slices.Contains(codes(d), CheckLabelIncomplete) {
		t.Errorf("serial missing, blocking rule: %v %v", codes(d), d.Outcome)
	}
}

// TestCheckWithdrawn: a use on or after the withdrawal date is flagged.
func TestCheckWithdrawn(t *testing.T) {
	f := newFixture()
	f.stocked("(01)" + gtin + "(21)S1")
	for withdrawn, want := range map[string]bool{"2026-11-24": true, "2026-01-01": true, "2026-11-25": false, "": false} {
		it := f.items[gtin]
		it.Withdrawn = withdrawn
		f.items[gtin] = it
		d := f.checker(nil).Check(use(gtin, "S1"), true)
		if got := slices.Contains(codes(d), CheckWithdrawn); got != want {
			t.Errorf("withdrawn %q on 2026-11-24: fired %v", withdrawn, got)
		}
	}
}

// TestDeciderPackage: a box's DI is checked as the product it packs (its
// recall, its withdrawal), against the box's own label.
func TestDeciderPackage(t *testing.T) {
	const box = "16901234100010"
	cat := []master.CatalogueEntry{
		{GTIN: hipGTIN, Name: "hip stem", Tracking: "serial", Label: master.LabelSerial, Withdrawn: "2026-01-01"},
		{GTIN: box, Name: "hip stem box", Tracking: "lot", PackageOf: hipGTIN, PackageQuantity: 5, Label: master.LabelLot},
	}
	d, err := master.NewData("t", cat, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	dc := decider(t, d, func(string) ([]agent.Movement, error) { return nil, nil })
	m := orUse(box, "", func(m *agent.Movement) { m.Item, m.Serial, m.Lot = "(01)"+box+"(10)L1", "", "L1" })
	got := dc.Decide(m, true)
	if !slices.Contains(got.Flags, string(CheckWithdrawn)) || slices.Contains(got.Flags, string(CheckLabelIncomplete)) ||
		slices.Contains(got.Flags, string(CheckUnknownItem)) {
		t.Errorf("box: %v %v", got.Flags, got.Reasons)
	}
}

// TestCheckProcurement: a non-selected product of a generic name with a
// selected one in stock at the location is pending; a selected product,
// one of another generic name, one with nothing selected in stock, and a
// movement other than a use are not held.
func TestCheckProcurement(t *testing.T) {
	f := newFixture()
	it := f.items[gtin]
	it.GenericName = "髋关节"
	f.items[gtin] = it
	f.stocked("(01)" + gtin + "(21)S1")
	c := f.checker(nil)
	var asked []string
	c.SelectedInStock = func(generic, location string) (string, bool) {
		asked = append(asked, generic+"@"+location)
		return "06901234999990", location == "OR-3"
	}
	d := c.Check(use(gtin, "S1"), true)
	if d.Outcome != Pending || !slices.Contains(codes(d), CheckProcurement) || !slices.Equal(asked, []string{"髋关节@OR-3"}) {
		t.Fatalf("non-selected: %v %v %v", d.Outcome, codes(d), asked)
	}
	m := use(gtin, "S1")
	m.Location = "OR-5"
	if d := c.Check(m, true); slices.Contains(codes(d), CheckProcurement) {
		t.Errorf("nothing selected in stock at OR-5: %v", codes(d))
	}
	it.Procurement = true
	f.items[gtin] = it
	if d := c.Check(use(gtin, "S1"), true); slices.Contains(codes(d), CheckProcurement) {
		t.Errorf("a selected product held: %v", codes(d))
	}
	it.Procurement, it.GenericName = false, ""
	f.items[gtin] = it
	if d := c.Check(use(gtin, "S1"), true); slices.Contains(codes(d), CheckProcurement) {
		t.Errorf("no generic name: %v", codes(d))
	}
	it.GenericName = "髋关节"
	f.items[gtin] = it
	m = use(gtin, "S1")
	m.Kind = agent.KindIssue
	if d := c.Check(m, true); slices.Contains(codes(d), CheckProcurement) {
		t.Errorf("an issue held: %v", codes(d))
	}
	off := f.checker(Rules{CheckProcurement: SeverityOff})
	off.SelectedInStock = c.SelectedInStock
	if d := off.Check(use(gtin, "S1"), true); slices.Contains(codes(d), CheckProcurement) {
		t.Errorf("check off: %v", codes(d))
	}
	block := f.checker(Rules{CheckProcurement: SeverityBlock})
	block.SelectedInStock = c.SelectedInStock
	if d := block.Check(use(gtin, "S1"), true); d.Outcome != Block {
		t.Errorf("check set to block: %v", d.Outcome)
	}
}
