// Package audit finds what an insurance auditor looks for in a gateway's
// movements: anomalies (an item used twice, used after its expiry or from a
// recalled lot, used but never received, billed but never scanned, taken
// from a cabinet and never linked to a use or a return) and the
// reconciliation of uses with settlement records.
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
)

// Finding is one thing an auditor should look at.
type Finding struct {
	Kind       string `json:"kind"`
	Item       string `json:"item,omitempty"`
	Seq        uint64 `json:"seq,omitempty"`
	Case       string `json:"case,omitempty"`
	Settlement string `json:"settlement,omitempty"`
	Text       string `json:"text"`
}

// Auditor accumulates movements, fed in sequence order, and reports
// findings against the master data.
type Auditor struct {
	// Data are the master data (catalogue, recalls, settlements).
	Data *master.Data
	// Now is when the audit runs: an item taken from a cabinet LinkWithin
	// before Now and not used, returned or wasted since is reported.
	Now        time.Time
	LinkWithin time.Duration

	items     map[string]*itemLog
	justified map[string]bool // items whose pending use was justified
	order     []string
	uses      []agent.Movement // accepted uses, in order
}

type itemLog struct {
	received bool
	uses     []uint64
	issued   *agent.Movement // last removal not yet followed by a use, return or waste
}

// Add takes the next movement.
func (a *Auditor) Add(m agent.Movement) {
	if m.Kind == agent.KindContext && m.Item != "" && slices.Contains(m.Flags, agent.FlagJustification) {
		if a.justified == nil {
			a.justified = map[string]bool{}
		}
		a.justified[m.Item] = true
		return
	}
	if seq, ok := agent.Linked(m); ok {
		// A use recorded with no case, linked to the case opened after it:
		// from now on the use counts in that case.
		for i := len(a.uses) - 1; i >= 0; i-- {
			if a.uses[i].Seq == seq && a.uses[i].Item == m.Item {
				a.uses[i].Case, a.uses[i].Patient = m.Case, m.Patient
				break
			}
		}
		return
	}
	if !m.Kind.MovesItem() || m.Item == "" || m.Decision == agent.DecisionBlocked {
		return
	}
	if a.items == nil {
		a.items = map[string]*itemLog{}
	}
	l := a.items[m.Item]
	if l == nil {
		l = &itemLog{}
		a.items[m.Item] = l
		a.order = append(a.order, m.Item)
	}
	switch m.Kind {
	case agent.KindReceive, agent.KindCommission:
		l.received = true
	case agent.KindIssue:
		mm := m
		l.issued = &mm
	case agent.KindUse:
		l.uses = append(l.uses, m.Seq)
		l.issued = nil
		a.uses = append(a.uses, m)
	case agent.KindReturn, agent.KindWaste, agent.KindDispose, agent.KindQuarantine:
		l.issued = nil
	}
}

// noCase is the flag the point-of-use checks give a use scanned with no
// case open (lifecycle.CheckNoCase).
const noCase = "no-case"

// Anomalies returns the findings of the movements added so far, by item in
// the order items first appeared, then billed-never-scanned by settlement.
func (a *Auditor) Anomalies() []Finding {
	var out []Finding
	for _, u := range a.uses {
		l := a.items[u.Item]
		if len(l.uses) > 1 && l.uses[1] == u.Seq {
			out = append(out, Finding{Kind: UsedTwice, Item: u.Item, Seq: u.Seq, Case: u.Case,
				Text: fmt.Sprintf("used %d times: movements %v", len(l.uses), l.uses)})
		}
		if exp, ok := parseDate(u.Expiry); ok && !u.Time.Before(time.Date(exp.Year(), exp.Month(), exp.Day()+1, 0, 0, 0, 0, u.Time.Location())) {
			out = append(out, Finding{Kind: UsedAfterExpiry, Item: u.Item, Seq: u.Seq, Case: u.Case,
				Text: fmt.Sprintf("used %s, expired %s", u.Time.Format("2006-01-02"), u.Expiry)})
		}
		if r, ok := a.Data.Recalled(product(u), u.Lot, u.Serial); ok {
			out = append(out, Finding{Kind: UsedFromRecall, Item: u.Item, Seq: u.Seq, Case: u.Case,
				Text: fmt.Sprintf("recalled %s: %s", r.Date, r.Reason)})
		}
		if u.Case == "" && u.Patient == "" && slices.Contains(u.Flags, noCase) {
			out = append(out, Finding{Kind: UsedWithoutCase, Item: u.Item, Seq: u.Seq,
				Text: "used with no case open and never linked to one"})
		}
		if !l.received && l.uses[0] == u.Seq {
			out = append(out, Finding{Kind: NeverReceived, Item: u.Item, Seq: u.Seq, Case: u.Case,
				Text: "used but never received or commissioned on this gateway"})
		}
	}
	for _, key := range a.order {
		l := a.items[key]
		if l.issued != nil && a.LinkWithin > 0 && a.Now.Sub(l.issued.Time) > a.LinkWithin {
			out = append(out, Finding{Kind: RemovedNotLinked, Item: key, Seq: l.issued.Seq,
				Text: fmt.Sprintf("taken from %s at %s, not used, returned or wasted since", l.issued.Location, l.issued.Time.Format(time.RFC3339))})
		}
	}
	out = append(out, a.billedNeverScanned()...)
	return out
}

// billedNeverScanned returns the settlement lines no use matches.
func (a *Auditor) billedNeverScanned() []Finding {
	var out []Finding
	for _, s := range a.Data.Settlements() {
		if s.Quantity <= 0 {
			continue // a reversal bills nothing
		}
		if a.matchingUses(s) == 0 {
			out = append(out, Finding{Kind: BilledNeverScanned, Item: s.Item, Case: s.Case, Settlement: s.ID,
				Text: fmt.Sprintf("billed %d × %s, no use scanned", s.Quantity, billedWhat(s))})
		}
	}
	return out
}

// matchingUses counts the accepted uses a settlement line bills: the item
// itself, or uses of its GTIN and lot in its case.
func (a *Auditor) matchingUses(s master.Settlement) int {
	if s.Item != "" {
		if l := a.items[s.Item]; l != nil {
			return len(l.uses)
		}
		return 0
	}
	n := 0
	for _, u := range a.uses {
		if u.GTIN == s.GTIN && (s.Lot == "" || u.Lot == s.Lot) && (s.Case == "" || u.Case == s.Case) {
			n++
		}
	}
	return n
}

// Reconcile returns what differs between the uses and the settlement
// records: uses not billed, lines billed but never scanned, lines whose
// insurance code is not the catalogue's, quantities that differ from the
// uses, and uses still pending a justification.
func (a *Auditor) Reconcile() []Finding {
	billed := map[string]int{} // item → billed quantity, reversals netted
	byLot := map[string]int{}  // gtin|lot|case → billed quantity
	for _, s := range a.Data.Settlements() {
		if s.Item != "" {
			billed[s.Item] += s.Quantity
		} else {
			byLot[s.GTIN+"|"+s.Lot+"|"+s.Case] += s.Quantity
		}
	}
	var out []Finding
	usedByLot := map[string]int{}
	usedItem := map[string]int{}
	for _, u := range a.uses {
		k := u.GTIN + "|" + u.Lot + "|" + u.Case
		usedByLot[k]++
		usedItem[u.Item]++
		if usedItem[u.Item] > billed[u.Item] && byLot[k] == 0 && byLot[u.GTIN+"||"+u.Case] == 0 {
			out = append(out, Finding{Kind: UsedNotBilled, Item: u.Item, Seq: u.Seq, Case: u.Case,
				Text: "used, no settlement line bills it"})
		}
		if u.Decision == agent.DecisionPending && !a.justified[u.Item] {
			out = append(out, Finding{Kind: PendingJustification, Item: u.Item, Seq: u.Seq, Case: u.Case,
				Text: "imported item used without a recorded necessity justification"})
		}
	}
	out = append(out, a.billedNeverScanned()...)
	for _, s := range a.Data.Settlements() {
		if s.InsuranceCode != "" {
			p := s.GTIN
			if p == "" {
				p = productOfKey(s.Item)
			}
			if e, ok := a.Data.Lookup(p); ok && e.InsuranceCode != "" && e.InsuranceCode != s.InsuranceCode {
				out = append(out, Finding{Kind: InsuranceMismatch, Item: s.Item, Case: s.Case, Settlement: s.ID,
					Text: fmt.Sprintf("billed as %s, the catalogue says %s", s.InsuranceCode, e.InsuranceCode)})
			}
		}
	}
	keys := make([]string, 0, len(byLot))
	for k := range byLot {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if q, used := byLot[k], usedByLot[k]; q > 0 && used > 0 && q != used {
			out = append(out, Finding{Kind: QuantityMismatch, Text: fmt.Sprintf("%s: billed %d, used %d", k, q, used)})
		}
	}
	return out
}

func billedWhat(s master.Settlement) string {
	if s.Item != "" {
		return s.Item
	}
	return "(01)" + s.GTIN + "(10)" + s.Lot
}

func product(m agent.Movement) string {
	if m.GTIN != "" {
		return m.GTIN
	}
	return productOfKey(m.Item)
}

// productOfKey returns the GTIN of a "(01)GTIN…" key, or the HIBC product
// part of a "+LICPCNUOM/…" key.
func productOfKey(key string) string {
	if len(key) >= 18 && key[:4] == "(01)" {
		return key[4:18]
	}
	for i := 0; i < len(key); i++ {
		if key[i] == '/' {
			return key[:i]
		}
	}
	return key
}

func parseDate(s string) (time.Time, bool) {
	if len(s) < 10 {
		return time.Time{}, false
	}
	t, err := time.Parse("2006-01-02", s[:10])
	return t, err == nil
}
