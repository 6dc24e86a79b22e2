package audit

import (
	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/insurance"
	"github.com/udi-edge/udi-edge/agent/lifecycle"
	"github.com/udi-edge/udi-edge/agent/master"
)

// StandingUses returns the uses that stand (see Auditor), in the order
// they were recorded, each with the case and patient a later case link
// gave it.
func (a *Auditor) StandingUses() []agent.Movement {
	uses := a.standing()
	out := make([]agent.Movement, len(uses))
	for i, u := range uses {
		out[i] = u.Movement
	}
	return out
}

// Catalogue returns the master data's catalogue as agent/insurance reads
// it. An item's product is the one rule of the checks and the audit: the
// GTIN read with the item, else the product its key names
// (code.SplitKey), looked up in Data.
func (a *Auditor) Catalogue() insurance.Catalogue { return catalogue{a} }

type catalogue struct{ a *Auditor }

func (c catalogue) Product(item string) (insurance.Product, bool) {
	p, ok := c.a.gtins[item]
	if !ok {
		p = lifecycle.KeyProduct(item)
	}
	// A package's DI is billed as the product it packs.
	e, _, ok := c.a.Data.Resolve(p)
	if !ok {
		return insurance.Product{}, false
	}
	return InsuranceProduct(e), true
}

// InsuranceProduct returns what agent/insurance knows of a catalogue
// entry: the one place a catalogue field becomes a field of the
// platform's records and checks.
func InsuranceProduct(e master.CatalogueEntry) insurance.Product {
	return insurance.Product{
		Key:          e.Product(),
		Name:         e.Name,
		HospitalCode: e.ChargeCode,
		NationalCode: e.InsuranceCode,
		Manufacturer: e.Manufacturer,
		Registration: e.Registration,
		Supplier:     e.Supplier,
		UnitPrice:    e.UnitPrice,
		// The procurement cap: the price insurance pays at most for a
		// product selected in volume-based procurement.
		PriceCap: e.PriceCap,
	}
}

// ReconcileFees reconciles fee lines (interface 2301, as
// insurance.ReadFees returns them) with the uses that stand, visit by
// visit: a visit's lines (mdtrt_id) are those of the case of that id,
// as the case barcode, the schedule and the settlement lines name it
// (Bills), a use linked to a case later counting in that case. Each
// visit is reconciled by insurance.Reconcile over Catalogue, with
// mapCode (nil: the code releases of the master data, if any); the
// findings come visit by visit in the order each visit first appears
// among lines. Only the visits of lines are reconciled: a case no line
// names is not in the file.
func (a *Auditor) ReconcileFees(lines []insurance.FeeLine, mapCode insurance.CodeMapper) []insurance.Finding {
	if mapCode == nil {
		mapCode = a.codeMapper() // the code releases imported as master data
	}
	var visits []string
	byVisit := map[string][]insurance.FeeLine{}
	for _, l := range lines {
		if _, ok := byVisit[l.Visit]; !ok {
			visits = append(visits, l.Visit)
		}
		byVisit[l.Visit] = append(byVisit[l.Visit], l)
	}
	uses := map[string][]agent.Movement{}
	for _, u := range a.StandingUses() {
		if _, ok := byVisit[u.Case]; ok && u.Case != "" {
			uses[u.Case] = append(uses[u.Case], u)
		}
	}
	cat := a.Catalogue()
	var out []insurance.Finding
	for _, v := range visits {
		out = append(out, insurance.Reconcile(v, byVisit[v], uses[v], cat, mapCode)...)
	}
	return out
}
