package count

import (
	"cmp"
	"slices"

	"github.com/udi-edge/udi-edge/agent/lifecycle"
)

// Kind is what a difference is.
type Kind string

// Kinds of differences, in the order Compare reports them.
const (
	// Missing: on hand (or held) here by the ledger, not found: a
	// possible loss.
	Missing Kind = "missing"
	// Used: found here, but the ledger has it used, wasted or disposed
	// of (and no adjustment has put it back since).
	Used Kind = "used"
	// Issued: found here, but the ledger has it issued (taken out of
	// stock, not used).
	Issued Kind = "issued"
	// Misplaced: found here, but the ledger has it on hand elsewhere.
	Misplaced Kind = "misplaced"
	// Unknown: found, but never received nor commissioned (an unknown
	// tag, an item never received): to commission or receive.
	Unknown Kind = "unknown"
	// Untagged: on hand here by the ledger and not seen by an RFID
	// snapshot, but never read by RFID nor bound to a tag: the cabinet
	// cannot see it; count it by barcode.
	Untagged Kind = "untagged"
	// LotCount: a lot (or a product scanned without serial) counted other
	// than the ledger's count here.
	LotCount Kind = "lot"
)

// kinds orders the kinds.
var kinds = []Kind{Missing, Used, Issued, Misplaced, Unknown, Untagged, LotCount}

// Alert reports whether a difference of kind k is an alert (a possible
// loss, an item present that the ledger has used, issued or elsewhere).
func (k Kind) Alert() bool {
	switch k {
	case Missing, Used, Issued, Misplaced:
		return true
	}
	return false
}

// Action is what adjusting the ledger to a difference does.
type Action string

// Actions.
const (
	// WriteOff: the item (or the units of a lot) not found is disposed
	// of, as lost.
	WriteOff Action = "write-off"
	// Restock: the item found is back on hand here (an adjustment).
	Restock Action = "restock"
	// Investigate: the item found was used, wasted or disposed of by the
	// ledger: Plan restocks it only when the staff name it.
	Investigate Action = "investigate"
	// TakeOnHand: the units of a lot found beyond the ledger's count are
	// taken back on hand here (returns).
	TakeOnHand Action = "take-on-hand"
	// None: nothing to write: the count itself recorded the item here.
	None Action = "none"
	// Commission: nothing to write: commission (or receive) the item.
	Commission Action = "commission"
	// CountByBarcode: nothing to write: an RFID snapshot cannot see the
	// item.
	CountByBarcode Action = "count-by-barcode"
	// Recount: nothing to write: the lot moved here while it was counted,
	// and the count matches neither the ledger's count before nor after.
	Recount Action = "recount"
	// Adjusted: nothing left to write: the session's adjustment is
	// recorded (Difference.Adjusted).
	Adjusted Action = "adjusted"
)

// Difference is one difference between what a count found and what the
// ledger has at the location.
type Difference struct {
	Kind Kind `json:"kind"`
	// Item is the item key (a lot's key for LotCount).
	Item    string `json:"item"`
	Product string `json:"product,omitempty"`
	// Name is the catalogue's name of the product, "" when unknown (the
	// caller fills it).
	Name   string `json:"name,omitempty"`
	Lot    string `json:"lot,omitempty"`
	Expiry string `json:"expiry,omitempty"`
	// LedgerLocation and LedgerStatus are where the ledger had the item
	// and in which status, when it was found (not for Missing, Untagged
	// and LotCount: here, on hand).
	LedgerLocation string `json:"ledger_location,omitempty"`
	LedgerStatus   string `json:"ledger_status,omitempty"`
	// Expected is what the ledger has here (1 or 0 for an item, the
	// count at the end of the count for a lot), Counted what was found.
	Expected int `json:"expected"`
	Counted  int `json:"counted"`
	// ExpectedAtStart is a lot's count here when the count started, set
	// when movements changed it while it was counted (Changed).
	ExpectedAtStart int  `json:"expected_at_start,omitempty"`
	Changed         bool `json:"changed_during_count,omitempty"`
	// Alert says the difference is an alert (Kind.Alert).
	Alert bool `json:"alert,omitempty"`
	// Action is what adjusting does; Adjusted is the sequence number of
	// the session's adjustment once it is recorded.
	Action   Action `json:"action"`
	Adjusted uint64 `json:"adjusted_seq,omitempty"`
}

// Unit is an item named by its serial that the ledger has on hand (or
// held) at the location when the count starts and when it ends.
type Unit struct {
	Key, Product, Lot, Expiry string
	// Tagged says the item was ever read by RFID or bound to a tag
	// (Tagged); an RFID snapshot reports an item that is not as
	// Untagged, not Missing.
	Tagged bool
	// Adjusted is the sequence number of the session's adjustment of the
	// item, 0 when none.
	Adjusted uint64
}

// Seen is an item key the count found, with what the ledger said of it
// when it was found (StateAt: its count movements of this session left
// out).
type Seen struct {
	Key, Product, Lot, Expiry string
	// State is the ledger's state of the item; the zero State when the
	// ledger knows nothing of it.
	State lifecycle.State
	// Consumed says the ledger has it used, wasted or disposed of, with
	// no adjustment putting it back since (StateAt).
	Consumed bool
	// Adjusted is the sequence number of the session's adjustment of the
	// item, 0 when none (AdjustedBy).
	Adjusted uint64
}

// Lot is a key naming many items (a lot, a product) that is counted at
// the location, or was found there.
type Lot struct {
	Key, Product, Lot, Expiry string
	// Start and End are the ledger's counts here when the count started
	// and when it ended (LotAt); Counted is how many scans found it.
	Start, End, Counted int
	// Adjusted is the sequence number of the session's first adjustment
	// of the lot, 0 when none.
	Adjusted uint64
}

// Input is what Compare compares.
type Input struct {
	// Location is where the count was made.
	Location string
	// RFID says the count is a cabinet's snapshot: an item never read by
	// RFID is Untagged rather than Missing.
	RFID bool
	// Expected are the items the ledger has on hand or held here from the
	// start of the count to its end. An item that came or went meanwhile
	// is not expected (nor missing): the ledger accounts for it.
	Expected []Unit
	// Seen are the item keys found (named by their serial, or tags).
	Seen []Seen
	// Lots are the lots counted here by the ledger or found.
	Lots []Lot
}

// Result is what Compare found.
type Result struct {
	// Differences, in the order of the kinds (Missing first), then by
	// item.
	Differences []Difference `json:"differences"`
	// Matched counts the items and lots found as the ledger has them.
	Matched int `json:"matched"`
}

// Compare returns the differences between what the count in found and
// what the ledger has at in.Location (see Kind for each).
func Compare(in Input) Result {
	r := Result{Differences: []Difference{}}
	seen := make(map[string]bool, len(in.Seen))
	for _, s := range in.Seen {
		seen[s.Key] = true
	}
	for _, u := range in.Expected {
		if seen[u.Key] {
			continue
		}
		d := Difference{Kind: Missing, Item: u.Key, Product: u.Product, Lot: u.Lot, Expiry: u.Expiry, Expected: 1, Action: WriteOff, Adjusted: u.Adjusted}
		if in.RFID && !u.Tagged {
			d.Kind, d.Action = Untagged, CountByBarcode
		}
		r.add(d)
	}
	for _, s := range in.Seen {
		d, ok := judge(in.Location, s)
		if !ok {
			r.Matched++
			continue
		}
		r.add(d)
	}
	for _, l := range in.Lots {
		d := Difference{Kind: LotCount, Item: l.Key, Product: l.Product, Lot: l.Lot, Expiry: l.Expiry,
			Expected: l.End, Counted: l.Counted, Adjusted: l.Adjusted}
		switch {
		case l.Start == l.End && l.Counted == l.End, l.Start != l.End && (l.Counted == l.Start || l.Counted == l.End):
			r.Matched++
			continue
		case l.Start != l.End:
			d.Changed, d.ExpectedAtStart, d.Action = true, l.Start, Recount
		case l.Counted < l.End:
			d.Action = WriteOff
		default:
			d.Action = TakeOnHand
		}
		r.add(d)
	}
	slices.SortFunc(r.Differences, func(a, b Difference) int {
		if c := cmp.Compare(slices.Index(kinds, a.Kind), slices.Index(kinds, b.Kind)); c != 0 {
			return c
		}
		return cmp.Compare(a.Item, b.Item)
	})
	return r
}

// add adds d, marked as an alert or as adjusted.
func (r *Result) add(d Difference) {
	d.Alert = d.Kind.Alert()
	if d.Adjusted != 0 {
		d.Action = Adjusted
	}
	r.Differences = append(r.Differences, d)
}

// judge returns the difference an item found at location is, if any.
func judge(location string, s Seen) (Difference, bool) {
	st := s.State
	d := Difference{Item: s.Key, Product: s.Product, Lot: s.Lot, Expiry: s.Expiry, Counted: 1,
		LedgerLocation: st.Location, LedgerStatus: st.Status.String(), Adjusted: s.Adjusted}
	switch {
	case st.Movements == 0 || !st.Received && !st.Commissioned:
		d.Kind, d.Action = Unknown, Commission
	case s.Consumed:
		d.Kind, d.Action = Used, Investigate
	default:
		switch st.Status {
		case lifecycle.StatusReceived, lifecycle.StatusCommissioned, lifecycle.StatusStocked, lifecycle.StatusReturned,
			lifecycle.StatusQuarantined:
			if st.Location == location {
				return Difference{}, false
			}
			d.Kind, d.Action = Misplaced, None
		case lifecycle.StatusIssued:
			d.Kind, d.Action = Issued, Restock
		default: // used, wasted or disposed of, yet not Consumed: cannot be, but never hide it
			d.Kind, d.Action = Used, Investigate
		}
	}
	return d, true
}
