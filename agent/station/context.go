package station

import (
	"regexp"
	"slices"
	"sync"
	"time"

	"github.com/udi-edge/udi-edge/agent"
)

// Patterns tell the codes that are not items apart: the plain codes that
// open a case, name a staff member or command the station. A pattern's first
// capture group, if it has one, is the identifier; else the whole code.
type Patterns struct {
	Wristband *regexp.Regexp
	Case      *regexp.Regexp
	Badge     *regexp.Regexp
	// Justification matches a necessity-justification barcode (a reason
	// code for using an imported item): it completes the station's last
	// use that is pending one.
	Justification *regexp.Regexp
	// Commands maps a command barcode's exact content to its command.
	Commands map[string]agent.Command
	// CaseIdle closes a case after this long without a scan at its
	// station (zero: never by time).
	CaseIdle time.Duration
	// BadgeTimeout forgets the station's actor after this long without a
	// scan (zero: never by time).
	BadgeTimeout time.Duration
	// HoldFor is how long a use scanned with no case open is held at its
	// station: a case opened there (wristband or case barcode) within this
	// time is linked to it, with a movement that says so. Zero holds
	// nothing.
	HoldFor time.Duration
}

// ReasonCaseClosed is the Reason of the context movement CLOSE CASE
// records.
const ReasonCaseClosed = "case closed"

// maxHeld bounds the uses a station holds for a case.
const maxHeld = 256

// claim returns what a plain code is: "wristband", "case", "badge" or
// "command", with the identifier or command; "" when no pattern claims it.
func (p *Patterns) claim(code string) (what, id string) {
	if p == nil {
		return "", ""
	}
	if c, ok := p.Commands[code]; ok {
		return "command", string(c)
	}
	for _, x := range []struct {
		what string
		re   *regexp.Regexp
	}{{"wristband", p.Wristband}, {"case", p.Case}, {"badge", p.Badge}, {"justification", p.Justification}} {
		if x.re == nil {
			continue
		}
		if m := x.re.FindStringSubmatch(code); m != nil {
			if len(m) > 1 && m[1] != "" {
				return x.what, m[1]
			}
			return x.what, m[0]
		}
	}
	return "", ""
}

// stationContext is what a station remembers between scans.
type stationContext struct {
	patient, caseID string
	actor           string
	last            time.Time        // last scan at the station
	next            agent.Kind       // kind of the next item scan, set by a command
	loan            bool             // the next use is a loan item (CmdLoan)
	lastItem        agent.Movement   // last item movement recorded, for cancel-last
	held            []agent.Movement // uses recorded with no case, oldest first
}

// Context is a station's context as its next scan would find it: the
// patient and case open there, and the staff member whose badge it read.
type Context struct {
	Patient, Case, Actor string
}

// Open reports whether a case is open at the station.
func (c Context) Open() bool { return c.Patient != "" || c.Case != "" }

// contexts holds every station's context.
type contexts struct {
	mu sync.Mutex
	m  map[string]*stationContext
}

func (cs *contexts) get(station string) *stationContext {
	if cs.m == nil {
		cs.m = map[string]*stationContext{}
	}
	c := cs.m[station]
	if c == nil {
		c = &stationContext{}
		cs.m[station] = c
	}
	return c
}

// expire forgets a case or an actor that has been idle too long.
func (c *stationContext) expire(p *Patterns, now time.Time) {
	if p == nil || c.last.IsZero() {
		return
	}
	idle := now.Sub(c.last)
	if p.CaseIdle > 0 && idle > p.CaseIdle {
		c.patient, c.caseID = "", ""
	}
	if p.BadgeTimeout > 0 && idle > p.BadgeTimeout {
		c.actor = ""
	}
}

// hold remembers a use recorded with no case, to link it to the next case
// opened at the station.
func (c *stationContext) hold(m agent.Movement) {
	if len(c.held) == maxHeld {
		c.held = slices.Delete(c.held, 0, 1)
	}
	c.held = append(c.held, m)
}

// links returns the movements that link the held uses to the case the
// station has just opened (c.caseID, c.patient), for the uses held no
// longer than holdFor before now, and forgets every held use.
func (c *stationContext) links(m agent.Movement, now time.Time, holdFor time.Duration) []agent.Movement {
	var out []agent.Movement
	for _, u := range c.held {
		if now.Sub(u.Time) > holdFor || (u.Case != "" || u.Patient != "") {
			continue
		}
		l := m
		l.Kind = agent.KindContext
		l.Symbology, l.Raw = "", nil
		l.Item, l.GTIN, l.Serial, l.Lot, l.Expiry, l.Tag = u.Item, u.GTIN, u.Serial, u.Lot, u.Expiry, u.Tag
		l.Case, l.Patient, l.Actor = c.caseID, c.patient, c.actor
		l.Flags = []string{agent.FlagCaseLink}
		l.Reason = agent.LinkReason(u.Seq)
		out = append(out, l)
	}
	c.held = c.held[:0]
	return out
}

// contextMovement applies a claimed plain code to the station's context and
// returns the movement that records it.
func (c *stationContext) contextMovement(m agent.Movement, what, id string) agent.Movement {
	m.Kind = agent.KindContext
	switch what {
	case "wristband":
		if c.patient != "" && c.patient != id {
			m.Reason = "new patient: previous case closed, case opened"
		} else {
			m.Reason = "patient identified: case open"
		}
		c.patient, c.caseID = id, ""
	case "case":
		c.caseID = id
		m.Reason = "case opened"
	case "badge":
		c.actor = id
		m.Reason = "staff identified"
	case "justification":
		last := c.lastItem
		if last.Seq == 0 || last.Decision != agent.DecisionPending {
			m.Reason = "justification scanned, but no use at this station is pending one"
			break
		}
		m = agent.Justify(m, last, id)
		c.lastItem.Decision = agent.DecisionAccepted
		m.Actor = c.actor
		return m
	case "command":
		switch agent.Command(id) {
		case agent.CmdReturn:
			c.next = agent.KindReturn
			m.Reason = "next scan records a return"
		case agent.CmdWaste:
			c.next = agent.KindWaste
			m.Reason = "next scan records waste"
		case agent.CmdLoan:
			c.loan = true
			m.Reason = "next use is a supplier's loan item (bill only)"
		case agent.CmdCloseCase:
			m.Reason = ReasonCaseClosed
			m.Case, m.Patient = c.caseID, c.patient
			c.patient, c.caseID = "", ""
			return m
		case agent.CmdCancelLast:
			if c.lastItem.Seq == 0 {
				m.Reason = "cancel last: nothing to cancel at this station"
				return m
			}
			last := c.lastItem
			m.Kind = agent.KindAdjust
			m.Item, m.GTIN, m.Serial, m.Lot, m.Expiry = last.Item, last.GTIN, last.Serial, last.Lot, last.Expiry
			m.Case, m.Patient = last.Case, last.Patient
			m.Reason = agent.CancelReason(last.Kind, last.Seq)
			c.lastItem = agent.Movement{}
		default:
			m.Reason = "unknown command " + id
		}
	}
	m.Case, m.Patient, m.Actor = c.caseID, c.patient, c.actor
	return m
}

// applyContext fills an item movement from the station's context; with no
// case open, a use takes the case the schedule has in the station's room
// at the time, if schedule finds one.
func (c *stationContext) applyContext(m agent.Movement, schedule func(room string, t time.Time) (caseID, patient string, ok bool)) agent.Movement {
	if c.next != "" {
		m.Kind = c.next
		c.next = ""
	}
	if c.loan {
		if m.Kind == agent.KindUse {
			m.Flags = append(m.Flags, agent.FlagLoan)
		}
		c.loan = false
	}
	if m.Kind == agent.KindUse || m.Kind == agent.KindReturn || m.Kind == agent.KindWaste {
		m.Case, m.Patient = c.caseID, c.patient
		if m.Kind == agent.KindUse && m.Case == "" && m.Patient == "" && schedule != nil {
			if id, patient, ok := schedule(m.Location, m.Time); ok {
				m.Case, m.Patient = id, patient
				m.Flags = append(m.Flags, agent.FlagScheduled)
				m.Reason = "case taken from the operating schedule"
			}
		}
	}
	m.Actor = c.actor
	return m
}
