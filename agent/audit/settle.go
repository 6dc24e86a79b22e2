package audit

import (
	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/lifecycle"
	"github.com/udi-edge/udi-edge/agent/master"
)

// Bills reports whether the settlement line s bills use, a use movement
// (with the case a later case link gave it, if any): the one rule of
// trace's settlement lines, reconcile and billed-never-scanned.
//
// A line naming an item (s.Item) bills that item's uses, whatever case
// either names: the serial names the one item, and the hospital's billing
// may name the case by another number (the admission) than the station
// (the surgical case). A line naming a product and lot (s.Item empty)
// bills the uses of that product, of that lot (of any lot when it names
// none), in its case: a use with no case is billed by no such line. A
// movement that is not a use, or a use the checks blocked, is billed by
// no line. Whether the use stands (not cancelled) is the caller's to say:
// see SettlementsFor and Auditor.
func Bills(s master.Settlement, use agent.Movement) bool {
	if use.Kind != agent.KindUse || use.Decision == agent.DecisionBlocked {
		return false
	}
	if s.Item != "" {
		return s.Item == use.Item
	}
	return use.Case != "" && s.Case == use.Case && s.GTIN != "" && s.GTIN == lifecycle.Product(use) &&
		(s.Lot == "" || s.Lot == use.Lot)
}

// SettlementsFor returns the settlement lines of d that bill the uses
// among ms (the movements trace prints, oldest first): each line once, in
// the order met, the lines of each use in the order linesFor gives them.
// Only the uses that stand count (see Auditor): a use blocked or
// cancelled is billed by nothing, and a use linked to a case later is
// billed in that case.
func SettlementsFor(d *master.Data, ms []agent.Movement) []master.Settlement {
	if d.Counts().Settlements == 0 {
		return nil // nothing can bill them: no need to read their uses
	}
	a := Auditor{Data: d}
	for _, m := range ms {
		a.Add(m)
	}
	var out []master.Settlement
	seen := map[string]bool{}
	for _, u := range a.standing() {
		for _, s := range linesFor(d, u.Movement) {
			if !seen[s.ID] {
				seen[s.ID] = true
				out = append(out, s)
			}
		}
	}
	return out
}

// linesFor returns the lines of d that bill use (Bills), each once: the
// lines naming its item, then the lines of its case naming its product.
// The two indexes hold every line Bills can accept.
func linesFor(d *master.Data, use agent.Movement) []master.Settlement {
	var out []master.Settlement
	for _, s := range d.SettlementsForItem(use.Item) {
		if Bills(s, use) {
			out = append(out, s)
		}
	}
	if use.Case == "" {
		return out
	}
	for _, s := range d.SettlementsFor(use.Case) {
		if s.Item == "" && Bills(s, use) {
			out = append(out, s)
		}
	}
	return out
}
