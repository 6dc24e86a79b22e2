package station

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/udi-edge/udi-edge/agent"

	"github.com/udi-edge/udi-edge/agent/code"
)

// Ingest turns reads into movements: it parses each read's code, applies the
// station's binding, submits the movement to the ledger and, once the ledger
// reports it durable, answers the station. Its zero value is not usable; set
// Ledger and Stations.
type Ingest struct {
	// Ledger records the movements.
	Ledger agent.Ledger
	// Gateway is the id of the gateway, stamped on every movement before
	// the checks run, as the ledger will record it: a check that compares
	// a movement with the item's history (a cancellation of the item's
	// last movement) sees the movement as it will be.
	Gateway string
	// Parser interprets the codes.
	Parser code.Parser
	// Stations binds read sources to locations and movement kinds.
	Stations map[string]agent.Station
	// Answer, if set, is called with each read's outcome after the ledger
	// has answered. It runs on the ledger's writer goroutine and must not
	// block: hand slow work (serial writes) to another goroutine.
	Answer func(station string, o agent.Outcome)
	// Log receives one line per outcome. Codes are never logged: a plain
	// code may be a patient's wristband.
	Log *slog.Logger
	// Patterns claim the plain codes that set a station's context
	// (wristbands, case barcodes, badges, commands); nil claims none.
	Patterns *Patterns
	// Now is the clock for context timeouts; nil means time.Now.
	Now func() time.Time
	// Decide, if set, runs the point-of-use checks on each item movement
	// before it is recorded; openCase tells whether the station has a case
	// open. The decision is recorded with the movement.
	Decide func(m agent.Movement, openCase bool) agent.Decision
	// Schedule, if set, finds the case scheduled in a room (a station's
	// location) at a time, for a use scanned with no case open. It must
	// not block.
	Schedule func(room string, t time.Time) (caseID, patient string, ok bool)

	wg   sync.WaitGroup
	ctx  contexts
	once sync.Once
	done func(agent.Movement, error) // in.answered, made once
}

// Movement builds the movement a read stands for at its station: an item
// movement, or a rejection with its reason. It does not touch the ledger.
func (in *Ingest) Movement(r agent.Read) agent.Movement {
	st, ok := in.Stations[r.Source]
	m := agent.Movement{
		Gateway:   in.Gateway,
		Time:      r.Time,
		Kind:      st.Kind,
		Location:  st.Location,
		Station:   r.Source,
		Symbology: r.Symbology,
		Raw:       r.Raw,
	}
	if m.Time.IsZero() {
		m.Time = time.Now()
	}
	reject := func(reason string) agent.Movement {
		m.Kind = agent.KindReject
		m.Reason = reason
		return m
	}
	switch {
	case !ok:
		return reject(fmt.Sprintf("station %q is not configured", r.Source))
	case r.Err != nil:
		return reject(r.Err.Error())
	}
	c, err := in.Parser.Parse(r.Symbology, r.Data)
	if err != nil {
		return reject(err.Error())
	}
	if c.Kind == code.KindPlain {
		if what, _ := in.Patterns.claim(c.Data); what != "" {
			m.Kind = agent.KindContext
			return m
		}
		return reject("not an item code: no configured pattern claims this " + symbologyWord(c) + " code")
	}
	if st.RequireSerial {
		if err := c.RequireSerial(); err != nil {
			return reject(err.Error())
		}
	}
	m.Item = c.Key()
	m.Flags, m.Reason = warnings(c.Warnings)
	if st.Consignor != "" && m.Kind == agent.KindReceive {
		m.Flags = append(m.Flags, agent.ConsignedFlag(st.Consignor))
	}
	m.GTIN = c.GTIN
	m.Serial = c.Serial
	m.Lot = c.Lot
	m.Expiry = c.Expiry.String()
	m.Production = c.Production.String()
	return m
}

// warnings returns the flags and the reason that record a code's warnings
// (a GS1 pairing rule the label breaks): the read is accepted, and the
// auditor sees what was wrong with its label.
func warnings(ws []code.Warning) (flags []string, reason string) {
	for _, w := range ws {
		if !slices.Contains(flags, w.Code) {
			flags = append(flags, w.Code)
		}
		reason = strings.TrimPrefix(reason+"; "+w.Text, "; ")
	}
	return flags, reason
}

func symbologyWord(c *code.Code) string {
	if c.SymbologyName != "" {
		return c.SymbologyName
	}
	return "plain"
}

// Handle records one read. It returns at once; the outcome arrives through
// Answer once the ledger has answered. Handle never drops a read: every read
// becomes an item movement or a recorded rejection.
func (in *Ingest) Handle(r agent.Read) {
	m := in.Movement(r)
	var links []agent.Movement
	if in.Patterns != nil && m.Kind != agent.KindReject {
		m, links = in.withContext(r, m)
	}
	if in.Decide != nil && m.Kind.MovesItem() {
		// Where no wristband or case pattern is configured cases are not
		// opened at stations, and a use without one is not to be warned of.
		casesInUse := in.Patterns != nil && (in.Patterns.Wristband != nil || in.Patterns.Case != nil)
		d := in.Decide(m, m.Case != "" || m.Patient != "" || !casesInUse)
		// The decision adds to what the movement already says (a station
		// command's reason, its flags); it never replaces it.
		m.Decision, m.Flags = d.Outcome, append(m.Flags, d.Flags...)
		if len(d.Reasons) > 0 {
			m.Reason = strings.TrimPrefix(m.Reason+"; "+strings.Join(d.Reasons, "; "), "; ")
		}
	}
	in.wg.Add(1)
	// The ledger hands back the movement, as recorded or as submitted when
	// it failed; its Station is the read's source. One callback serves
	// every read, so that a scan costs no closure.
	in.once.Do(func() { in.done = in.answered })
	in.Ledger.Submit(m, in.done)
	for _, l := range links {
		in.wg.Add(1)
		in.Ledger.Submit(l, in.linked)
	}
}

// linked logs the outcome of a movement that links a held use to a case.
func (in *Ingest) linked(got agent.Movement, err error) {
	defer in.wg.Done()
	if in.Log == nil {
		return
	}
	if err != nil {
		in.Log.Error("use not linked to the case", "station", got.Station, "item", got.Item, "err", err)
		return
	}
	in.Log.Info("use linked to the case opened after it", "station", got.Station, "item", got.Item, "seq", got.Seq)
}

// withContext applies the station's context to an item movement, or a
// claimed plain code to the context; links are the movements that link
// uses held at the station to a case the code opened.
func (in *Ingest) withContext(r agent.Read, m agent.Movement) (_ agent.Movement, links []agent.Movement) {
	now := m.Time
	if in.Now != nil {
		now = in.Now()
	}
	in.ctx.mu.Lock()
	defer in.ctx.mu.Unlock()
	c := in.ctx.get(r.Source)
	c.expire(in.Patterns, now)
	c.last = now
	if m.Kind == agent.KindContext {
		what, id := in.Patterns.claim(string(r.Data))
		m = c.contextMovement(m, what, id)
		if (what == "wristband" || what == "case") && len(c.held) > 0 {
			links = c.links(m, now, in.Patterns.HoldFor)
		}
		return m, links
	}
	return c.applyContext(m, in.Schedule), nil
}

// Context returns station's context as of now: a case or an actor idle
// past the patterns' timeouts is gone, as the station's next scan would
// find it (the context itself is left to that scan to change).
func (in *Ingest) Context(station string) Context {
	now := time.Now()
	if in.Now != nil {
		now = in.Now()
	}
	in.ctx.mu.Lock()
	defer in.ctx.mu.Unlock()
	c := *in.ctx.get(station)
	c.expire(in.Patterns, now)
	return Context{Patient: c.patient, Case: c.caseID, Actor: c.actor}
}

// answered is the ledger's callback for a read's movement.
func (in *Ingest) answered(got agent.Movement, err error) { in.answer(got.Station, got, err) }

func (in *Ingest) answer(source string, got agent.Movement, err error) {
	defer in.wg.Done()
	if err == nil && in.Patterns != nil && got.Kind.MovesItem() && got.Kind != agent.KindAdjust && got.Decision != agent.DecisionBlocked {
		in.ctx.mu.Lock()
		c := in.ctx.get(source)
		c.lastItem = got
		if got.Kind == agent.KindUse && got.Case == "" && got.Patient == "" && in.Patterns.HoldFor > 0 {
			c.hold(got)
		}
		in.ctx.mu.Unlock()
	}
	o := agent.OutcomeOf(got, err)
	in.log(o)
	if in.Answer != nil {
		in.Answer(source, o)
	}
}

// Wait blocks until every read handled so far has been answered.
func (in *Ingest) Wait() { in.wg.Wait() }

func (in *Ingest) log(o agent.Outcome) {
	if in.Log == nil {
		return
	}
	m := o.Movement
	switch o.Verdict {
	case agent.VerdictAccepted:
		in.Log.Info("scan accepted", "station", m.Station, "location", m.Location,
			"kind", string(m.Kind), "seq", m.Seq, "item", m.Item)
	case agent.VerdictRejected:
		in.Log.Warn("scan rejected", "station", m.Station, "location", m.Location,
			"seq", m.Seq, "bytes", len(m.Raw), "reason", m.Reason)
	case agent.VerdictWarned, agent.VerdictBlocked:
		in.Log.Warn("scan "+o.Verdict.String(), "station", m.Station, "location", m.Location,
			"kind", string(m.Kind), "seq", m.Seq, "item", m.Item, "reason", m.Reason)
	default:
		in.Log.Error("scan not recorded: scan again", "station", m.Station,
			"location", m.Location, "err", o.Err)
	}
}
