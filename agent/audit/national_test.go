package audit

import (
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/master"
)

// TestReconcileThreeCodes: the disagreements of the three codes, with
// the NHSA's releases: a 20-character line against the 27-character code
// that extends it agrees; a line under another code, a withdrawn code, a
// replaced code, and a used product without a national code are each
// reported once.
func TestReconcileThreeCodes(t *testing.T) {
	const (
		stem, cup, plate = "06901234100013", "06901234100020", "06901234100037"
		stemCode         = "C09100100000000211790000049"
		cupOld           = "C09100100000000211790000050"
		cupNew           = "C09100100000000211790000061"
	)
	cat := []master.CatalogueEntry{
		{GTIN: stem, Name: "stem", InsuranceCode: stemCode, Tracking: "serial"},
		{GTIN: cup, Name: "cup", InsuranceCode: cupOld, Tracking: "serial"},
		{GTIN: plate, Name: "plate", Tracking: "serial"},
	}
	line := func(id, g, serial, code string) master.Settlement {
		return master.Settlement{ID: id, Patient: "P1", Case: "C1", Item: "(01)" + g + "(21)" + serial, GTIN: g, Quantity: 1, Amount: 100, InsuranceCode: code}
	}
	sets := []master.Settlement{
		line("L1", stem, "1", stemCode[:20]),                 // the 20 of the item's 27: agrees
		line("L2", stem, "2", "C09100100000000211790000072"), // another code
		line("L3", cup, "3", "C09100100000000211790000083"),  // withdrawn
		line("L4", cup, "4", cupOld),                         // replaced, and the item's is too
	}
	d, err := master.NewData("t", cat, nil, nil, sets)
	if err != nil {
		t.Fatal(err)
	}
	a := &Auditor{Data: d, Codes: func(c string) (string, bool) {
		switch c {
		case "C09100100000000211790000083":
			return c, true
		case cupOld:
			return cupNew, false
		}
		return c, false
	}}
	use := func(seq uint64, g, serial string) agent.Movement {
		return agent.Movement{Seq: seq, Kind: agent.KindUse, Item: "(01)" + g + "(21)" + serial, GTIN: g, Serial: serial,
			Case: "C1", Time: time.Date(2026, 11, 21, 10, 0, 0, 0, cst)}
	}
	for _, m := range []agent.Movement{use(1, stem, "1"), use(2, stem, "2"), use(3, cup, "3"), use(4, cup, "4"), use(5, plate, "5"), use(6, plate, "6")} {
		a.Add(m)
	}
	got := kinds(a.Reconcile())
	if f := got[InsuranceMismatch]; len(f) != 1 || f[0].Settlement != "L2" {
		t.Errorf("mismatch: %+v", f)
	}
	if f := got[WithdrawnCode]; len(f) != 1 || f[0].Settlement != "L3" {
		t.Errorf("withdrawn: %+v", f)
	}
	out := got[OutdatedCode]
	if len(out) != 2 || out[0].Settlement != "L4" || out[1].Item != "(01)"+cup+"(21)3" || !strings.Contains(out[1].Text, cupNew) {
		t.Errorf("outdated: %+v", out)
	}
	if f := got[NoNationalCode]; len(f) != 1 || f[0].Item != "(01)"+plate+"(21)5" {
		t.Errorf("no national code: %+v", f)
	}
	// Without the releases the old code stands: no outdated finding, and
	// the line under it agrees with the item.
	a.Codes = nil
	got = kinds(a.Reconcile())
	if len(got[OutdatedCode]) != 0 || len(got[WithdrawnCode]) != 0 || len(got[InsuranceMismatch]) != 2 {
		t.Errorf("without releases: %+v", got)
	}
}

// TestReconcileCodesFromMasterData: the code releases imported as master
// data (the codes set) apply when no tables are given.
func TestReconcileCodesFromMasterData(t *testing.T) {
	const stem = "06901234100013"
	const old, cur = "C09100100000000211790000050", "C09100100000000211790000061"
	cat := []master.CatalogueEntry{{GTIN: stem, Name: "stem", InsuranceCode: old, Tracking: "serial"}}
	d, err := master.NewData("t", cat, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, _, err = d.Import("codes", strings.NewReader("code,new_code\n"+old+","+cur+"\n"), master.ImportOptions{Format: master.FormatCSV})
	if err != nil {
		t.Fatal(err)
	}
	a := &Auditor{Data: d}
	a.Add(agent.Movement{Seq: 1, Kind: agent.KindUse, Item: "(01)" + stem + "(21)1", GTIN: stem, Case: "C1", Time: time.Date(2026, 11, 21, 10, 0, 0, 0, cst)})
	out := kinds(a.Reconcile())[OutdatedCode]
	if len(out) != 1 || !strings.Contains(out[0].Text, cur) {
		t.Errorf("outdated: %+v", out)
	}
}
