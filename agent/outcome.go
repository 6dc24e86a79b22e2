package agent

import "fmt"

// Station binds a scanner or reader to a place and to what a scan there
// means: a receiving desk records "receive", an OR station records "use".
type Station struct {
	// ID is the scanner's configured id; reads carry it as Read.Source.
	ID string
	// Location is where the station stands (a ward, an OR, the warehouse).
	Location string
	// Kind is the movement a good scan at this station records.
	Kind Kind
	// RequireSerial rejects item codes without a serial number: implants
	// and other serialised items must carry one.
	RequireSerial bool
	// Consignor, if set, names the supplier who owns what this station
	// receives (a consignment receiving desk): its receipts are flagged
	// ConsignedFlag(Consignor), whatever the catalogue says.
	Consignor string
}

// Verdict is the answer a station gets for one read.
type Verdict int

// Decision is what the point-of-use checks decided for a movement.
type Decision struct {
	// Outcome is DecisionAccepted, DecisionWarned, DecisionPending or
	// DecisionBlocked.
	Outcome string
	// Reasons are short texts for the station, the most severe first. They
	// never name a patient.
	Reasons []string
	// Flags are recorded in the movement's flags.
	Flags []string
}

// Decision outcomes, as recorded in Movement.Decision.
const (
	DecisionAccepted = "accepted"
	DecisionWarned   = "warned"
	DecisionPending  = "pending"
	DecisionBlocked  = "blocked"
)

// Verdicts. A read is answered only after its movement is durable, except
// VerdictFailed, which says the ledger could not record it.
const (
	// VerdictAccepted: an item movement is on disk.
	VerdictAccepted Verdict = iota + 1
	// VerdictRejected: the read was not understood; the rejection, with its
	// raw bytes and reason, is on disk.
	VerdictRejected
	// VerdictFailed: the ledger failed to record the read; nothing is on
	// disk and the scan must be repeated.
	VerdictFailed
	// VerdictWarned: the movement is on disk, with warnings (or pending a
	// justification) the station shows.
	VerdictWarned
	// VerdictBlocked: the checks forbid the item's use (expired, recalled,
	// already used, quarantined); the attempt and the reasons are on disk.
	VerdictBlocked
)

// String returns "accepted", "rejected" or "failed".
func (v Verdict) String() string {
	switch v {
	case VerdictAccepted:
		return "accepted"
	case VerdictRejected:
		return "rejected"
	case VerdictFailed:
		return "failed"
	case VerdictWarned:
		return "warned"
	case VerdictBlocked:
		return "blocked"
	}
	return fmt.Sprintf("verdict(%d)", int(v))
}

// Outcome is what became of one read.
type Outcome struct {
	Verdict  Verdict
	Movement Movement // as recorded (Seq set) unless Verdict is VerdictFailed
	Err      error    // the ledger's error for VerdictFailed
}

// OutcomeOf is what a station is answered for a movement the ledger has
// answered: got as recorded, or as submitted with err when it could not
// be recorded. It is the one rule from a recorded movement to a verdict,
// for scans, tag movements and commissioning alike.
func OutcomeOf(got Movement, err error) Outcome {
	o := Outcome{Movement: got}
	switch {
	case err != nil:
		o.Verdict, o.Err = VerdictFailed, err
	case got.Kind == KindReject:
		o.Verdict = VerdictRejected
	case got.Decision == DecisionBlocked:
		o.Verdict = VerdictBlocked
	case got.Decision == DecisionWarned || got.Decision == DecisionPending:
		o.Verdict = VerdictWarned
	default:
		o.Verdict = VerdictAccepted
	}
	return o
}
