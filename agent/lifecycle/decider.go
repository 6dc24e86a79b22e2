package lifecycle

import (
	"fmt"
	"slices"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/master"
)

// CheckHistoryUnreadable is the flag and reason code of a decision made
// without the item's history because reading it failed (see Decider). It
// is not one of Checks: no rule can turn it off or make it block.
const CheckHistoryUnreadable CheckCode = "history-unreadable"

// HistoryUnreadableText is the reason given with CheckHistoryUnreadable.
const HistoryUnreadableText = "item history unreadable: checks ran without it"

// DeciderConfig is what a Decider decides from.
type DeciderConfig struct {
	// Gateway is this gateway's id (see Checker.Gateway).
	Gateway string
	// Now, Rules and ExpiringDays are the Checker's.
	Now          func() time.Time
	Rules        Rules
	ExpiringDays int
	// Master returns the master data in force (master.Store.Load); nil,
	// or a nil *master.Data, is none.
	Master func() *master.Data
	// History returns an item's movements, oldest first (agent.Ledger's
	// Trace). Nil means no history is kept: the checks that need one do
	// not run, and nothing is flagged.
	History func(itemKey string) ([]agent.Movement, error)
	// HistoryError, if set, is told of each failure of History, for the
	// caller's log. The decision says so itself (CheckHistoryUnreadable).
	HistoryError func(itemKey string, err error)
	// SelectedInStock is the Checker's (the procurement check); nil, the
	// check does not run.
	SelectedInStock func(generic, location string) (product string, ok bool)
	// EarlierOnShelf is the Checker's (the FEFO check); nil, that check
	// does not run.
	EarlierOnShelf func(product, location, expiry, item string) (lot, earlier string, ok bool)
}

// Decider makes the point-of-use decision of a gateway's agent: a Checker
// over the master data kept on the gateway and the item's history in its
// ledger, with two policies of its own.
//
// Without a catalogue on the gateway (master data with no catalogue
// entry) every item would be "unknown": the checks that need the
// catalogue (unknown item, imported item) do not run until one is
// imported. Recalls and lot statuses are checked as far as they go.
//
// When the item's history cannot be read (History returns an error: a
// damaged page of the ledger, an I/O error), the movement is still
// decided, as with no history (no used-twice, quarantined-item or
// never-received check, no lifecycle flags), and the decision is at
// least a warning, flagged CheckHistoryUnreadable with the reason
// HistoryUnreadableText: a nurse is never blocked by the gateway's own
// damage, and a scan the checks could not fully judge is never silently
// accepted either.
//
// A Decider is safe for concurrent use if the functions of its config
// are.
type Decider struct {
	base    Checker
	master  func() *master.Data
	history func(string) ([]agent.Movement, error)
	onErr   func(string, error)
}

// NewDecider returns the Decider of cfg. It fails when cfg.Rules is not
// valid (see Rules.Validate).
func NewDecider(cfg DeciderConfig) (*Decider, error) {
	if err := cfg.Rules.Validate(); err != nil {
		return nil, err
	}
	return &Decider{
		base: Checker{Now: cfg.Now, Rules: cfg.Rules, ExpiringDays: cfg.ExpiringDays, Gateway: cfg.Gateway,
			SelectedInStock: cfg.SelectedInStock, EarlierOnShelf: cfg.EarlierOnShelf},
		master:  cfg.Master,
		history: cfg.History,
		onErr:   cfg.HistoryError,
	}, nil
}

// Decide decides on m, a movement about to be recorded; openCase says
// whether a case is open at its station (see Checker.Check). It returns
// the decision as the agent records it.
func (d *Decider) Decide(m agent.Movement, openCase bool) agent.Decision {
	var data *master.Data
	if d.master != nil {
		data = d.master()
	}
	c := d.base
	if data.Counts().Catalogue > 0 {
		c.Catalogue = catalogueOf(data)
	}
	c.Recalled = recalledOf(data)
	c.LotStatus = lotStatusOf(data)

	var st State
	known, history, unreadable := false, d.history != nil, false
	if history && m.Item != "" {
		ms, err := d.history(m.Item)
		switch {
		case err != nil:
			history, unreadable = false, true
			if d.onErr != nil {
				d.onErr(m.Item, err)
			}
		case len(ms) > 0:
			st, _ = Replay(ms)
			known = true
		}
	}
	dec := c.check(m, openCase, history, st, known)
	if unreadable {
		dec.add(Reason{Code: CheckHistoryUnreadable, Severity: SeverityWarn, Text: HistoryUnreadableText})
	}
	out := agent.Decision{Outcome: dec.Outcome.String(), Flags: dec.Flags}
	for _, r := range dec.Reasons {
		out.Reasons = append(out.Reasons, r.Text)
	}
	return out
}

// add records one more reason that fired: in severity order among the
// reasons, its code among the flags of the checks (before the lifecycle
// flags), and the outcome at least its severity's.
func (d *Decision) add(r Reason) {
	at := len(d.Reasons)
	for i, x := range d.Reasons {
		if x.Severity < r.Severity {
			at = i
			break
		}
	}
	// The first flags are the codes of the reasons, in their order.
	d.Reasons = slices.Insert(d.Reasons, at, r)
	d.Flags = slices.Insert(d.Flags, at, string(r.Code))
	d.Outcome = max(d.Outcome, r.Severity.Outcome())
}

func catalogueOf(data *master.Data) func(string) (Item, bool) {
	return func(product string) (Item, bool) {
		// A package's DI stands for the product it packs; its label is
		// its own.
		own, ok := data.Lookup(product)
		if !ok {
			return Item{}, false
		}
		e, _ := data.Unit(own)
		return Item{GTIN: e.Product(), Name: e.Name, HighValue: e.HighValue, Imported: e.Imported, Tracking: Tracking(e.Tracking),
			Label: own.Label, Withdrawn: e.Withdrawn, GenericName: e.GenericName, Procurement: e.Procurement,
			Consigned: e.Consigned, Supplier: e.Supplier}, true
	}
}

func recalledOf(data *master.Data) func(string, string, string) (string, bool) {
	return func(product, lot, serial string) (string, bool) {
		r, ok := data.Recalled(product, lot, serial)
		if !ok {
			return "", false
		}
		return fmt.Sprintf("%s (%s)", r.Reason, r.Date), true
	}
}

func lotStatusOf(data *master.Data) func(string, string) string {
	return func(product, lot string) string {
		s, ok := data.LotStatus(product, lot)
		if !ok {
			return ""
		}
		if s.Status == master.StatusOnHold {
			return LotOnHold
		}
		return string(s.Status)
	}
}
