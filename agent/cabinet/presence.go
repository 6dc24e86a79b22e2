package cabinet

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/presence"
)

// Zone binds an RFID zone (a reader's antenna or a group of them) to the
// location where its movements are recorded, and says what it is.
type Zone struct {
	// Name is the zone's name, as the presence tracker knows it.
	Name string
	// Location is where the zone is (a cabinet, a door, an OR).
	Location string
	// Role is what the zone is: a cabinet, a portal, an encoder pad or an
	// OR table.
	Role presence.Role
}

// Presence turns the events of the presence tracker into movements: an
// item placed in a cabinet is stocked there, an item gone from a cabinet is
// issued from it, a tag crossing a door is transferred, a tag seen at a
// station is counted there. A tag the ledger has never seen is recorded as
// an unknown tag, never dropped, so the warehouse can commission it.
type Presence struct {
	// Ledger records the movements; its Trace tells whether a tag is known.
	Ledger agent.Ledger
	// Zones binds zone names to locations.
	Zones map[string]Zone
	// Answer, if set, is called with each movement's outcome; it runs on
	// the ledger's writer goroutine and must not block.
	Answer func(o agent.Outcome)
	// Log receives one line per outcome.
	Log *slog.Logger
	// Decide, if set, runs the point-of-use checks on each item taken from
	// a cabinet (an issue movement): an expired, recalled or quarantined
	// item picked for a case is flagged at once. The removal has happened,
	// so the checks can only warn: a decision to block is recorded as a
	// warning, with its reasons and flags.
	Decide func(m agent.Movement, openCase bool) agent.Decision

	wg sync.WaitGroup
}

// UnknownTag is the Reason of a movement of a tag that the ledger has never
// seen: neither an SGTIN of an item nor a tag commissioned to one.
const UnknownTag = "unknown tag: never received nor commissioned here; commission it to an item"

// Movement builds the movement a presence event stands for. raw is the
// tag's PC word and EPC as read, kept as the code exactly as read.
func (p *Presence) Movement(ctx context.Context, ev presence.Event, raw []byte) agent.Movement {
	z := p.Zones[ev.Zone]
	loc := z.Location
	if loc == "" {
		loc = ev.Zone
	}
	m := agent.Movement{
		Time:      ev.Time,
		Item:      ev.Tag,
		Location:  loc,
		Station:   ev.Reader,
		Antenna:   ev.Antenna,
		Symbology: agent.SymbologyEPC,
		Raw:       raw,
	}
	switch ev.Kind {
	case presence.Placed:
		m.Kind = agent.KindStock
		if ev.Baseline {
			m.Kind = agent.KindCount
			m.Reason = "present at start-up"
		}
	case presence.Removed:
		m.Kind = agent.KindIssue
		m.Reason = fmt.Sprintf("gone from %s after %d inventory rounds", ev.Zone, ev.Rounds)
	case presence.PortalIn, presence.PortalOut:
		m.Kind = agent.KindTransfer
		dir := "in"
		if ev.Kind == presence.PortalOut {
			dir = "out"
		}
		m.Reason = fmt.Sprintf("through %s, %s", ev.Portal, dir)
	default:
		m.Kind = agent.KindCount
	}
	if m.Kind != agent.KindIssue && m.Kind != agent.KindTransfer && p.Ledger != nil {
		if ms, err := p.Ledger.Trace(ctx, ev.Tag); err == nil && len(ms) == 0 {
			m.Reason = UnknownTag
		}
	}
	return m
}

// Handle records a presence event. It returns at once; the outcome arrives
// through Answer.
func (p *Presence) Handle(ctx context.Context, ev presence.Event, raw []byte) {
	m := p.Movement(ctx, ev, raw)
	if p.Decide != nil && m.Kind == agent.KindIssue && m.Reason != UnknownTag {
		d := p.Decide(m, true)
		if d.Outcome == agent.DecisionBlocked {
			d.Outcome = agent.DecisionWarned
		}
		if d.Outcome != agent.DecisionAccepted && d.Outcome != "" {
			m.Decision, m.Flags = d.Outcome, append(m.Flags, d.Flags...)
			m.Reason = strings.TrimPrefix(m.Reason+"; "+strings.Join(d.Reasons, "; "), "; ")
		}
	}
	p.wg.Add(1)
	p.Ledger.Submit(m, func(got agent.Movement, err error) {
		defer p.wg.Done()
		o := agent.OutcomeOf(got, err)
		if p.Log != nil {
			switch o.Verdict {
			case agent.VerdictFailed:
				p.Log.Error("tag movement not recorded", "zone", ev.Zone, "kind", string(m.Kind), "err", err)
			case agent.VerdictWarned:
				p.Log.Warn("tag movement needs attention", "zone", ev.Zone, "location", got.Location, "kind", string(got.Kind),
					"seq", got.Seq, "item", got.Item, "note", got.Reason)
			default:
				p.Log.Info("tag movement", "zone", ev.Zone, "location", got.Location, "kind", string(got.Kind),
					"seq", got.Seq, "item", got.Item, "note", got.Reason)
			}
		}
		if p.Answer != nil {
			p.Answer(o)
		}
	})
}

// Wait blocks until every event handled so far has been answered.
func (p *Presence) Wait() { p.wg.Wait() }
