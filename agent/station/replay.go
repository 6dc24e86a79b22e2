package station

import (
	"bytes"
	"slices"

	"github.com/udi-edge/udi-edge/agent"
)

// Replay brings the context of m's station to what it was after m, a
// movement recorded from one of its scans before the gateway restarted:
// the open case and patient, the staff member, a command waiting for the
// next scan, the last item (for CANCEL LAST and a justification) and the
// uses held for a case. Replayed in order, the movements of the last
// hours leave each station as its next scan would have found it had the
// gateway not stopped. The rule is the live scan's own (contextMovement
// for a claimed code); what a movement records of the context (its case,
// patient and actor) is taken as it was, so that replay may begin after
// the case was opened. Movements that did not come from a station's scan
// (tag reads, count sessions, links, rejections, a station no longer
// configured) change nothing. It writes nothing.
func (in *Ingest) Replay(m agent.Movement) {
	if in.Patterns == nil || !fromStationScan(m) {
		return
	}
	if _, ok := in.Stations[m.Station]; !ok {
		return
	}
	in.ctx.mu.Lock()
	defer in.ctx.mu.Unlock()
	c := in.ctx.get(m.Station)
	c.expire(in.Patterns, m.Time)
	c.last = m.Time
	if m.Kind == agent.KindContext || m.Kind == agent.KindAdjust {
		what, id := in.Patterns.claim(string(bytes.TrimPrefix(m.Raw, []byte(m.Symbology))))
		if what == "" {
			return // no pattern claims it now: the configuration changed
		}
		_ = c.contextMovement(m, what, id)
		if what == "wristband" || what == "case" {
			c.held = c.held[:0] // linked by movements of their own
		}
		if recordsContext(m, what, id) {
			c.patient, c.caseID = m.Patient, m.Case
		}
		return
	}
	if !m.Kind.MovesItem() {
		return
	}
	// An item scan: any command waiting was spent on it.
	c.next, c.loan = "", false
	if (m.Kind == agent.KindUse || m.Kind == agent.KindReturn || m.Kind == agent.KindWaste) && !slices.Contains(m.Flags, agent.FlagScheduled) {
		c.patient, c.caseID = m.Patient, m.Case
	}
	c.actor = m.Actor
	if m.Decision != agent.DecisionBlocked {
		c.lastItem = m
		if m.Kind == agent.KindUse && m.Case == "" && m.Patient == "" && in.Patterns.HoldFor > 0 {
			c.hold(m)
		}
	}
}

// recordsContext reports whether m, the movement of a claimed code,
// records the case and patient open at its station after it: a badge's
// and a command's that waits for the next scan or cancelled an item do;
// a case closed, a justification, a cancellation of nothing do not.
func recordsContext(m agent.Movement, what, id string) bool {
	if what == "badge" {
		return true
	}
	if what != "command" {
		return false
	}
	switch agent.Command(id) {
	case agent.CmdReturn, agent.CmdWaste, agent.CmdLoan:
		return true
	case agent.CmdCancelLast:
		return m.Kind == agent.KindAdjust
	}
	return false
}

// fromStationScan reports whether m was recorded from a barcode scan at a
// station, through Handle.
func fromStationScan(m agent.Movement) bool {
	if len(m.Raw) == 0 || m.Kind == agent.KindReject || m.Kind == agent.KindCount || m.Symbology == agent.SymbologyEPC {
		return false
	}
	return !slices.ContainsFunc(m.Flags, func(f string) bool {
		return f == agent.FlagCaseLink || f == agent.FlagCountStart || f == agent.FlagCountEnd || f == agent.FlagCountAdjusted
	})
}
