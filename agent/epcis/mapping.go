package epcis

import (
	"slices"

	"github.com/udi-edge/udi-edge/agent"
)

// EPCIS actions (EPCIS 2.0, ObjectEvent action).
const (
	ActionAdd     = "ADD"
	ActionObserve = "OBSERVE"
	ActionDelete  = "DELETE"
)

// Mapping is how a movement kind appears in EPCIS: the event's action and
// its CBV 2.0 business step and disposition, in the short form the EPCIS
// 2.0 JSON-LD context defines ("receiving" for
// urn:epcglobal:cbv:bizstep:receiving). An empty Disposition means the
// event carries none: the movement says nothing new about the item's state.
type Mapping struct {
	Action      string
	BizStep     string
	Disposition string
	// BizLocation reports whether the item is still at the movement's
	// location after the event. It is false for events after which the item
	// is on its way (issue) or gone (waste, dispose).
	BizLocation bool
	// Path reports whether the movement's From and Location become the
	// event's sourceList and destinationList.
	Path bool
}

// kindContext is the kind of a scan that set a station's context (a
// wristband, a case, a badge, a command); it names no item.
const kindContext agent.Kind = "context"

var mappings = map[agent.Kind]Mapping{
	agent.KindReceive:    {ActionObserve, "receiving", "sellable_not_accessible", true, true},
	agent.KindCommission: {ActionAdd, "commissioning", "active", true, false},
	agent.KindStock:      {ActionObserve, "stocking", "sellable_accessible", true, true},
	agent.KindIssue:      {ActionObserve, "picking", "in_progress", false, true},
	agent.KindTransfer:   {ActionObserve, "arriving", "", true, true},
	agent.KindUse:        {ActionObserve, "dispensing", "dispensed", true, true},
	agent.KindReturn:     {ActionObserve, "receiving", "returned", true, true},
	agent.KindWaste:      {ActionDelete, "destroying", "destroyed", false, false},
	agent.KindQuarantine: {ActionObserve, "holding", "recalled", true, true},
	agent.KindDispose:    {ActionDelete, "destroying", "disposed", false, false},
	agent.KindCount:      {ActionObserve, "cycle_counting", "", true, false},
	agent.KindAdjust:     {ActionObserve, "other", "", true, false},
}

// MappingOf returns the EPCIS mapping of a movement kind. ok is false for
// the kinds that are not exported (reject, context) and for unknown kinds.
//
//	kind        action   bizStep         disposition
//	receive     OBSERVE  receiving       sellable_not_accessible
//	commission  ADD      commissioning   active
//	stock       OBSERVE  stocking        sellable_accessible
//	issue       OBSERVE  picking         in_progress
//	transfer    OBSERVE  arriving        (none)
//	use         OBSERVE  dispensing      dispensed
//	return      OBSERVE  receiving       returned
//	waste       DELETE   destroying      destroyed
//	quarantine  OBSERVE  holding         recalled (expired, see below)
//	dispose     DELETE   destroying      disposed
//	count       OBSERVE  cycle_counting  (none)
//	adjust      OBSERVE  other           (none)
//
// A quarantine of a movement flagged "expired" and not "recalled" has the
// disposition expired; [Encoder] applies that rule, MappingOf cannot.
func MappingOf(k agent.Kind) (m Mapping, ok bool) {
	m, ok = mappings[k]
	return m, ok
}

// exported reports whether movements of kind k are written as events, and
// whether k is known at all.
func exported(k agent.Kind) (export, known bool) {
	if _, ok := mappings[k]; ok {
		return true, true
	}
	if k == agent.KindReject || k == kindContext {
		return false, true
	}
	return false, false
}

// disposition returns the disposition of m under mapping mp.
func disposition(m *agent.Movement, mp Mapping) string {
	if m.Kind == agent.KindQuarantine && slices.Contains(m.Flags, "expired") && !slices.Contains(m.Flags, "recalled") {
		return "expired"
	}
	return mp.Disposition
}
