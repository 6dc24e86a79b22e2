// Package audit finds what an insurance auditor looks for in a gateway's
// movements: anomalies (an item used twice, used after its expiry or from a
// recalled lot, used but never received, billed but never scanned, taken
// from a cabinet and never linked to a use or a return) and the
// reconciliation of uses with settlement records.
//
// Which settlement line bills which use is one rule, Bills, shared by
// reconciliation, billed-never-scanned and trace's settlement lines
// (SettlementsFor). Which uses count is the lifecycle's (lifecycle.History),
// and when an item taken from a cabinet is accounted for is
// lifecycle.LinksRemoval, the running agent's rule too.
//
// The same standing uses are reconciled with the fee detail of the
// national insurance platform (ReconcileFees, by agent/insurance's
// rules), over the catalogue as that package reads it (Catalogue).
//
// It reads movements in sequence order and master data; it never changes
// either, does no I/O and never logs. Its findings name items, cases and
// settlement lines, never patients.
package audit

import (
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/code"
	"github.com/udi-edge/udi-edge/agent/insurance"
	"github.com/udi-edge/udi-edge/agent/lifecycle"
	"github.com/udi-edge/udi-edge/agent/master"
)

// Finding kinds.
const (
	UsedTwice            = "used-twice"
	UsedAfterExpiry      = "used-after-expiry"
	UsedFromRecall       = "used-from-recalled-lot"
	NeverReceived        = "never-received"
	BilledNeverScanned   = "billed-never-scanned"
	RemovedNotLinked     = "removed-not-linked"
	UsedNotBilled        = "used-not-billed"
	InsuranceMismatch    = "insurance-code-mismatch"
	QuantityMismatch     = "quantity-mismatch"
	PendingJustification = "pending-justification"
	UsedWithoutCase      = "used-without-case"
	// The national codes ("three codes in one"), as agent/insurance names
	// them for fee-detail lines.
	NoNationalCode = insurance.NoNationalCode
	WithdrawnCode  = insurance.WithdrawnCode
	OutdatedCode   = insurance.OutdatedCode
)

// DefaultLinkWithin is how long an item taken from a cabinet may stay
// unlinked (not used, returned, wasted or put back) before it is
// reported, when the caller says nothing.
const DefaultLinkWithin = 4 * time.Hour

// Finding is one thing an auditor should look at.
type Finding struct {
	Kind string `json:"kind"`
	Item string `json:"item,omitempty"`
	// Gateway and Seq name the movement the finding is about (a use, a
	// removal), when it is about one.
	Gateway    string `json:"gateway,omitempty"`
	Seq        uint64 `json:"seq,omitempty"`
	Case       string `json:"case,omitempty"`
	Settlement string `json:"settlement,omitempty"`
	Text       string `json:"text"`
}

// Auditor accumulates movements, fed in sequence order, and reports
// findings against the master data. It reads each item's movements as the
// lifecycle does (lifecycle.History): a use the checks blocked or a
// cancellation undid is no use, a use linked to a case later counts in
// that case, a justification completes the item's pending use.
type Auditor struct {
	// Data are the master data (catalogue, recalls, settlements).
	Data *master.Data
	// Now is when the audit runs: an item taken from a cabinet LinkWithin
	// before Now and not linked since (lifecycle.LinksRemoval) is reported.
	Now        time.Time
	LinkWithin time.Duration
	// Codes maps a national insurance code along the NHSA's releases (the
	// old→new and withdrawn tables, agent/nhsa's Releases): the code in
	// force now, and whether it is withdrawn. Nil: the code releases of
	// Data (its "codes" set, master.Data.MapCode) when it holds any, else
	// every code stands as written.
	Codes insurance.CodeMapper

	items map[string]*lifecycle.History
	order []string // item keys, in the order they first moved
	uses  []useRef // every use recorded, in order: cancelled ones too
	// gtins holds the GTIN read with an item whose key names another
	// product, or none (an AHM code): the product is the GTIN (product).
	gtins map[string]string
}

// useRef names a use movement of an item.
type useRef struct {
	item    string
	gateway string
	seq     uint64
}

// Add takes the next movement.
func (a *Auditor) Add(m agent.Movement) {
	if m.Item == "" {
		return
	}
	h := a.items[m.Item]
	if h == nil {
		if !m.Kind.MovesItem() {
			return // a context movement of an item that never moved
		}
		if a.items == nil {
			a.items = map[string]*lifecycle.History{}
		}
		h = &lifecycle.History{}
		a.items[m.Item] = h
		a.order = append(a.order, m.Item)
	}
	h.Add(m)
	if m.GTIN != "" && m.GTIN != code.SplitKey(m.Item).Product {
		if a.gtins == nil {
			a.gtins = map[string]string{}
		}
		a.gtins[m.Item] = m.GTIN
	}
	if m.Kind == agent.KindUse && m.Decision != agent.DecisionBlocked {
		a.uses = append(a.uses, useRef{m.Item, m.Gateway, m.Seq})
	}
}

// standing returns the uses that stand, in the order they were recorded,
// with the history of each use's item.
func (a *Auditor) standing() []standingUse {
	var out []standingUse
	for _, r := range a.uses {
		h := a.items[r.item]
		for i := range h.Uses {
			if u := &h.Uses[i]; u.Seq == r.seq && u.Gateway == r.gateway {
				out = append(out, standingUse{u, h})
				break
			}
		}
	}
	return out
}

type standingUse struct {
	*lifecycle.Use
	item *lifecycle.History
}

// noCase is the flag the point-of-use checks give a use scanned with no
// case open (lifecycle.CheckNoCase).
const noCase = string(lifecycle.CheckNoCase)

// Anomalies returns the findings of the movements added so far, by item in
// the order items first appeared, then billed-never-scanned by settlement.
func (a *Auditor) Anomalies() []Finding {
	var out []Finding
	uses := a.standing()
	for _, s := range uses {
		u, h := s.Movement, s.item
		if len(h.Uses) > 1 && &h.Uses[1] == s.Use && lifecycle.Unit(u.Item) {
			seqs := make([]uint64, len(h.Uses))
			for i := range h.Uses {
				seqs[i] = h.Uses[i].Seq
			}
			out = append(out, Finding{Kind: UsedTwice, Item: u.Item, Gateway: u.Gateway, Seq: u.Seq, Case: u.Case,
				Text: fmt.Sprintf("used %d times: movements %v", len(seqs), seqs)})
		}
		if _, expired, ok := lifecycle.DaysLeft(u.Expiry, u.Time); ok && expired {
			out = append(out, Finding{Kind: UsedAfterExpiry, Item: u.Item, Gateway: u.Gateway, Seq: u.Seq, Case: u.Case,
				Text: fmt.Sprintf("used %s, expired %s", u.Time.Format("2006-01-02"), u.Expiry)})
		}
		if r, ok := a.Data.Recalled(lifecycle.Product(u), u.Lot, u.Serial); ok {
			out = append(out, Finding{Kind: UsedFromRecall, Item: u.Item, Gateway: u.Gateway, Seq: u.Seq, Case: u.Case,
				Text: fmt.Sprintf("recalled %s: %s", r.Date, r.Reason)})
		}
		if u.Case == "" && u.Patient == "" && slices.Contains(u.Flags, noCase) {
			out = append(out, Finding{Kind: UsedWithoutCase, Item: u.Item, Gateway: u.Gateway, Seq: u.Seq,
				Text: "used with no case open and never linked to one"})
		}
		if !h.State.Received && !h.State.Commissioned && &h.Uses[0] == s.Use {
			out = append(out, Finding{Kind: NeverReceived, Item: u.Item, Gateway: u.Gateway, Seq: u.Seq, Case: u.Case,
				Text: "used but never received or commissioned before, on any gateway audited"})
		}
	}
	for _, key := range a.order {
		r := a.items[key].State.Removal
		if r.Outstanding() && a.LinkWithin > 0 && a.Now.Sub(r.Time) > a.LinkWithin {
			out = append(out, Finding{Kind: RemovedNotLinked, Item: key, Gateway: r.Gateway, Seq: r.Seq,
				Text: fmt.Sprintf("taken from %s at %s, not used, returned, wasted or put back since", r.Location, r.Time.Format(time.RFC3339))})
		}
	}
	out = append(out, a.billedNeverScanned(uses)...)
	return out
}

// billedNeverScanned returns the settlement lines no standing use
// matches.
func (a *Auditor) billedNeverScanned(uses []standingUse) []Finding {
	billed := map[string]bool{} // settlement ids
	for _, u := range uses {
		for _, s := range linesFor(a.Data, u.Movement) {
			billed[s.ID] = true
		}
	}
	var out []Finding
	for _, s := range a.Data.Settlements() {
		if s.Quantity <= 0 {
			continue // a reversal bills nothing
		}
		if !billed[s.ID] {
			out = append(out, Finding{Kind: BilledNeverScanned, Item: s.Item, Case: s.Case, Settlement: s.ID,
				Text: fmt.Sprintf("billed %d × %s, no use scanned", s.Quantity, billedWhat(s))})
		}
	}
	return out
}

// Reconcile returns what differs between the uses and the settlement
// records: uses not billed, lines billed but never scanned, lines whose
// insurance code is not the catalogue's, quantities that differ from the
// uses, and uses still pending a justification. Only the uses that stand
// count (see Auditor); which line bills which use is Bills.
func (a *Auditor) Reconcile() []Finding {
	uses := a.standing()
	itemQty := map[string]int{} // item → quantity billed by lines naming it, reversals netted
	type lotGroup struct{ billed, used int }
	groups := map[string]*lotGroup{} // lot lines by GTIN|lot|case
	for _, s := range a.Data.Settlements() {
		if s.Item != "" {
			itemQty[s.Item] += s.Quantity
			continue
		}
		g := groups[lotKey(s)]
		if g == nil {
			g = &lotGroup{}
			groups[lotKey(s)] = g
		}
		g.billed += s.Quantity
	}
	var out []Finding
	nth := map[string]int{} // item → its uses so far
	for _, u := range uses {
		nth[u.Item]++
		lotQty := 0
		counted := map[string]bool{}
		for _, s := range linesFor(a.Data, u.Movement) {
			if s.Item != "" {
				continue
			}
			lotQty += s.Quantity
			if k := lotKey(s); !counted[k] {
				counted[k] = true
				groups[k].used++
			}
		}
		if nth[u.Item] > itemQty[u.Item] && lotQty <= 0 {
			out = append(out, Finding{Kind: UsedNotBilled, Item: u.Item, Gateway: u.Gateway, Seq: u.Seq, Case: u.Case,
				Text: "used, no settlement line bills it"})
		}
		if u.Pending() {
			out = append(out, Finding{Kind: PendingJustification, Item: u.Item, Gateway: u.Gateway, Seq: u.Seq, Case: u.Case,
				Text: "imported item used without a recorded necessity justification"})
		}
	}
	out = append(out, a.billedNeverScanned(uses)...)
	out = append(out, a.nationalCodes(uses)...)
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if g := groups[k]; g.billed > 0 && g.used > 0 && g.billed != g.used {
			out = append(out, Finding{Kind: QuantityMismatch, Text: fmt.Sprintf("%s: billed %d, used %d", k, g.billed, g.used)})
		}
	}
	return out
}

// nationalCodes returns the disagreements of the three codes: a line
// whose national code is not its item's (a 20-character code matches the
// 27 that extends it; both are first taken along the releases), a line or
// a used product whose code is withdrawn or replaced, and a used product
// the catalogue gives no national code (once a product).
func (a *Auditor) nationalCodes(uses []standingUse) []Finding {
	var out []Finding
	codes := a.codeMapper()
	mapped := func(c string) (string, bool) {
		if codes == nil || c == "" {
			return c, false
		}
		return codes(c)
	}
	for _, s := range a.Data.Settlements() {
		if s.InsuranceCode == "" {
			continue
		}
		now, withdrawn := mapped(s.InsuranceCode)
		switch {
		case withdrawn:
			out = append(out, Finding{Kind: WithdrawnCode, Item: s.Item, Case: s.Case, Settlement: s.ID,
				Text: fmt.Sprintf("billed as %s, a withdrawn national code", s.InsuranceCode)})
			continue
		case now != s.InsuranceCode:
			out = append(out, Finding{Kind: OutdatedCode, Item: s.Item, Case: s.Case, Settlement: s.ID,
				Text: fmt.Sprintf("billed as %s, replaced by %s", s.InsuranceCode, now)})
		}
		p := s.GTIN
		if p == "" {
			p = lifecycle.KeyProduct(s.Item)
		}
		e, _, ok := a.Data.Resolve(p)
		if !ok || e.InsuranceCode == "" {
			continue
		}
		if cat, _ := mapped(e.InsuranceCode); !insurance.CodesMatch(now, cat) {
			out = append(out, Finding{Kind: InsuranceMismatch, Item: s.Item, Case: s.Case, Settlement: s.ID,
				Text: fmt.Sprintf("billed as %s, the catalogue says %s", s.InsuranceCode, e.InsuranceCode)})
		}
	}
	seen := map[string]bool{}
	for _, u := range uses {
		p := lifecycle.Product(u.Movement)
		if p == "" || seen[p] {
			continue
		}
		seen[p] = true
		e, _, ok := a.Data.Resolve(p)
		if !ok {
			continue // unknown items are the checks' and anomalies' to report
		}
		switch now, withdrawn := mapped(e.InsuranceCode); {
		case e.InsuranceCode == "":
			out = append(out, Finding{Kind: NoNationalCode, Item: u.Item, Gateway: u.Gateway, Seq: u.Seq, Case: u.Case,
				Text: fmt.Sprintf("product %s (%s) has no national insurance code in the catalogue: no settlement line can name it", p, e.Name)})
		case withdrawn:
			out = append(out, Finding{Kind: WithdrawnCode, Item: u.Item, Gateway: u.Gateway, Seq: u.Seq, Case: u.Case,
				Text: fmt.Sprintf("product %s carries %s, a withdrawn national code", p, e.InsuranceCode)})
		case now != e.InsuranceCode:
			out = append(out, Finding{Kind: OutdatedCode, Item: u.Item, Gateway: u.Gateway, Seq: u.Seq, Case: u.Case,
				Text: fmt.Sprintf("product %s carries %s, replaced by %s", p, e.InsuranceCode, now)})
		}
	}
	return out
}

// codeMapper returns the code releases reconciliation maps codes with:
// Codes, else those of Data, else nil.
func (a *Auditor) codeMapper() insurance.CodeMapper {
	if a.Codes != nil {
		return a.Codes
	}
	if a.Data.Counts().Codes > 0 {
		return a.Data.MapCode
	}
	return nil
}

// lotKey groups the lines that name a product (and lot) in a case.
func lotKey(s master.Settlement) string { return s.GTIN + "|" + s.Lot + "|" + s.Case }

func billedWhat(s master.Settlement) string {
	if s.Item != "" {
		return s.Item
	}
	return "(01)" + s.GTIN + "(10)" + s.Lot
}
