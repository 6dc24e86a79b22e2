package agent

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// KindContext records a scan that set a station's context instead of moving
// an item: a patient's wristband or a case barcode opening a case, a staff
// badge, a command barcode. Such a movement names no item.
const KindContext Kind = "context"

// Command is what a command barcode tells a station to do.
type Command string

// Commands. Return and Waste change the kind of the station's next item
// scan; CancelLast records an adjustment that cancels the station's last
// movement (nothing is rewritten); CloseCase closes the open case; Loan
// confirms that the station's next use is of a supplier's loan item
// never received here (FlagLoan); CountStart and CountEnd start and end a
// cycle count at the station (agent/core).
const (
	CmdReturn     Command = "return"
	CmdWaste      Command = "waste"
	CmdCancelLast Command = "cancel-last"
	CmdCloseCase  Command = "close-case"
	CmdLoan       Command = "loan"
	CmdCountStart Command = "count-start"
	CmdCountEnd   Command = "count-end"
)

// FlagCaseLink marks the movement that links a use recorded with no case
// to the case opened afterwards at its station.
const FlagCaseLink = "case-link"

// FlagScheduled marks a use linked to a case from the operating schedule
// (the case scheduled in the station's room at the time of the scan)
// because no case was open at the station.
const FlagScheduled = "case-from-schedule"

// LinkReason is the Reason of the movement that links use seq to a case;
// Linked reads it back.
func LinkReason(seq uint64) string {
	return fmt.Sprintf("links use %d to the case opened at this station", seq)
}

// Linked reports whether m links an earlier use to a case, and which (see
// LinkReason): the case and patient are m's.
func Linked(m Movement) (seq uint64, ok bool) {
	if m.Kind != KindContext || !slices.Contains(m.Flags, FlagCaseLink) {
		return 0, false
	}
	rest, ok := strings.CutPrefix(m.Reason, "links use ")
	if !ok {
		return 0, false
	}
	n, _, _ := strings.Cut(rest, " ")
	seq, err := strconv.ParseUint(n, 10, 64)
	return seq, err == nil
}

// FlagJustification marks the movement that records a necessity
// justification for an earlier use.
const FlagJustification = "justification"

// Justify returns m made into the record of a necessity justification,
// reason code reason, for the pending use `use`: a context movement naming
// the item, so that trace shows it and reconciliation counts the use as
// justified. Nothing is rewritten.
func Justify(m Movement, use Movement, reason string) Movement {
	m.Kind = KindContext
	m.Item, m.GTIN, m.Serial, m.Lot, m.Expiry = use.Item, use.GTIN, use.Serial, use.Lot, use.Expiry
	m.Case, m.Patient = use.Case, use.Patient
	m.Decision = DecisionAccepted
	m.Flags = []string{FlagJustification}
	m.Reason = fmt.Sprintf("necessity justification %s for use %d", reason, use.Seq)
	return m
}

// CancelReason is the Reason of the adjust movement that cancels movement
// seq of kind k (a station's CANCEL LAST): "cancels KIND movement SEQ".
// Cancelled reads it back; the two are the one definition of the form.
func CancelReason(k Kind, seq uint64) string {
	return fmt.Sprintf("cancels %s movement %d", k, seq)
}

// Cancelled reports whether m is an adjust movement that cancels an
// earlier one, and which (see CancelReason).
func Cancelled(m Movement) (k Kind, seq uint64, ok bool) {
	if m.Kind != KindAdjust {
		return "", 0, false
	}
	rest, ok := strings.CutPrefix(m.Reason, "cancels ")
	if !ok {
		return "", 0, false
	}
	kind, n, ok := strings.Cut(rest, " movement ")
	if !ok || !Kind(kind).Valid() {
		return "", 0, false
	}
	// The checks may have added their reasons after "; ".
	n, _, _ = strings.Cut(n, "; ")
	seq, err := strconv.ParseUint(n, 10, 64)
	if err != nil {
		return "", 0, false
	}
	return Kind(kind), seq, true
}
