package lifecycle

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/code"
	"github.com/udi-edge/udi-edge/agent/master"
)

// Item is what a Checker needs to know about a product from the catalogue.
type Item struct {
	// GTIN is the product's key: a GTIN, or an HIBC labeler, product and
	// unit of measure ("+A123BJC5D61").
	GTIN string
	// Name is the product's name.
	Name string
	// HighValue marks a high-value consumable.
	HighValue bool
	// Imported marks an imported product, whose use needs a necessity
	// justification.
	Imported bool
	// Tracking is how the product is identified: TrackSerial or TrackLot.
	Tracking Tracking
	// Label lists the production identifiers the product's label carries.
	Label master.Label
	// Withdrawn is the date the product was withdrawn from the market,
	// "2026-03-14"; "" if it was not.
	Withdrawn string
	// GenericName is the product's generic name; Procurement says it was
	// selected in volume-based procurement.
	GenericName string
	Procurement bool
	// Consigned marks a product its Supplier consigns: a receipt that
	// names no owner is recorded as the Supplier's.
	Consigned bool
	Supplier  string
}

// Tracking is how a product is identified on its label.
type Tracking string

// Tracking modes.
const (
	TrackSerial Tracking = "serial"
	TrackLot    Tracking = "lot"
)

// Lot statuses as LotStatus returns them. An empty status means the lot is
// not known to be anything but usable.
const (
	LotApproved    = "approved"
	LotOnHold      = "on hold"
	LotRecalled    = "recalled"
	LotQuarantined = "quarantined"
	LotExpired     = "expired"
)

// Outcome is a point-of-use decision.
type Outcome int

// Outcomes, from the mildest.
const (
	// Accept: the use goes on.
	Accept Outcome = iota
	// Warn: the use goes on; the station shows the reasons.
	Warn
	// Pending: the use is recorded but not complete until something is
	// supplied (a justification).
	Pending
	// Block: the item must not be used; the station shows the reasons.
	Block
)

// String returns the word recorded in agent.Movement.Decision:
// "accepted", "warned", "pending" or "blocked".
func (o Outcome) String() string {
	switch o {
	case Accept:
		return "accepted"
	case Warn:
		return "warned"
	case Pending:
		return "pending"
	case Block:
		return "blocked"
	}
	return "Outcome(" + strconv.Itoa(int(o)) + ")"
}

// Reason is one check that fired, with a text for the nurse at the
// table. Texts never contain a patient identifier.
type Reason struct {
	Code     CheckCode
	Severity Severity
	Text     string
}

// Decision is the outcome of the point-of-use checks for one movement.
type Decision struct {
	// Outcome is the worst outcome of the checks that fired.
	Outcome Outcome
	// Reasons are the checks that fired, the most severe first, then in
	// the order of Checks.
	Reasons []Reason
	// Flags are what to record in the movement's flags: the codes of the
	// checks that fired, then the lifecycle flags Apply raises for the
	// movement, then who owned the item (agent.ConsignedFlag, and
	// agent.FlagLoan for a loan set's item), without repeats.
	Flags []string
}

// DefaultExpiringDays is the default of Checker.ExpiringDays.
const DefaultExpiringDays = 30

// Checker decides, at the point of use, what a movement may do, from data
// kept on the gateway. Every function field may be nil: the checks that
// need it then do not run. A Checker is safe for concurrent use if its
// functions are.
type Checker struct {
	// Now returns the current time. Expiry dates are calendar dates of
	// the time zone of the time Now returns, and dates in reasons are
	// shown in it: give the hospital's local time. Nil means the expiry
	// checks do not run (and dates are shown in UTC).
	Now func() time.Time
	// Rules says the severity of each check; nil means DefaultRules.
	Rules Rules
	// ExpiringDays: an item whose expiry date is at most this many days
	// after today fires CheckExpiringSoon; zero means DefaultExpiringDays.
	ExpiringDays int
	// Catalogue returns the catalogue entry of a product key (a GTIN, or
	// an HIBC "+" labeler, product and unit of measure).
	Catalogue func(gtin string) (Item, bool)
	// Recalled reports whether a recall covers a lot (asked with serial
	// "") or a serial (asked with lot ""), with the recall's reason ("supplier
	// notice 2026-11-02").
	Recalled func(gtin, lot, serial string) (reason string, ok bool)
	// LotStatus returns the status of a lot (LotApproved, LotOnHold, …),
	// or "" when it has none.
	LotStatus func(gtin, lot string) string
	// State returns the state of an item by its key.
	State func(itemKey string) (State, bool)
	// SelectedInStock reports whether a product selected in volume-based
	// procurement, of generic name generic, is on hand at location, and
	// names it. Nil: the procurement check does not run.
	SelectedInStock func(generic, location string) (product string, ok bool)
	// EarlierOnShelf reports whether a unit of product expiring before
	// expiry is on hand at location (the shelf the item is taken from:
	// the movement's From, else where the ledger has the item, else where
	// it is scanned), other than the item key item, and
	// gives its lot and expiry (the first to expire). Nil: the FEFO check
	// does not run.
	EarlierOnShelf func(product, location, expiry, item string) (lot, earlier string, ok bool)
	// Gateway is the id of the gateway the checks run on. A movement
	// about to be recorded has no Gateway yet (the ledger stamps it):
	// Check takes it as this gateway's, so that a station's CANCEL LAST
	// is matched with the movement it cancels (see CancelsLast). Empty,
	// the item's history tells.
	Gateway string
}

// Check decides on m, a movement about to be recorded. openCase says
// whether a case is open at the movement's station.
//
// Use movements go through every check. Issue movements (picking for a
// case) go through the checks on the item itself: expired, recalled,
// used twice, quarantined, lot status, unknown item, expiring soon, never
// received. Any other movement is accepted: receiving, returning,
// quarantining, wasting or disposing of an expired or recalled item must
// never be stopped. Whatever its kind, the lifecycle flags Apply raises
// for m are returned in Flags. Check does not modify m.
func (c *Checker) Check(m agent.Movement, openCase bool) Decision {
	var st State
	known := false
	if c.State != nil && m.Item != "" {
		st, known = c.State(m.Item)
	}
	return c.check(m, openCase, c.State != nil, st, known)
}

// check is Check with the item's state given: history says whether the
// item's history was read at all (st is its state, the zero State when
// known is false); without it, the checks that need it do not run.
func (c *Checker) check(m agent.Movement, openCase, history bool, st State, known bool) (d Decision) {
	if m.Gateway == "" {
		m.Gateway = c.Gateway
	}
	own := c.ownership(m, st, known)
	if len(own) > 0 {
		m.Flags = append(slices.Clip(m.Flags), own...)
	}
	var lifecycleFlags []string
	if history {
		_, lifecycleFlags = Apply(st, m)
	}
	defer func() {
		for _, f := range own {
			if !contains(d.Flags, f) {
				d.Flags = append(d.Flags, f)
			}
		}
	}()
	use := m.Kind == agent.KindUse
	if !use && m.Kind != agent.KindIssue {
		d.Flags = lifecycleFlags
		return d
	}

	product := Product(m)
	lot := m.Lot
	if lot == "" {
		lot = st.Lot
	}
	serial := m.Serial
	if serial == "" {
		serial = code.SplitKey(m.Item).Serial
	}
	expiry := m.Expiry
	if expiry == "" {
		expiry = st.Expiry
	}
	rules := c.Rules
	if rules == nil {
		rules = defaults
	}
	var now time.Time
	loc := time.UTC
	if c.Now != nil {
		now = c.Now()
		loc = now.Location()
	}
	on := func(code CheckCode) bool { return rules.Severity(code) != SeverityOff }
	fire := func(code CheckCode, text string) {
		d.Reasons = append(d.Reasons, Reason{Code: code, Severity: rules.Severity(code), Text: text})
	}

	var lotStatus string
	if c.LotStatus != nil && lot != "" && product != "" {
		lotStatus = c.LotStatus(product, lot)
	}

	// Expired, and expiring soon.
	if c.Now != nil && (on(CheckExpired) || on(CheckExpiringSoon)) {
		if left, expired, ok := DaysLeft(expiry, now); ok {
			switch {
			case expired:
				if on(CheckExpired) {
					fire(CheckExpired, "expired "+expiry)
				}
			case on(CheckExpiringSoon) && left <= c.expiringDays():
				fire(CheckExpiringSoon, expiringText(expiry, left))
			}
		}
	}
	if lotStatus == LotExpired && on(CheckExpired) && !fired(d.Reasons, CheckExpired) {
		fire(CheckExpired, "expired: lot "+lot+" is marked expired")
	}

	// Recalled lot or serial.
	if on(CheckRecalled) {
		var reason string
		lotRecalled, serialRecalled := false, false
		if c.Recalled != nil && product != "" {
			if lot != "" {
				reason, lotRecalled = c.Recalled(product, lot, "")
			}
			if !lotRecalled && serial != "" {
				reason, serialRecalled = c.Recalled(product, "", serial)
			}
		}
		switch {
		case lotRecalled:
			fire(CheckRecalled, withReason("recalled lot "+lot, reason))
		case serialRecalled:
			fire(CheckRecalled, withReason("recalled serial "+serial, reason))
		case lotStatus == LotRecalled:
			fire(CheckRecalled, "recalled lot "+lot)
		}
	}

	// Used before.
	if on(CheckUsedTwice) && known && st.Uses > 0 && Unit(m.Item) {
		fire(CheckUsedTwice, usedText(st, loc))
	}

	// Quarantined item or lot.
	if on(CheckQuarantined) {
		switch {
		case known && st.Status == StatusQuarantined:
			text := "quarantined"
			if !st.QuarantineTime.IsZero() {
				text += " since " + st.QuarantineTime.In(loc).Format(time.DateOnly)
			}
			fire(CheckQuarantined, text)
		case lotStatus == LotQuarantined:
			fire(CheckQuarantined, "lot "+lot+" quarantined")
		case lotStatus == LotOnHold:
			fire(CheckQuarantined, "lot "+lot+" on hold")
		}
	}
	switch lotStatus {
	case "", LotApproved, LotOnHold, LotRecalled, LotQuarantined, LotExpired:
	default:
		if on(CheckLotStatus) {
			fire(CheckLotStatus, "lot "+lot+" status "+strconv.Quote(lotStatus))
		}
	}

	// The catalogue: unknown item, imported item, the label, withdrawn.
	if c.Catalogue != nil && (on(CheckUnknownItem) || on(CheckImported) || on(CheckLabelIncomplete) || on(CheckWithdrawn) || on(CheckProcurement)) {
		item, ok := Item{}, false
		if product != "" {
			item, ok = c.Catalogue(product)
		}
		switch {
		case !ok && on(CheckUnknownItem):
			fire(CheckUnknownItem, "unknown item: not in the catalogue, recorded")
		case ok && item.Imported && use && on(CheckImported):
			fire(CheckImported, "imported item: a necessity justification is needed")
		}
		// A tag read is no label: only a barcode scan is held to it.
		if ok && m.Tag == "" && on(CheckLabelIncomplete) {
			if missing := labelMissing(item.Label, lot, serial, expiry, m.Production); missing != "" {
				fire(CheckLabelIncomplete, "label incomplete: no "+missing+" read, though the product's label carries it")
			}
		}
		if ok && use && !item.Procurement && item.GenericName != "" && c.SelectedInStock != nil && on(CheckProcurement) {
			if sel, in := c.SelectedInStock(item.GenericName, m.Location); in {
				fire(CheckProcurement, "not the procurement's selected product: "+sel+" ("+item.GenericName+") is in stock here; a justification is needed")
			}
		}
		if ok && item.Withdrawn != "" && c.Now != nil && on(CheckWithdrawn) {
			if day, err := time.ParseInLocation(time.DateOnly, item.Withdrawn, loc); err == nil && !now.Before(day) {
				fire(CheckWithdrawn, "withdrawn from the market on "+item.Withdrawn)
			}
		}
	}

	// First expired, first out.
	// The shelf is the one the item was taken from: the movement's From,
	// else where the ledger has it, else where it is scanned.
	shelf := m.From
	if shelf == "" && known && st.Status != StatusUsed {
		shelf = st.Location
	}
	if shelf == "" {
		shelf = m.Location
	}
	if c.EarlierOnShelf != nil && on(CheckFEFO) && product != "" && shelf != "" && expiry != "" {
		if lot, earlier, ok := c.EarlierOnShelf(product, shelf, expiry, m.Item); ok {
			text := "first expired, first out: a unit expiring " + earlier
			if lot != "" {
				text += " (lot " + lot + ")"
			}
			fire(CheckFEFO, text+" is on hand at "+shelf+"; this one expires "+expiry)
		}
	}

	if use && !openCase && on(CheckNoCase) {
		fire(CheckNoCase, "no open case: scan the wristband or the case")
	}
	if on(CheckNeverReceived) && history && contains(lifecycleFlags, FlagNeverReceived) {
		fire(CheckNeverReceived, "never received: no receipt recorded")
	}

	sortReasons(d.Reasons)
	for _, r := range d.Reasons {
		d.Outcome = max(d.Outcome, r.Severity.Outcome())
		d.Flags = append(d.Flags, string(r.Code))
	}
	for _, f := range lifecycleFlags {
		if !contains(d.Flags, f) {
			d.Flags = append(d.Flags, f)
		}
	}
	return d
}

// ownership returns the flags saying who owned m's item, which Check
// records on m (agent/supply.go): on a receipt that names no owner, the
// catalogue's consigning supplier; on a use, the supplier who owned the
// item until then: its receipt's, else (never received) the loan set's
// that declared it, with agent.FlagLoan, else the catalogue's.
func (c *Checker) ownership(m agent.Movement, st State, known bool) []string {
	if _, ok := agent.Consignor(m); ok || (m.Kind != agent.KindReceive && m.Kind != agent.KindUse) {
		return nil
	}
	if m.Kind == agent.KindUse && known {
		switch {
		case st.Received || st.Commissioned:
			if st.Owner != "" {
				return []string{agent.ConsignedFlag(st.Owner)}
			}
			return nil
		case st.LoanSet != "":
			var f []string
			if !slices.Contains(m.Flags, agent.FlagLoan) {
				f = append(f, agent.FlagLoan)
			}
			return append(f, agent.ConsignedFlag(st.LoanSet))
		}
	}
	if c.Catalogue == nil {
		return nil
	}
	product := Product(m)
	if product == "" {
		return nil
	}
	if item, ok := c.Catalogue(product); ok && item.Consigned && item.Supplier != "" {
		return []string{agent.ConsignedFlag(item.Supplier)}
	}
	return nil
}

func (c *Checker) expiringDays() int {
	if c.ExpiringDays > 0 {
		return c.ExpiringDays
	}
	return DefaultExpiringDays
}

func withReason(text, reason string) string {
	if reason == "" {
		return text
	}
	return text + ": " + reason
}

func usedText(st State, loc *time.Location) string {
	text := "already used"
	if st.UseCase != "" {
		text += " in case " + st.UseCase
	}
	if !st.UseTime.IsZero() {
		text += " on " + st.UseTime.In(loc).Format(time.DateOnly)
	}
	if st.Uses > 1 {
		text += " (used " + strconv.Itoa(st.Uses) + " times)"
	}
	return text
}

func expiringText(expiry string, left int) string {
	switch left {
	case 0:
		return "expires today " + expiry
	case 1:
		return "expires tomorrow " + expiry
	}
	return "expires " + expiry + ", in " + strconv.Itoa(left) + " days"
}

func fired(rs []Reason, code CheckCode) bool {
	for _, r := range rs {
		if r.Code == code {
			return true
		}
	}
	return false
}

func contains(s []string, x string) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}

// sortReasons orders reasons by severity, the most severe first, then by
// the order of Checks: a stable insertion sort of a handful of entries.
func sortReasons(rs []Reason) {
	rank := func(r Reason) int {
		for i, c := range Checks {
			if c == r.Code {
				return -int(r.Severity)*len(Checks) + i
			}
		}
		return 0
	}
	for i := 1; i < len(rs); i++ {
		for j := i; j > 0 && rank(rs[j]) < rank(rs[j-1]); j-- {
			rs[j], rs[j-1] = rs[j-1], rs[j]
		}
	}
}

// Product returns the product key of m's item: the GTIN read with it,
// else the product its item key names (KeyProduct). It is the one rule
// by which the checks ask the catalogue, the recalls and the lots'
// statuses, the audit bills and counts, and the stock groups items.
func Product(m agent.Movement) string {
	if m.GTIN != "" {
		return m.GTIN
	}
	return KeyProduct(m.Item)
}

// KeyProduct returns the product an item key names, as code.SplitKey
// reads it (a GTIN, an HIBC labeler, product and unit of measure, an MA
// DI); for a key that names none (an AHM code, a tag's raw key), the key
// itself, which stands for its own product (no catalogue entry has it).
func KeyProduct(key string) string {
	if p := code.SplitKey(key).Product; p != "" {
		return p
	}
	return key
}

// labelMissing names the identifiers label declares that the scan (and
// the item's history) did not give, "" when none is missing.
func labelMissing(label master.Label, lot, serial, expiry, production string) string {
	var out []string
	for _, x := range []struct {
		bit  master.Label
		have string
		name string
	}{{master.LabelLot, lot, "lot"}, {master.LabelSerial, serial, "serial"}, {master.LabelProduction, production, "production date"}, {master.LabelExpiry, expiry, "expiry"}} {
		if label&x.bit != 0 && x.have == "" {
			out = append(out, x.name)
		}
	}
	return strings.Join(out, ", ")
}
