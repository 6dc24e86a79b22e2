package lifecycle

import (
	"errors"
	"slices"
	"strconv"
	"strings"
)

// CheckCode names a point-of-use check. A check that fires records its
// code in the movement's flags.
type CheckCode string

// Point-of-use checks.
const (
	// CheckExpired: the item's expiry date is past, or its lot's status is
	// "expired".
	CheckExpired CheckCode = "expired"
	// CheckRecalled: a recall covers the item's lot or serial, or its
	// lot's status is "recalled".
	CheckRecalled CheckCode = "recalled"
	// CheckUsedTwice: the same unique code was used before.
	CheckUsedTwice CheckCode = "used-twice"
	// CheckQuarantined: the item is quarantined, or its lot's status is
	// "quarantined" or "on hold".
	CheckQuarantined CheckCode = "quarantined"
	// CheckLotStatus: the lot's status is one the checker does not know.
	CheckLotStatus CheckCode = "lot-status"
	// CheckUnknownItem: the item's product is not in the catalogue.
	CheckUnknownItem CheckCode = "unknown-item"
	// CheckNoCase: a use is scanned while no case is open at the station.
	CheckNoCase CheckCode = "no-case"
	// CheckExpiringSoon: the item expires within Checker.ExpiringDays.
	CheckExpiringSoon CheckCode = "expiring-soon"
	// CheckImported: an imported item is used; the use needs a recorded
	// necessity justification (domestic-first policy).
	CheckImported CheckCode = "imported-unjustified"
	// CheckNeverReceived: the item is used or issued but was never
	// received nor commissioned.
	CheckNeverReceived CheckCode = "never-received"
	// CheckLabelIncomplete: a barcode scan lacks a production identifier
	// (lot, serial, production date, expiry) that the catalogue says the
	// product's label carries (the NMPA UDI database's declaration), and
	// the item's history does not give it either.
	CheckLabelIncomplete CheckCode = "label-incomplete"
	// CheckWithdrawn: the product was withdrawn from the market (its
	// catalogue entry's withdrawal date is past).
	CheckWithdrawn CheckCode = "withdrawn"
	// CheckProcurement: a product not selected in volume-based
	// procurement is used while one that was selected, of the same
	// generic name, is in stock at the location; the use needs a
	// justification, as an imported item's does.
	CheckProcurement CheckCode = "procurement-unjustified"
	// CheckFEFO: an item is issued or used while a unit of the same
	// product expiring earlier is on hand at the location (first
	// expired, first out).
	CheckFEFO CheckCode = "fefo"
)

// Checks lists every check in the order reasons of equal severity are
// given.
var Checks = []CheckCode{
	CheckExpired, CheckRecalled, CheckUsedTwice, CheckQuarantined,
	CheckLotStatus, CheckImported, CheckNoCase, CheckUnknownItem,
	CheckExpiringSoon, CheckNeverReceived, CheckLabelIncomplete, CheckWithdrawn, CheckProcurement, CheckFEFO,
}

// Valid reports whether c is one of Checks.
func (c CheckCode) Valid() bool { return slices.Contains(Checks, c) }

// Severity is what a check that fires does to the decision.
type Severity int

// Severities, from the mildest. The zero Severity is SeverityOff.
const (
	// SeverityOff: the check does not run.
	SeverityOff Severity = iota
	// SeverityRecord: the check runs and its flag and reason are recorded,
	// but the decision is not changed.
	SeverityRecord
	// SeverityWarn: the use goes on with a warning.
	SeverityWarn
	// SeverityPending: the use stays pending until completed (for example
	// by a justification).
	SeverityPending
	// SeverityBlock: the use is blocked.
	SeverityBlock
)

var severityNames = [...]string{"off", "record", "warn", "pending", "block"}

// String returns "off", "record", "warn", "pending" or "block".
func (s Severity) String() string {
	if s < 0 || int(s) >= len(severityNames) {
		return "Severity(" + strconv.Itoa(int(s)) + ")"
	}
	return severityNames[s]
}

// ParseSeverity parses one of the names String returns, ignoring case and
// surrounding space.
func ParseSeverity(s string) (Severity, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	for i, n := range severityNames {
		if n == t {
			return Severity(i), nil
		}
	}
	return SeverityOff, ErrSeverity
}

// Outcome returns the outcome of a decision in which the worst check that
// fired has severity s.
func (s Severity) Outcome() Outcome {
	switch s {
	case SeverityWarn:
		return Warn
	case SeverityPending:
		return Pending
	case SeverityBlock:
		return Block
	}
	return Accept
}

// Rules says the severity of each check. A check missing from the map has
// its default severity (DefaultRules); a nil Rules is the defaults.
type Rules map[CheckCode]Severity

// DefaultRules returns the default severity of every check: expired,
// recalled, used twice and quarantined block; an unknown lot status, an
// unknown item, no open case, expiring soon, an incomplete label and a
// withdrawn product warn, and so does an item taken while one expiring
// earlier is on the shelf (FEFO); an imported item and a non-selected product
// used while a selected one is in stock are pending; never received is
// recorded.
func DefaultRules() Rules {
	return Rules{
		CheckExpired:         SeverityBlock,
		CheckRecalled:        SeverityBlock,
		CheckUsedTwice:       SeverityBlock,
		CheckQuarantined:     SeverityBlock,
		CheckLotStatus:       SeverityWarn,
		CheckImported:        SeverityPending,
		CheckNoCase:          SeverityWarn,
		CheckUnknownItem:     SeverityWarn,
		CheckExpiringSoon:    SeverityWarn,
		CheckNeverReceived:   SeverityRecord,
		CheckLabelIncomplete: SeverityWarn,
		CheckWithdrawn:       SeverityWarn,
		CheckProcurement:     SeverityPending,
		CheckFEFO:            SeverityWarn,
	}
}

var defaults = DefaultRules()

// Severity returns the severity of check c under r: r's entry, or the
// default.
func (r Rules) Severity(c CheckCode) Severity {
	if s, ok := r[c]; ok {
		return s
	}
	return defaults[c]
}

// Validate returns a *RuleError for the first entry, in the order of
// Checks then by name, that names no check or holds no severity.
func (r Rules) Validate() error {
	keys := make([]string, 0, len(r))
	for c := range r {
		keys = append(keys, string(c))
	}
	slices.Sort(keys)
	for _, k := range keys {
		c := CheckCode(k)
		if !c.Valid() {
			return &RuleError{Key: k, Value: r[c].String(), Err: ErrUnknownCheck}
		}
		if s := r[c]; s < SeverityOff || s > SeverityBlock {
			return &RuleError{Key: k, Value: s.String(), Err: ErrSeverity}
		}
	}
	return nil
}

// String returns every check with its severity under r, in the order of
// Checks, as "expired=block,recalled=block,…": the form ParseRules reads.
func (r Rules) String() string {
	var b strings.Builder
	for i, c := range Checks {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(string(c))
		b.WriteByte('=')
		b.WriteString(r.Severity(c).String())
	}
	return b.String()
}

// ParseRules returns the default rules overridden by settings, which map
// a check's name ("expired", "no-case", …) to a severity's ("off",
// "record", "warn", "pending", "block"). The first bad entry, by name,
// gives a *RuleError naming its key.
func ParseRules(settings map[string]string) (Rules, error) {
	r := DefaultRules()
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if err := r.set(k, settings[k]); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// ParseRulesText is ParseRules for the one-line form String returns:
// "check=severity" pairs separated by commas, spaces allowed around
// them; an empty text gives the defaults. A check named twice is an
// error.
func ParseRulesText(text string) (Rules, error) {
	r := DefaultRules()
	seen := make(map[string]bool)
	for pair := range strings.SplitSeq(text, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		k, v, ok := strings.Cut(pair, "=")
		k = strings.TrimSpace(k)
		if !ok {
			return nil, &RuleError{Key: k, Err: ErrSyntax}
		}
		if seen[k] {
			return nil, &RuleError{Key: k, Value: strings.TrimSpace(v), Err: ErrDuplicate}
		}
		seen[k] = true
		if err := r.set(k, v); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func (r Rules) set(key, value string) error {
	c := CheckCode(strings.TrimSpace(key))
	if !c.Valid() {
		return &RuleError{Key: key, Value: value, Err: ErrUnknownCheck}
	}
	s, err := ParseSeverity(value)
	if err != nil {
		return &RuleError{Key: key, Value: value, Err: err}
	}
	r[c] = s
	return nil
}

// Sentinel errors of rule parsing; a *RuleError wraps one of them.
var (
	// ErrUnknownCheck: the key names no check (see Checks).
	ErrUnknownCheck = errors.New("no such check")
	// ErrSeverity: the value is not off, record, warn, pending or block.
	ErrSeverity = errors.New("severity must be off, record, warn, pending or block")
	// ErrSyntax: a pair of the text form has no "=".
	ErrSyntax = errors.New("expected check=severity")
	// ErrDuplicate: the text form names a check twice.
	ErrDuplicate = errors.New("check set twice")
)

// RuleError is a bad entry of a rule setting: Key is the check's name as
// given, Value the severity as given.
type RuleError struct {
	Key   string
	Value string
	Err   error
}

// Error formats the error as `lifecycle: rule "no-cse"="warn": no such
// check`.
func (e *RuleError) Error() string {
	s := "lifecycle: rule " + strconv.Quote(e.Key)
	if e.Value != "" {
		s += "=" + strconv.Quote(e.Value)
	}
	msg := "<nil>"
	if e.Err != nil {
		msg = e.Err.Error()
	}
	return s + ": " + msg
}

// Unwrap returns the sentinel error.
func (e *RuleError) Unwrap() error { return e.Err }
