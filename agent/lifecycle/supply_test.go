package lifecycle

import (
	"slices"
	"testing"

	"github.com/udi-edge/udi-edge/agent"
)

// TestOwnership: a receipt of a consigned product is the supplier's; its
// use names the supplier (the consumption record), and ownership then
// passes to the hospital; a hospital-owned receipt stays the hospital's
// even if the catalogue later says consigned; an item a loan set declared
// and never received is used as a loan, not as an item never received.
func TestOwnership(t *testing.T) {
	f := newFixture()
	it := f.items[gtin]
	it.Consigned, it.Supplier = true, "华东医药"
	f.items[gtin] = it
	c := f.checker(nil)
	key := "(01)" + gtin + "(21)S1"
	flag := agent.ConsignedFlag("华东医药")

	rcv := agent.Movement{Kind: agent.KindReceive, Item: key, GTIN: gtin, Location: "WH"}
	d := c.Check(rcv, false)
	if !slices.Contains(d.Flags, flag) || d.Outcome != Accept {
		t.Fatalf("consigned receipt: %v %v", d.Outcome, d.Flags)
	}
	rcv.Flags = d.Flags
	st, _ := Apply(State{}, rcv)
	if st.Owner != "华东医药" {
		t.Fatalf("owner after receipt %q", st.Owner)
	}
	f.states[key] = st
	u := use(gtin, "S1")
	d = c.Check(u, true)
	if !slices.Contains(d.Flags, flag) || slices.Contains(d.Flags, FlagNeverReceived) {
		t.Fatalf("use of a consigned item: %v", d.Flags)
	}
	u.Flags = d.Flags
	if after, _ := Apply(st, u); after.Owner != "" {
		t.Errorf("owner after use %q, want the hospital's", after.Owner)
	}

	// Received as the hospital's, before the catalogue said consigned.
	own, _ := Apply(State{}, agent.Movement{Kind: agent.KindReceive, Item: "(01)" + gtin + "(21)S2", Location: "WH"})
	f.states["(01)"+gtin+"(21)S2"] = own
	if d := c.Check(use(gtin, "S2"), true); slices.ContainsFunc(d.Flags, func(s string) bool { _, ok := agent.Consignor(agent.Movement{Flags: []string{s}}); return ok }) {
		t.Errorf("a hospital-owned item's use names a consignor: %v", d.Flags)
	}

	// A loan set's item, never received.
	loan := agent.Movement{Kind: agent.KindContext, Item: "(01)" + gtin + "(21)L9", Case: "C-20",
		Flags: []string{agent.FlagLoanSet, agent.ConsignedFlag("骨科器械")}}
	ls, fl := Apply(State{}, loan)
	if ls.LoanSet != "骨科器械" || ls.Movements != 0 || fl != nil {
		t.Fatalf("loan set declaration: %+v %v", ls, fl)
	}
	f.states["(01)"+gtin+"(21)L9"] = ls
	d = c.Check(use(gtin, "L9"), true)
	if !slices.Contains(d.Flags, agent.FlagLoan) || !slices.Contains(d.Flags, agent.ConsignedFlag("骨科器械")) ||
		slices.Contains(d.Flags, FlagNeverReceived) || slices.Contains(codes(d), CheckNeverReceived) {
		t.Fatalf("loan use: %v %v", d.Flags, codes(d))
	}
	lu := use(gtin, "L9")
	lu.Flags = d.Flags
	after, fl := Apply(ls, lu)
	if !after.Received || slices.Contains(fl, FlagNeverReceived) {
		t.Errorf("after the loan use: received %v, flags %v", after.Received, fl)
	}

	// Never received, no loan set: never received, the catalogue's owner.
	d = c.Check(use(gtin, "X1"), true)
	if !slices.Contains(d.Flags, flag) || slices.Contains(d.Flags, agent.FlagLoan) {
		t.Errorf("never received: %v", d.Flags)
	}
}

// TestCheckFEFO: taking a unit while an earlier-expiring one is on the
// shelf warns, naming it; none earlier, no expiry read, or the check
// off: nothing.
func TestCheckFEFO(t *testing.T) {
	f := newFixture()
	f.stocked("(01)" + gtin + "(21)S1")
	c := f.checker(nil)
	var asked []string
	c.EarlierOnShelf = func(product, location, expiry, item string) (string, string, bool) {
		asked = append(asked, product+"@"+location+"<"+expiry+" not "+item)
		return "L2401", "2026-12-31", location == "CAB-1"
	}
	// Taken from the cabinet where the ledger has it, used in OR-3: the
	// cabinet's shelf is compared.
	d := c.Check(use(gtin, "S1"), true)
	if d.Outcome != Warn || !slices.Contains(codes(d), CheckFEFO) || !slices.Equal(asked, []string{gtin + "@CAB-1<2027-06-30 not (01)" + gtin + "(21)S1"}) {
		t.Fatalf("FEFO: %v %v %v", d.Outcome, codes(d), asked)
	}
	if d.Reasons[0].Text != "first expired, first out: a unit expiring 2026-12-31 (lot L2401) is on hand at CAB-1; this one expires 2027-06-30" {
		t.Errorf("text %q", d.Reasons[0].Text)
	}
	m := use(gtin, "S1")
	m.From = "CAB-2"
	if d := c.Check(m, true); slices.Contains(codes(d), CheckFEFO) {
		t.Errorf("taken from CAB-2, nothing earlier there: %v", codes(d))
	}
	if d := c.Check(use(gtin, "NEW"), true); slices.Contains(codes(d), CheckFEFO) || asked[len(asked)-1] != gtin+"@OR-3<2027-06-30 not (01)"+gtin+"(21)NEW" {
		t.Errorf("an item the ledger does not place: asked %v, %v", asked[len(asked)-1], codes(d))
	}
	m = use(gtin, "S1")
	m.Expiry = ""
	f.states["(01)"+gtin+"(21)S1"] = State{}
	if d := c.Check(m, true); slices.Contains(codes(d), CheckFEFO) {
		t.Errorf("no expiry known: %v", codes(d))
	}
	off := f.checker(Rules{CheckFEFO: SeverityOff})
	off.EarlierOnShelf = c.EarlierOnShelf
	if d := off.Check(use(gtin, "S1"), true); slices.Contains(codes(d), CheckFEFO) {
		t.Errorf("off: %v", codes(d))
	}
}
