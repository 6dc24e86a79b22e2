package insurance

import (
	"fmt"
	"math/big"
	"sort"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/master"
)

// Finding kinds.
const (
	// BilledNotScanned: a consumable line (net of its refunds) bills a
	// code no scanned use of the case has.
	BilledNotScanned = "billed-not-scanned"
	// ScannedNotBilled: a use whose item's code no line bills.
	ScannedNotBilled = "scanned-not-billed"
	// QuantityMismatch: the lines of a code bill (net of refunds) another
	// quantity than the uses of that code.
	QuantityMismatch = "quantity-mismatch"
	// CodeMismatch: a line bills under a national code that is not the
	// code of the items scanned under its hospital code.
	CodeMismatch = "code-mismatch"
	// WithdrawnCode: a line bills, or a used item's product carries, a
	// national code the catalogue release withdrew.
	WithdrawnCode = "withdrawn-code"
	// OutdatedCode: a line bills, or a product carries, a code the release
	// replaced by another (the comparison uses the new one).
	OutdatedCode = "outdated-code"
	// AbovePriceCap: a line's price is above the platform's cap for it
	// (pric > pric_uplmt_amt).
	AbovePriceCap = "above-price-cap"
	// AboveProcurementCap: a line's price is above the volume-based
	// procurement price of the product scanned for it.
	AboveProcurementCap = "above-procurement-cap"
	// AmountMismatch: a line's total is not its quantity times its price,
	// to the fen.
	AmountMismatch = "amount-mismatch"
	// UnknownItem: a used item is not in the catalogue, so its code is
	// unknown.
	UnknownItem = "unknown-item"
	// NoNationalCode: a used item's product has no national code.
	NoNationalCode = "no-national-code"
	// TraceCountMismatch: the settlement's required count of consumable
	// trace codes differs from the case's uses (CheckTraceCount).
	TraceCountMismatch = "trace-count-mismatch"
)

// Finding is one thing between a case's fee lines and its scanned uses
// that an auditor should look at. It names lines, items, codes and the
// case, never a patient.
type Finding struct {
	Kind string `json:"kind"`
	// Case is the case reconciled.
	Case string `json:"case,omitempty"`
	// Line is the SN (feedetl_sn) of the fee line the finding is about,
	// when it is about one: the first charge of its code.
	Line string `json:"line,omitempty"`
	// Item is the item key of the use the finding is about, when it is
	// about one.
	Item string `json:"item,omitempty"`
	// Code is the national code concerned.
	Code string `json:"code,omitempty"`
	// Detail says what was found, in words.
	Detail string `json:"detail"`
}

// lineGroup is the lines of one national code (as in force).
type lineGroup struct {
	code  string
	lines []*FeeLine
	net   Qty
	uses  []*useGroup
}

// first returns the SN of the group's first charge, or of its first line.
func (g *lineGroup) first() string {
	for _, l := range g.lines {
		if !l.Refund() {
			return l.SN
		}
	}
	return g.lines[0].SN
}

// useGroup is the uses of one national code (as in force).
type useGroup struct {
	code     string
	uses     []agent.Movement
	at       []int // each use's place in the order of findings
	products []Product
	assigned bool
}

// Reconcile compares the fee lines of a case with its standing uses (use
// movements; a use the checks blocked is left out, a cancelled one must
// not be given) and returns what differs, in the order of the lines,
// then of the uses, each finding is about.
//
// Lines and uses are compared by national code as in force (mapCode):
// codes match when equal, or on their first 20 characters when one has
// only those (CodesMatch). A line whose code no use has is matched, by
// its hospital code (medins_list_codg), with uses of products of that
// code: a CodeMismatch. Quantities are net of refunds: a line refunded
// whole bills nothing. Only lines of consumable codes ("C…") are
// reported billed and not scanned. Each charge is checked against the
// platform's price cap (its result's pric_uplmt_amt) and against the
// procurement cap of the products scanned for it, and its total against
// its quantity times its price.
func Reconcile(caseID string, lines []FeeLine, uses []agent.Movement, cat Catalogue, mapCode CodeMapper) []Finding {
	// Findings are ordered by the line (its index) or the use (after the
	// lines) they are about.
	type ordered struct {
		at int
		f  Finding
	}
	var found []ordered
	at := 0
	add := func(f Finding) { f.Case = caseID; found = append(found, ordered{at, f}) }
	index := map[*FeeLine]int{}

	// The lines, by code.
	var groups []*lineGroup
	byCode := map[string]*lineGroup{}
	for i := range lines {
		l := &lines[i]
		at, index[l] = i, i
		cur := inForce(mapCode, l.Code, Finding{Line: l.SN}, "line "+l.SN+" bills", add)
		if !l.Refund() {
			if want, ok := lineTotal(l.Qty, l.Price); ok && !amountNear(l.Amount, l.Qty, l.Price) {
				add(Finding{Kind: AmountMismatch, Line: l.SN, Code: l.Code, Detail: fmt.Sprintf("line %s totals %s, but %s × %s is %s", l.SN, l.Amount, l.Qty, l.Price, want)})
			}
			if r := l.Result; r != nil && r.PriceCap > 0 && l.Price > r.PriceCap {
				add(Finding{Kind: AbovePriceCap, Line: l.SN, Code: l.Code, Detail: fmt.Sprintf("line %s is priced %s, above the platform's cap of %s", l.SN, l.Price, r.PriceCap)})
			}
		}
		g := byCode[cur]
		if g == nil {
			g = &lineGroup{code: cur}
			byCode[cur] = g
			groups = append(groups, g)
		}
		g.lines = append(g.lines, l)
		g.net += l.Qty
	}

	// The uses, by code.
	var ugroups []*useGroup
	uByCode := map[string]*useGroup{}
	for _, m := range uses {
		at++
		if m.Kind != agent.KindUse || m.Decision == agent.DecisionBlocked {
			continue
		}
		p, ok := cat.Product(m.Item)
		if !ok {
			add(Finding{Kind: UnknownItem, Item: m.Item, Detail: "the item used is not in the catalogue: its national code is unknown"})
			continue
		}
		if p.NationalCode == "" {
			add(Finding{Kind: NoNationalCode, Item: m.Item, Detail: fmt.Sprintf("product %s (%s) has no national code: no line can bill it", p.Key, p.Name)})
			continue
		}
		cur := inForce(mapCode, p.NationalCode, Finding{Item: m.Item}, "product "+p.Key+" carries", add)
		g := uByCode[cur]
		if g == nil {
			g = &useGroup{code: cur}
			uByCode[cur] = g
			ugroups = append(ugroups, g)
		}
		g.uses = append(g.uses, m)
		g.products = append(g.products, p)
		g.at = append(g.at, at)
	}

	// Uses to lines: the same code, then on 20 characters.
	for _, u := range ugroups {
		if g := byCode[u.code]; g != nil {
			g.uses, u.assigned = append(g.uses, u), true
		}
	}
	for _, u := range ugroups {
		for _, g := range groups {
			if !u.assigned && CodesMatch(g.code, u.code) {
				g.uses, u.assigned = append(g.uses, u), true
			}
		}
	}
	// A line no use matched, by its hospital code.
	for _, g := range groups {
		if len(g.uses) > 0 || g.net <= 0 {
			continue
		}
		for _, u := range ugroups {
			if u.assigned || !sharesHospitalCode(g, u) {
				continue
			}
			g.uses, u.assigned = append(g.uses, u), true
			at = index[g.lines[0]]
			add(Finding{Kind: CodeMismatch, Line: g.first(), Item: u.uses[0].Item, Code: g.code, Detail: fmt.Sprintf(
				"line %s bills code %s under hospital code %s, whose scanned items have code %s", g.first(), g.code, u.products[0].HospitalCode, u.code)})
		}
	}

	for _, g := range groups {
		at = index[g.lines[0]]
		n := 0
		for _, u := range g.uses {
			n += len(u.uses)
		}
		switch {
		case n == 0 && g.net > 0 && Consumable(g.code):
			add(Finding{Kind: BilledNotScanned, Line: g.first(), Code: g.code, Detail: fmt.Sprintf("billed %s of code %s, net of refunds, and no use of that code was scanned in the case", g.net, g.code)})
		case n > 0 && g.net != QtyOf(n):
			add(Finding{Kind: QuantityMismatch, Line: g.first(), Code: g.code, Detail: fmt.Sprintf("billed %s of code %s, net of refunds, and %d were scanned", g.net, g.code, n)})
		}
		procurementCaps(g, func(l *FeeLine, f Finding) { at = index[l]; add(f) })
	}
	for _, u := range ugroups {
		if u.assigned {
			continue
		}
		for i, m := range u.uses {
			at = u.at[i]
			add(Finding{Kind: ScannedNotBilled, Item: m.Item, Code: u.code, Detail: fmt.Sprintf("used, and no line bills code %s", u.code)})
		}
	}
	sort.SliceStable(found, func(i, j int) bool { return found[i].at < found[j].at })
	out := make([]Finding, len(found))
	for i, o := range found {
		out[i] = o.f
	}
	return out
}

// inForce returns the code in force of code, and reports a withdrawn or
// replaced code as f, whose subject ("line 7 bills") who names.
func inForce(mapCode CodeMapper, code string, f Finding, who string, add func(Finding)) string {
	cur, withdrawn := mapCode.apply(code)
	f.Code = code
	switch {
	case withdrawn:
		f.Kind, f.Detail = WithdrawnCode, fmt.Sprintf("%s code %s, which the catalogue withdrew", who, code)
		add(f)
	case cur != code:
		f.Kind, f.Detail = OutdatedCode, fmt.Sprintf("%s code %s, which %s replaces", who, code, cur)
		add(f)
	}
	return cur
}

// procurementCaps reports the charges of g priced above the procurement
// cap of a product scanned for them.
func procurementCaps(g *lineGroup, add func(*FeeLine, Finding)) {
	for _, l := range g.lines {
		if l.Refund() {
			continue
		}
	products:
		for _, u := range g.uses {
			for _, p := range u.products {
				if p.PriceCap > 0 && l.Price.Above(p.PriceCap) {
					add(l, Finding{Kind: AboveProcurementCap, Line: l.SN, Code: l.Code, Detail: fmt.Sprintf(
						"line %s is priced %s, above the procurement price of %s for product %s", l.SN, l.Price, p.PriceCap, p.Key)})
					break products
				}
			}
		}
	}
}

func sharesHospitalCode(g *lineGroup, u *useGroup) bool {
	for _, l := range g.lines {
		for _, p := range u.products {
			if l.HospitalCode != "" && l.HospitalCode == p.HospitalCode {
				return true
			}
		}
	}
	return false
}

// tenPow8 is the number of product units (10^-10 yuan: a Qty times a
// Price) in a fen.
var tenPow8 = big.NewInt(100_000_000)

// lineTotal returns qty × price rounded half away from zero to the fen;
// false when it does not fit in an Amount.
func lineTotal(qty Qty, price Price) (master.Amount, bool) {
	p := new(big.Int).Mul(big.NewInt(int64(qty)), big.NewInt(int64(price)))
	neg := p.Sign() < 0
	p.Abs(p)
	p.Add(p, big.NewInt(50_000_000))
	p.Quo(p, tenPow8)
	if !p.IsInt64() {
		return 0, false
	}
	v := p.Int64()
	if neg {
		v = -v
	}
	return master.Amount(v), true
}

// amountNear reports whether amount is qty × price to the fen: less than
// a fen away from it, whichever way the hospital's system rounded.
func amountNear(amount master.Amount, qty Qty, price Price) bool {
	p := new(big.Int).Mul(big.NewInt(int64(qty)), big.NewInt(int64(price)))
	p.Sub(p, new(big.Int).Mul(big.NewInt(int64(amount)), tenPow8))
	return p.CmpAbs(tenPow8) < 0
}
