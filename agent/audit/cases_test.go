package audit

import (
	"slices"
	"strings"
	"testing"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/master"
)

func casesData(t *testing.T) *master.Data {
	t.Helper()
	cat := []master.CatalogueEntry{
		{GTIN: "06901234100013", Name: "hip stem", UnitPrice: 700000, InsuranceCode: "C09100100000000211790000049", Implant: true,
			Registration: "国械注准20193130001", Manufacturer: "Acme Ortho", Supplier: "华东医药", Tracking: "serial"},
		{GTIN: "06901234100020", Name: "gauze", UnitPrice: 250, Tracking: "lot"},
		{GTIN: "16901234100027", Name: "gauze box", UnitPrice: 2500, PackageOf: "06901234100020", PackageQuantity: 10, Tracking: "lot"},
		{GTIN: "06901234100037", Name: "TAVI valve", UnitPrice: 12900000, OutsideDRG: true, Implant: true, Tracking: "serial"},
	}
	d, err := master.NewData("t", cat, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	sched := "case,patient,room,start,end,procedure,group,payment_standard,surgeon,record_no\n" +
		"C1,P1,OR-3,2026-11-21T08:00:00+08:00,2026-11-21T12:00:00+08:00,hip,IC29,52000.00,王医生,BA001\n"
	d, _, err = d.Import("schedules", strings.NewReader(sched), master.ImportOptions{Format: master.FormatCSV})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestCaseCost: the case's standing uses priced, a box counted as its
// units, a device paid outside the DRG apart, an unknown item unpriced, a
// cancelled use and another case's left out, against the group's
// standard.
func TestCaseCost(t *testing.T) {
	a := &Auditor{Data: casesData(t)}
	inC1 := func(m *agent.Movement) { m.Case = "C1" }
	g := func(gtin string) func(*agent.Movement) {
		return func(m *agent.Movement) { m.GTIN, m.Item = gtin, "(01)"+gtin+"(21)"+m.Serial }
	}
	for _, m := range []agent.Movement{
		mv(1, agent.KindUse, "1", at(21, 9), inC1),
		mv(2, agent.KindUse, "2", at(21, 9), inC1, g("16901234100027")),
		mv(3, agent.KindUse, "3", at(21, 10), inC1, g("06901234100037")),
		mv(4, agent.KindUse, "4", at(21, 10), inC1, g("06909999999996")),
		mv(5, agent.KindUse, "5", at(21, 10), inC1),
		mv(6, agent.KindAdjust, "5", at(21, 10), func(m *agent.Movement) { m.Reason = agent.CancelReason(agent.KindUse, 5) }),
		mv(7, agent.KindUse, "7", at(21, 11), func(m *agent.Movement) { m.Case = "C2" }),
	} {
		a.Add(m)
	}
	c := a.CaseCost("C1")
	if len(c.Lines) != 4 {
		t.Fatalf("%d lines: %+v", len(c.Lines), c.Lines)
	}
	if l := c.Lines[1]; l.Quantity != 10 || l.UnitPrice != 250 || l.Amount != 2500 || l.Product != "06901234100020" {
		t.Errorf("box: %+v", l)
	}
	if c.Total != 700000+2500 || c.OutsideDRG != 12900000 || c.Unpriced != 1 || !c.Lines[3].Unknown {
		t.Errorf("totals %v inside, %v outside, %d unpriced", c.Total, c.OutsideDRG, c.Unpriced)
	}
	if c.Group != "IC29" || c.Standard != 5200000 || int(c.Share*100) != 1350 {
		t.Errorf("group %q standard %v share %v", c.Group, c.Standard, c.Share)
	}
	if c := a.CaseCost("C9"); len(c.Lines) != 0 || c.Total != 0 {
		t.Errorf("an unknown case: %+v", c)
	}
}

// TestImplants: the implant record of a patient, with the schedule's
// medical record number and surgeon; non-implants and other patients
// left out, a cancelled use too.
func TestImplants(t *testing.T) {
	a := &Auditor{Data: casesData(t)}
	for _, m := range []agent.Movement{
		mv(1, agent.KindUse, "1", at(21, 9), func(m *agent.Movement) { m.Case = "C1" }), // patient from the schedule
		mv(2, agent.KindUse, "2", at(21, 9), func(m *agent.Movement) {
			m.Case, m.Patient, m.GTIN, m.Item = "C1", "P1", "06901234100020", "(01)06901234100020(10)L1"
		}),
		mv(3, agent.KindUse, "3", at(21, 10), func(m *agent.Movement) { m.Case, m.Patient = "C7", "P2" }),
		mv(4, agent.KindUse, "4", at(21, 10), func(m *agent.Movement) { m.Case, m.Patient = "C1", "P1" }),
		mv(5, agent.KindAdjust, "4", at(21, 10), func(m *agent.Movement) { m.Reason = agent.CancelReason(agent.KindUse, 4) }),
	} {
		a.Add(m)
	}
	got := a.Implants("P1")
	if len(got) != 1 {
		t.Fatalf("%d records: %+v", len(got), got)
	}
	r := got[0]
	if r.Patient != "P1" || r.Record != "BA001" || r.Surgeon != "王医生" || r.Serial != "1" || r.Lot != "L1" ||
		r.Registration != "国械注准20193130001" || r.Manufacturer != "Acme Ortho" || r.Supplier != "华东医药" || r.Expiry != "2028-12-31" {
		t.Errorf("record %+v", r)
	}
	if all := a.Implants(""); len(all) != 2 || all[1].Patient != "P2" {
		t.Errorf("every patient: %+v", all)
	}
}

// TestProcurement: agreed against used volumes of the selected products,
// a box counted as its units, the non-selected product of the same
// generic name listed, a product of another generic name not, uses out
// of the period not counted.
func TestProcurement(t *testing.T) {
	cat := []master.CatalogueEntry{
		{GTIN: "06901234100013", Name: "stent A", GenericName: "冠脉支架", Procurement: true, AgreedVolume: 100, Tracking: "serial"},
		{GTIN: "16901234100010", Name: "stent A ×5", GenericName: "冠脉支架", PackageOf: "06901234100013", PackageQuantity: 5, Tracking: "lot"},
		{GTIN: "06901234100020", Name: "stent B", GenericName: "冠脉支架", Tracking: "serial"},
		{GTIN: "06901234100037", Name: "hip", GenericName: "髋关节", Tracking: "serial"},
	}
	d, err := master.NewData("t", cat, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := &Auditor{Data: d}
	g := func(gtin string) func(*agent.Movement) {
		return func(m *agent.Movement) { m.GTIN, m.Item = gtin, "(01)"+gtin+"(21)"+m.Serial }
	}
	for _, m := range []agent.Movement{
		mv(1, agent.KindUse, "1", at(21, 9)),
		mv(2, agent.KindUse, "2", at(21, 9), g("16901234100010")),
		mv(3, agent.KindUse, "3", at(21, 9), g("06901234100020")),
		mv(4, agent.KindUse, "4", at(21, 9), g("06901234100037")),
		mv(5, agent.KindUse, "5", at(25, 9)),
	} {
		a.Add(m)
	}
	got := a.Procurement(at(20, 0), at(24, 0))
	want := []VolumeLine{
		{Product: "06901234100013", Name: "stent A", GenericName: "冠脉支架", Selected: true, Agreed: 100, Used: 6},
		{Product: "06901234100020", Name: "stent B", GenericName: "冠脉支架", Used: 1},
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}
