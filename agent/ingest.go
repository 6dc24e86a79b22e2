package agent

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/udi-edge/udi-edge/agent/code"
)

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

// Ingest turns reads into movements: it parses each read's code, applies the
// station's binding, submits the movement to the ledger and, once the ledger
// reports it durable, answers the station. Its zero value is not usable; set
// Ledger and Stations.
type Ingest struct {
	// Ledger records the movements.
	Ledger Ledger
	// Parser interprets the codes.
	Parser code.Parser
	// Stations binds read sources to locations and movement kinds.
	Stations map[string]Station
	// Answer, if set, is called with each read's outcome after the ledger
	// has answered. It runs on the ledger's writer goroutine and must not
	// block: hand slow work (serial writes) to another goroutine.
	Answer func(station string, o Outcome)
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
	Decide func(m Movement, openCase bool) Decision
	// Schedule, if set, finds the case scheduled in a room (a station's
	// location) at a time, for a use scanned with no case open. It must
	// not block.
	Schedule func(room string, t time.Time) (caseID, patient string, ok bool)

	wg   sync.WaitGroup
	ctx  contexts
	once sync.Once
	done func(Movement, error) // in.answered, made once
}

// Movement builds the movement a read stands for at its station: an item
// movement, or a rejection with its reason. It does not touch the ledger.
func (in *Ingest) Movement(r Read) Movement {
	st, ok := in.Stations[r.Source]
	m := Movement{
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
	reject := func(reason string) Movement {
		m.Kind = KindReject
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
			m.Kind = KindContext
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
	m.GTIN = c.GTIN
	m.Serial = c.Serial
	m.Lot = c.Lot
	m.Expiry = c.Expiry.String()
	m.Production = c.Production.String()
	return m
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
func (in *Ingest) Handle(r Read) {
	m := in.Movement(r)
	var links []Movement
	if in.Patterns != nil && m.Kind != KindReject {
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
func (in *Ingest) linked(got Movement, err error) {
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
func (in *Ingest) withContext(r Read, m Movement) (_ Movement, links []Movement) {
	now := m.Time
	if in.Now != nil {
		now = in.Now()
	}
	in.ctx.mu.Lock()
	defer in.ctx.mu.Unlock()
	c := in.ctx.get(r.Source)
	c.expire(in.Patterns, now)
	c.last = now
	if m.Kind == KindContext {
		what, id := in.Patterns.claim(string(r.Data))
		m = c.contextMovement(m, what, id)
		if (what == "wristband" || what == "case") && len(c.held) > 0 {
			links = c.links(m, now, in.Patterns.HoldFor)
		}
		return m, links
	}
	return c.applyContext(m, in.Schedule), nil
}

// answered is the ledger's callback for a read's movement.
func (in *Ingest) answered(got Movement, err error) { in.answer(got.Station, got, err) }

func (in *Ingest) answer(source string, got Movement, err error) {
	defer in.wg.Done()
	if err == nil && in.Patterns != nil && got.Kind.MovesItem() && got.Kind != KindAdjust && got.Decision != DecisionBlocked {
		in.ctx.mu.Lock()
		c := in.ctx.get(source)
		c.lastItem = got
		if got.Kind == KindUse && got.Case == "" && got.Patient == "" && in.Patterns.HoldFor > 0 {
			c.hold(got)
		}
		in.ctx.mu.Unlock()
	}
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
	in.log(o)
	if in.Answer != nil {
		in.Answer(source, o)
	}
}

// Wait blocks until every read handled so far has been answered.
func (in *Ingest) Wait() { in.wg.Wait() }

func (in *Ingest) log(o Outcome) {
	if in.Log == nil {
		return
	}
	m := o.Movement
	switch o.Verdict {
	case VerdictAccepted:
		in.Log.Info("scan accepted", "station", m.Station, "location", m.Location,
			"kind", string(m.Kind), "seq", m.Seq, "item", m.Item)
	case VerdictRejected:
		in.Log.Warn("scan rejected", "station", m.Station, "location", m.Location,
			"seq", m.Seq, "bytes", len(m.Raw), "reason", m.Reason)
	case VerdictWarned, VerdictBlocked:
		in.Log.Warn("scan "+o.Verdict.String(), "station", m.Station, "location", m.Location,
			"kind", string(m.Kind), "seq", m.Seq, "item", m.Item, "reason", m.Reason)
	default:
		in.Log.Error("scan not recorded: scan again", "station", m.Station,
			"location", m.Location, "err", o.Err)
	}
}
