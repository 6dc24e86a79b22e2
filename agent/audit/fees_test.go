package audit

import (
	"slices"
	"testing"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/insurance"
	"github.com/udi-edge/udi-edge/agent/master"
)

// feeLine is a charge of qty units at price (fen) of code in visit.
func feeLine(t *testing.T, sn, visit, code, hospital string, qty int, price master.Amount) insurance.FeeLine {
	t.Helper()
	p, ok := insurance.PriceOf(price)
	if !ok {
		t.Fatal("price out of range")
	}
	return insurance.FeeLine{SN: sn, Visit: visit, Code: code, HospitalCode: hospital, Qty: insurance.QtyOf(qty),
		Price: p, Amount: price * master.Amount(qty)}
}

// TestReconcileFeesByVisit: a visit's fee lines are reconciled with the
// uses that stand in the case of that id: a cancelled or blocked use
// does not count, a use linked to the case later does, an item whose key
// names no product is found by the GTIN read with it, and a case no line
// names is left alone.
func TestReconcileFeesByVisit(t *testing.T) {
	cat := []master.CatalogueEntry{
		{GTIN: "06901234100013", Name: "hip stem", InsuranceCode: "C0301010010000100001", ChargeCode: "HC1", UnitPrice: 685000, Tracking: "serial",
			Manufacturer: "华东骨科", Registration: "国械注准20203130001"},
		{GTIN: "06901234100020", Name: "cup", InsuranceCode: "C0301010020000200001", ChargeCode: "HC2", UnitPrice: 532050, Tracking: "serial"},
	}
	d, err := master.NewData("t", cat, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	const tag = "urn:epc:raw:96.xE2801160600002054CC2096F" // a tag's key: it names no product
	inCase := func(c string) func(*agent.Movement) { return func(m *agent.Movement) { m.Case = c } }
	ms := []agent.Movement{
		mv(1, agent.KindUse, "1", at(21, 10), inCase("V1")),
		mv(2, agent.KindUse, "2", at(21, 10), inCase("V1")),
		mv(3, agent.KindAdjust, "2", at(21, 10), func(m *agent.Movement) { m.Reason = agent.CancelReason(agent.KindUse, 2) }),
		mv(4, agent.KindUse, "3", at(21, 11), inCase("V1"), func(m *agent.Movement) { m.Decision = agent.DecisionBlocked }),
		mv(5, agent.KindUse, "", at(21, 11), func(m *agent.Movement) { m.Item, m.GTIN, m.Serial = tag, "06901234100020", "" }),
		mv(6, agent.KindContext, "", at(21, 11), func(m *agent.Movement) {
			m.Item, m.GTIN, m.Serial, m.Case, m.Flags, m.Reason = tag, "06901234100020", "", "V1", []string{agent.FlagCaseLink}, agent.LinkReason(5)
		}),
		mv(7, agent.KindUse, "4", at(21, 12), inCase("V2")),
	}
	a := &Auditor{Data: d}
	for _, m := range ms {
		a.Add(m)
	}
	var seqs []uint64
	for _, u := range a.StandingUses() {
		seqs = append(seqs, u.Seq)
		if u.Seq == 5 && u.Case != "V1" {
			t.Errorf("the linked use stands in case %q, want V1", u.Case)
		}
	}
	if !slices.Equal(seqs, []uint64{1, 5, 7}) {
		t.Fatalf("standing uses %v, want 1 5 7", seqs)
	}
	if p, ok := a.Catalogue().Product(tag); !ok || p.Key != "06901234100020" || p.HospitalCode != "HC2" || p.NationalCode != "C0301010020000200001" {
		t.Fatalf("the tag's product: %+v %v", p, ok)
	}
	if p, _ := a.Catalogue().Product("(01)06901234100013(21)9"); p.Name != "hip stem" || p.UnitPrice != 685000 ||
		p.Manufacturer != "华东骨科" || p.Registration != "国械注准20203130001" {
		t.Fatalf("the hip stem's product: %+v", p)
	}
	lines := []insurance.FeeLine{
		feeLine(t, "F1", "V1", "C0301010010000100001", "HC1", 1, 685000),
		feeLine(t, "F9", "V3", "C0301020010000300001", "HC3", 1, 798000),
		feeLine(t, "F2", "V1", "C0301010020000200001", "HC2", 1, 532050),
	}
	got := a.ReconcileFees(lines, nil)
	if len(got) != 1 || got[0].Kind != insurance.BilledNotScanned || got[0].Case != "V3" || got[0].Line != "F9" {
		t.Fatalf("findings %+v, want only F9 billed and not scanned in V3", got)
	}
	// A visit whose billed quantity the standing uses do not make.
	lines[0].Qty, lines[0].Amount = insurance.QtyOf(2), 2*685000
	got = a.ReconcileFees(lines, nil)
	if len(got) != 2 || got[0].Kind != insurance.QuantityMismatch || got[0].Case != "V1" || got[1].Case != "V3" {
		t.Fatalf("findings %+v, want V1's quantity, then V3's line", got)
	}
}
