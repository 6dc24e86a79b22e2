package agent

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// The vocabulary of cycle counts. A count session is recorded in the
// ledger, so that it survives a restart and every face reads it alike:
// a context movement starts it (FlagCountStart, its Reason naming the
// stations or RFID zones that count), its scans are count movements
// whose Reason names it (CountReason), a context movement ends it
// (FlagCountEnd), and the adjustments its differences lead to are
// movements whose Reason names it too (CountAdjustReason), followed by a
// context movement that says they were made (FlagCountAdjusted). A
// session is named by the sequence number of the movement that started
// it, in its gateway's ledger. The start, end and adjusted movements are
// indexed under CountKey(location), so that a gateway finds its sessions
// without reading its whole ledger. The functions here are the one
// definition of each form.

// CountKeyPrefix starts the key the movements that start, end and close
// a count session are recorded under: "cycle-count:LOCATION" (CountKey).
// No item key starts with it.
const CountKeyPrefix = "cycle-count:"

// CountKey returns the key a count session at location is recorded
// under.
func CountKey(location string) string { return CountKeyPrefix + location }

// Flags of the movements of a count session.
const (
	// FlagCountStart marks the context movement that starts a session.
	FlagCountStart = "count-start"
	// FlagCountEnd marks the context movement that ends a session.
	FlagCountEnd = "count-end"
	// FlagCountAdjusted marks the context movement recorded once the
	// adjustments of a session are written.
	FlagCountAdjusted = "count-adjusted"
	// FlagLost marks the movement that writes off an item (or a unit of a
	// lot) a count did not find: a disposal, as lost.
	FlagLost = "lost"
)

// CountStart is what the movement that starts a count session says:
// the barcode stations whose scans count, or the RFID zones whose
// snapshot was taken (one of the two).
type CountStart struct {
	Stations []string `json:"stations,omitempty"`
	Zones    []string `json:"zones,omitempty"`
}

const (
	countStartPrefix = "cycle count started: "
	countStations    = "scans at stations "
	countZones       = "RFID snapshot of zones "
)

// CountStartReason is the Reason of the movement that starts a session:
// "cycle count started: scans at stations A,B" or "cycle count started:
// RFID snapshot of zones Z1,Z2". Station and zone ids hold no comma
// (CheckID). ReadCountStart reads it back.
func CountStartReason(s CountStart) string {
	if len(s.Zones) > 0 {
		return countStartPrefix + countZones + strings.Join(s.Zones, ",")
	}
	return countStartPrefix + countStations + strings.Join(s.Stations, ",")
}

// ReadCountStart reports whether m starts a count session (a context
// movement flagged FlagCountStart) and returns what it says. The
// session is m.Seq, its location m.Location.
func ReadCountStart(m Movement) (CountStart, bool) {
	if m.Kind != KindContext || !slices.Contains(m.Flags, FlagCountStart) {
		return CountStart{}, false
	}
	rest, ok := strings.CutPrefix(m.Reason, countStartPrefix)
	if !ok {
		return CountStart{}, false
	}
	if z, ok := strings.CutPrefix(rest, countZones); ok && z != "" {
		return CountStart{Zones: strings.Split(z, ",")}, true
	}
	if s, ok := strings.CutPrefix(rest, countStations); ok && s != "" {
		return CountStart{Stations: strings.Split(s, ",")}, true
	}
	return CountStart{}, false
}

// CountReason is the Reason of a count movement of session: "cycle
// count SESSION". The checks may add their reasons after "; ".
// CountSession reads it back.
func CountReason(session uint64) string { return "cycle count " + strconv.FormatUint(session, 10) }

// CountAdjustReason is the Reason of a movement that adjusts the ledger
// to what session found: "cycle count SESSION: WHAT" (for example "cycle
// count 17: not found at WH; written off as lost"). CountSession reads
// it back.
func CountAdjustReason(session uint64, what string) string {
	return CountReason(session) + ": " + what
}

// CountSession reports whether m is a count movement of a session or an
// adjustment it led to (see CountReason, CountAdjustReason), and which
// session. The movements that start, end or close a session are not
// (see ReadCountStart, CountEnded, CountAdjusted).
func CountSession(m Movement) (session uint64, ok bool) {
	if !m.Kind.MovesItem() {
		return 0, false
	}
	rest, ok := strings.CutPrefix(m.Reason, "cycle count ")
	if !ok {
		return 0, false
	}
	end := 0
	for end < len(rest) && '0' <= rest[end] && rest[end] <= '9' {
		end++
	}
	if end == 0 || end < len(rest) && rest[end] != ':' && rest[end] != ';' {
		return 0, false
	}
	n, err := strconv.ParseUint(rest[:end], 10, 64)
	if err != nil || n == 0 {
		return 0, false
	}
	return n, true
}

// CountEndReason is the Reason of the movement that ends session:
// "cycle count SESSION ended". CountEnded reads it back.
func CountEndReason(session uint64) string { return CountReason(session) + " ended" }

// CountEnded reports whether m ends a count session (a context movement
// flagged FlagCountEnd), and which.
func CountEnded(m Movement) (session uint64, ok bool) {
	if m.Kind != KindContext || !slices.Contains(m.Flags, FlagCountEnd) {
		return 0, false
	}
	var n uint64
	if _, err := fmt.Sscanf(m.Reason, "cycle count %d ended", &n); err != nil || n == 0 || m.Reason != CountEndReason(n) {
		return 0, false
	}
	return n, true
}

// CountAdjustedReason is the Reason of the movement recorded once the
// adjustments of session are written: "cycle count SESSION adjusted: N
// movements". CountAdjusted reads it back.
func CountAdjustedReason(session uint64, movements int) string {
	return fmt.Sprintf("%s adjusted: %d movements", CountReason(session), movements)
}

// CountAdjusted reports whether m says the adjustments of a count
// session are written (a context movement flagged FlagCountAdjusted),
// which session, and how many movements they were.
func CountAdjusted(m Movement) (session uint64, movements int, ok bool) {
	if m.Kind != KindContext || !slices.Contains(m.Flags, FlagCountAdjusted) {
		return 0, 0, false
	}
	if _, err := fmt.Sscanf(m.Reason, "cycle count %d adjusted: %d movements", &session, &movements); err != nil ||
		session == 0 || movements < 0 || m.Reason != CountAdjustedReason(session, movements) {
		return 0, 0, false
	}
	return session, movements, true
}
