package lifecycle

import (
	"slices"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/code"
)

// Status is where an item stands in its lifecycle.
type Status string

// Statuses. StatusNone is the status of an item no movement has named.
const (
	StatusNone         Status = ""
	StatusReceived     Status = "received"
	StatusCommissioned Status = "commissioned"
	StatusStocked      Status = "stocked"
	StatusIssued       Status = "issued"
	StatusUsed         Status = "used"
	StatusReturned     Status = "returned"
	StatusWasted       Status = "wasted"
	StatusQuarantined  Status = "quarantined"
	StatusDisposed     Status = "disposed"
)

// Statuses lists every status, in lifecycle order, StatusNone first.
var Statuses = []Status{
	StatusNone, StatusReceived, StatusCommissioned, StatusStocked, StatusIssued,
	StatusUsed, StatusReturned, StatusWasted, StatusQuarantined, StatusDisposed,
}

// String returns the status, or "none" for StatusNone.
func (s Status) String() string {
	if s == StatusNone {
		return "none"
	}
	return string(s)
}

// Lifecycle flags: what Apply found unexpected about a movement. Each is a
// stable word recorded in agent.Movement.Flags.
const (
	// FlagNeverReceived: the item moves, is counted or used, but was never
	// received nor commissioned.
	FlagNeverReceived = "never-received"
	// FlagReceivedTwice: the item is received while already received.
	FlagReceivedTwice = "received-twice"
	// FlagIssuedTwice: the item is issued while already issued, with no
	// return, stock or use in between.
	FlagIssuedTwice = "issued-twice"
	// FlagFromMismatch: the movement says the item came from a location
	// other than the one the ledger has for it.
	FlagFromMismatch = "from-mismatch"
	// FlagCountedElsewhere: a count saw the item at a location other than
	// the one the ledger has for it.
	FlagCountedElsewhere = "counted-elsewhere"
	// FlagUsedTwice: the same unique code is used again: the strongest
	// fraud and safety signal.
	FlagUsedTwice = "used-twice"
	// FlagReturnedAfterUse: the item is returned after it was used.
	FlagReturnedAfterUse = "returned-after-use"
	// FlagMovedAfterUse: the item moves (other than a use or a return)
	// after it was used.
	FlagMovedAfterUse = "moved-after-use"
	// FlagSeenAfterUse: a count saw the item after it was used.
	FlagSeenAfterUse = "seen-after-use"
	// FlagUsedAfterWaste, FlagMovedAfterWaste, FlagSeenAfterWaste: the item
	// is used, moves, or is seen by a count after it was wasted.
	FlagUsedAfterWaste  = "used-after-waste"
	FlagMovedAfterWaste = "moved-after-waste"
	FlagSeenAfterWaste  = "seen-after-waste"
	// FlagUsedAfterDisposal, FlagMovedAfterDisposal, FlagSeenAfterDisposal:
	// the item is used, moves, or is seen by a count after it was disposed
	// of.
	FlagUsedAfterDisposal  = "used-after-disposal"
	FlagMovedAfterDisposal = "moved-after-disposal"
	FlagSeenAfterDisposal  = "seen-after-disposal"
	// FlagMovedWhileQuarantined: the item is received, stocked, issued,
	// transferred or returned while quarantined. It stays quarantined.
	FlagMovedWhileQuarantined = "moved-while-quarantined"
	// FlagUsedWhileQuarantined: the item is used while quarantined.
	FlagUsedWhileQuarantined = "used-while-quarantined"
	// FlagUnknownKind: the movement's kind is not one of agent.Kinds.
	FlagUnknownKind = "unknown-kind"
	// FlagCancelNotLast: an adjustment cancels a movement that is not the
	// item's last one; it is applied as an ordinary adjustment.
	FlagCancelNotLast = "cancel-not-last"
)

// LifecycleFlags lists every lifecycle flag in the order Apply reports
// them.
var LifecycleFlags = []string{
	FlagUnknownKind, FlagCancelNotLast, FlagNeverReceived, FlagReceivedTwice, FlagIssuedTwice,
	FlagFromMismatch, FlagCountedElsewhere,
	FlagUsedTwice, FlagReturnedAfterUse, FlagMovedAfterUse, FlagSeenAfterUse,
	FlagUsedAfterWaste, FlagMovedAfterWaste, FlagSeenAfterWaste,
	FlagUsedAfterDisposal, FlagMovedAfterDisposal, FlagSeenAfterDisposal,
	FlagMovedWhileQuarantined, FlagUsedWhileQuarantined,
}

// Life is what has happened to an item: its status and location, and the
// events that end or mark its life. A cancellation restores the Life an
// item had before the cancelled movement.
type Life struct {
	// Status is where the item stands.
	Status Status
	// Location is where the item was last recorded: the Location of the
	// last movement that named one.
	Location string
	// Received and Commissioned say whether the item was ever received,
	// ever commissioned.
	Received     bool
	Commissioned bool
	// Uses counts the use movements of the item.
	Uses int
	// UseCase, UseTime, UseGateway and UseSeq identify the first use.
	UseCase    string
	UseTime    time.Time
	UseGateway string
	UseSeq     uint64
	// Wasted and Disposed say whether the item was ever wasted, ever
	// disposed of.
	Wasted   bool
	Disposed bool
	// QuarantineTime is when the item was last put in quarantine; zero if
	// never.
	QuarantineTime time.Time
	// Removal is the item's last removal (an issue: taken from a cabinet
	// or picked for a case) that no movement since has linked (see
	// LinksRemoval); the zero Removal when none is outstanding.
	Removal Removal
	// Owner is the supplier who owns the item on consignment, as its
	// receipt says (agent.Consignor); "" when the hospital owns it.
	// Ownership passes to the hospital at use: a use leaves it "".
	Owner string
}

// Removal identifies the issue movement that took an item out.
type Removal struct {
	Gateway  string
	Seq      uint64
	Time     time.Time
	Location string
}

// Outstanding reports whether r is a removal, not the zero Removal.
func (r Removal) Outstanding() bool { return r != Removal{} }

// State is what the ledger says about one item: its Life, and its last
// movement. The zero State is an item no movement has named. A State
// holds no patient identifier.
//
// States are comparable with ==: the state after a sequence of movements
// equals the state rebuilt by applying the same movements from the zero
// State.
type State struct {
	// Item is the item key, from the first movement applied.
	Item string
	Life
	// Before is the Life before the last movement, which a cancellation
	// of that movement restores.
	Before Life
	// Lot, Expiry and Tag are the last non-empty lot, expiry (ISO date)
	// and tag key carried by a movement of the item, so that a tag read,
	// which carries neither lot nor expiry, can be checked.
	Lot    string
	Expiry string
	Tag    string
	// Movements counts the movements applied, rejections and context
	// scans excluded.
	Movements int
	// LastKind, LastGateway, LastSeq and LastTime identify the last
	// movement applied.
	LastKind    agent.Kind
	LastGateway string
	LastSeq     uint64
	LastTime    time.Time
	// Gateway is the gateway that recorded the first movement applied
	// that names one (Movement.Gateway set), and ManyGateways says that
	// a movement recorded by another gateway was applied since. A
	// gateway's own ledger holds only its own movements, so there
	// ManyGateways stays false (see CancelsLast).
	Gateway      string
	ManyGateways bool
	// LoanSet is the supplier of a loan set that declared the item
	// (agent.FlagLoanSet) while it was not received here: its use is a
	// loan (agent.FlagLoan), not an item never received. "" if none.
	LoanSet string
}

// Unit reports whether key names one physical item, as code.SplitKey
// reads it (KeyParts.Unit): a GS1, HIBC or MA key with a serial, an AHM
// code, a tag bound to an item by commissioning. A key naming a lot or a
// product names many items, so using it again is no anomaly; Apply keeps
// the state of such keys but raises no flag about them other than
// FlagNeverReceived.
func Unit(key string) bool { return code.SplitKey(key).Unit() }

// Apply folds m into prev, the state of m's item, and returns the new
// state with the flags naming what the lifecycle did not expect, in the
// order of LifecycleFlags (nil when nothing was unexpected).
//
// Every movement is applied, however unexpected: the new state says where
// the movement put the item, the flags say why that was unexpected. A
// rejected read (agent.KindReject) and a station context scan name no item,
// and a use the checks blocked did not happen: all three leave prev as it
// is. A movement of a kind Apply does not know is counted and flagged
// FlagUnknownKind, and changes nothing else but the last movement. An
// issue opens a Removal, which the next movement that LinksRemoval closes;
// a cancellation that CancelsLast restores the Life before the cancelled
// movement. Apply is deterministic and does not modify m.
func Apply(prev State, m agent.Movement) (next State, flags []string) {
	if m.Kind == agent.KindContext && slices.Contains(m.Flags, agent.FlagLoanSet) {
		// A loan set's declaration moves nothing; it says whose the
		// item is, should it be used without a receipt.
		if s, ok := agent.Consignor(m); ok {
			prev.LoanSet = s
		}
		return prev, nil
	}
	if m.Kind == agent.KindReject || m.Kind == agent.KindContext || m.Decision == agent.DecisionBlocked {
		// A blocked attempt is on record but did not happen.
		return prev, nil
	}
	next = prev
	if next.Item == "" {
		next.Item = m.Item
	}
	next.Movements++
	next.Before = prev.Life
	next.LastKind, next.LastGateway, next.LastSeq, next.LastTime = m.Kind, m.Gateway, m.Seq, m.Time
	switch {
	case m.Gateway == "" || m.Gateway == prev.Gateway:
	case prev.Gateway == "":
		next.Gateway = m.Gateway
	default:
		next.ManyGateways = true
	}
	if m.Lot != "" {
		next.Lot = m.Lot
	}
	if m.Expiry != "" {
		next.Expiry = m.Expiry
	}
	if m.Tag != "" {
		next.Tag = m.Tag
	}
	if !m.Kind.Valid() {
		return next, []string{FlagUnknownKind}
	}
	if m.Location != "" {
		next.Location = m.Location
	}

	f := flagsFor(prev, m, Unit(next.Item))
	if m.Kind == agent.KindIssue {
		next.Removal = Removal{Gateway: m.Gateway, Seq: m.Seq, Time: m.Time, Location: m.Location}
	} else if prev.Removal.Outstanding() && LinksRemoval(prev.Removal, m) {
		next.Removal = Removal{}
	}

	switch m.Kind {
	case agent.KindReceive:
		next.Received = true
		next.Owner, _ = agent.Consignor(m)
		switch {
		case prev.Status == StatusQuarantined:
		case prev.Status == StatusCommissioned && !prev.Received:
		default:
			next.Status = StatusReceived
		}
	case agent.KindCommission:
		next.Commissioned = true
		if prev.Status == StatusNone || prev.Status == StatusReceived {
			next.Status = StatusCommissioned
		}
	case agent.KindStock:
		if prev.Status != StatusQuarantined {
			next.Status = StatusStocked
		}
	case agent.KindIssue:
		if prev.Status != StatusQuarantined {
			next.Status = StatusIssued
		}
	case agent.KindTransfer:
		if prev.Status == StatusNone {
			next.Status = StatusStocked
		}
	case agent.KindUse:
		next.Status = StatusUsed
		next.Owner = ""
		if slices.Contains(m.Flags, agent.FlagLoan) {
			// A loan set's item: its use stands for its receipt.
			next.Received = true
		}
		if next.Uses == 0 {
			next.UseCase, next.UseTime, next.UseGateway, next.UseSeq = m.Case, m.Time, m.Gateway, m.Seq
		}
		next.Uses++
	case agent.KindReturn:
		if prev.Status != StatusQuarantined {
			next.Status = StatusReturned
		}
	case agent.KindWaste:
		next.Status = StatusWasted
		next.Wasted = true
	case agent.KindQuarantine:
		next.Status = StatusQuarantined
		next.QuarantineTime = m.Time
	case agent.KindDispose:
		next.Status = StatusDisposed
		next.Disposed = true
	case agent.KindCount:
		// A count observes: it moves the recorded location, nothing else.
	case agent.KindAdjust:
		if CancelsLast(prev, m) {
			// The cancelled movement is undone, as if it had not been
			// made; the cancellation itself is expected.
			next.Life, next.Before = prev.Before, prev.Before
			return next, nil
		} else if _, _, ok := Cancels(m); ok {
			f.add(FlagCancelNotLast)
		}
		// An adjustment is a recorded, attributable correction: the item
		// is in stock where it says, and a quarantine hold is lifted.
		next.Status = StatusStocked
	}
	return next, f.list()
}

// Cancels reports whether m is the adjustment a station records for its
// CANCEL LAST command, and which movement it cancels (agent.Cancelled).
func Cancels(m agent.Movement) (kind agent.Kind, seq uint64, ok bool) {
	return agent.Cancelled(m)
}

// CancelsLast reports whether m cancels the last movement of the item
// whose state is prev: m is a cancellation (Cancels) naming the kind and
// sequence number of prev's last movement, of the same gateway (sequence
// numbers are per gateway, and a station cancels only a movement of its
// own gateway).
//
// A movement not yet recorded has no Gateway: the ledger stamps it. Such
// a movement is taken as being of the gateway that recorded the item's
// history (State.Gateway), when one gateway recorded all of it, as on a
// gateway, whose ledger holds only its own movements. When the history
// holds movements of several gateways (State.ManyGateways), an unstamped
// movement cancels nothing: which gateway's movement it means cannot be
// told, and a guess could undo another gateway's use. Checker.Gateway
// stamps a movement before the checks, so that they need no guess.
func CancelsLast(prev State, m agent.Movement) bool {
	kind, seq, ok := Cancels(m)
	if !ok || prev.Movements == 0 || kind != prev.LastKind || seq != prev.LastSeq {
		return false
	}
	gw := m.Gateway
	if gw == "" {
		if prev.ManyGateways {
			return false
		}
		gw = prev.Gateway
	}
	return gw == prev.LastGateway
}

// LinksRemoval reports whether m, a movement of the item recorded after
// its removal r, accounts for the item: whether its whereabouts are known
// again. This is the one rule of the "removed but not linked" alert, for
// the running agent (RemovalLinked) and for the auditor.
//
// A use (on a patient), a return, a waste, a disposal, a quarantine, a
// receipt, a put-back into stock (a stock movement, in any cabinet) and an
// adjustment that is not a cancellation (a recorded, attributable
// correction) link it; so does a count at the location it was taken from
// (the cabinet's inventory sees it again). A transfer does not: a tag
// crossing a door says the item moved on, not where it ended, and an
// expensive item carried out and never used, returned or put back is what
// the alert is for. Nor does a count elsewhere (a reader on an OR table
// sees the item, which is still neither used nor back in stock), another
// issue, a commission, a context scan or a rejection. A movement the
// checks blocked did not happen and links nothing; a movement cancelled
// later no longer links (Apply restores the Life before it, removal
// included).
func LinksRemoval(r Removal, m agent.Movement) bool {
	if m.Decision == agent.DecisionBlocked {
		return false
	}
	switch m.Kind {
	case agent.KindUse, agent.KindReturn, agent.KindWaste, agent.KindDispose, agent.KindQuarantine,
		agent.KindReceive, agent.KindStock:
		return true
	case agent.KindCount:
		return r.Location != "" && m.Location == r.Location
	case agent.KindAdjust:
		_, _, cancel := Cancels(m)
		return !cancel
	}
	return false
}

// RemovalLinked reports whether an item taken from a cabinet at `at` has
// been accounted for since, given ms, the item's movements oldest first
// (its trace from the ledger): false when, folded with Apply, they leave
// a removal made at or before at outstanding. A later removal outstanding
// means the one at `at` was linked (the item was put back, then taken
// again); no removal outstanding means it was linked, or cancelled, or is
// not in ms. The running agent's sweeper asks this of each removal older
// than its link time.
func RemovalLinked(ms []agent.Movement, at time.Time) bool {
	s, _ := Replay(ms)
	return !s.Removal.Outstanding() || s.Removal.Time.After(at)
}

// flagSet is a set of lifecycle flags, one bit per LifecycleFlags entry.
type flagSet uint32

var flagBit = func() map[string]flagSet {
	m := make(map[string]flagSet, len(LifecycleFlags))
	for i, f := range LifecycleFlags {
		m[f] = 1 << i
	}
	return m
}()

func (s *flagSet) add(f string) { *s |= flagBit[f] }

func (s flagSet) list() []string {
	if s == 0 {
		return nil
	}
	var out []string
	for i, f := range LifecycleFlags {
		if s&(1<<i) != 0 {
			out = append(out, f)
		}
	}
	return out
}

// flagsFor returns the flags of a movement of a known kind applied to the
// state prev. Of a key that is not a unit (see Unit), only
// FlagNeverReceived is raised.
func flagsFor(prev State, m agent.Movement, unit bool) flagSet {
	var f flagSet
	k := m.Kind
	if !prev.Received && !prev.Commissioned && k != agent.KindReceive && k != agent.KindCommission &&
		(k != agent.KindUse || !slices.Contains(m.Flags, agent.FlagLoan)) {
		f.add(FlagNeverReceived)
	}
	if !unit {
		return f
	}
	if k == agent.KindReceive && prev.Received {
		f.add(FlagReceivedTwice)
	}
	if k == agent.KindIssue && prev.Status == StatusIssued {
		f.add(FlagIssuedTwice)
	}
	if m.From != "" && prev.Location != "" && m.From != prev.Location {
		switch k {
		case agent.KindIssue, agent.KindTransfer, agent.KindReturn, agent.KindStock:
			f.add(FlagFromMismatch)
		}
	}
	if k == agent.KindCount && m.Location != "" && prev.Location != "" && m.Location != prev.Location {
		f.add(FlagCountedElsewhere)
	}

	// After the end of the item's life: a use, a waste, a disposal.
	if prev.Uses > 0 {
		switch k {
		case agent.KindUse:
			f.add(FlagUsedTwice)
		case agent.KindReturn:
			f.add(FlagReturnedAfterUse)
		case agent.KindCount:
			f.add(FlagSeenAfterUse)
		default:
			f.add(FlagMovedAfterUse)
		}
	}
	if prev.Wasted {
		switch k {
		case agent.KindUse:
			f.add(FlagUsedAfterWaste)
		case agent.KindCount:
			f.add(FlagSeenAfterWaste)
		case agent.KindDispose:
			// Destroying what was wasted is the expected end.
		default:
			f.add(FlagMovedAfterWaste)
		}
	}
	if prev.Disposed {
		switch k {
		case agent.KindUse:
			f.add(FlagUsedAfterDisposal)
		case agent.KindCount:
			f.add(FlagSeenAfterDisposal)
		default:
			f.add(FlagMovedAfterDisposal)
		}
	}

	if prev.Status == StatusQuarantined {
		switch k {
		case agent.KindReceive, agent.KindStock, agent.KindIssue, agent.KindTransfer, agent.KindReturn:
			f.add(FlagMovedWhileQuarantined)
		case agent.KindUse:
			f.add(FlagUsedWhileQuarantined)
		}
	}
	return f
}

// Replay folds movements into the zero State, in order, and returns the
// final state with the flags of each movement (nil entries where a
// movement raised none).
func Replay(ms []agent.Movement) (State, [][]string) {
	var s State
	flags := make([][]string, len(ms))
	for i, m := range ms {
		s, flags[i] = Apply(s, m)
	}
	return s, flags
}
