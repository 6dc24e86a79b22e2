package epcis

import (
	"bufio"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/udi-edge/udi-edge/agent"
)

// Context is the EPCIS 2.0 JSON-LD context the document refers to.
const Context = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"

// Errors. Encode wraps them with the movement's gateway and sequence.
var (
	// ErrKind: the movement's kind is not one udi-edge defines.
	ErrKind = errors.New("epcis: unknown movement kind")
	// ErrItem: the movement's item key is empty or has no URI form.
	ErrItem = errors.New("epcis: item key has no URI")
	// ErrTime: the movement has no time, or its zone offset is beyond ±14:00.
	ErrTime = errors.New("epcis: movement time unusable")
	// ErrLocation: Options.LocationURI returned something that is not an
	// absolute URI.
	ErrLocation = errors.New("epcis: location URI is not an absolute URI")
	// ErrClosed: Encode after Close.
	ErrClosed = errors.New("epcis: encoder closed")
)

// Options shape the document.
type Options struct {
	// Site names the hospital site. It qualifies the udi-edge URNs of
	// locations, settlement records, cases and patients that are not
	// already URIs, and is recorded in the document as udi:site.
	Site string
	// Gateway is the id of the exporting gateway, recorded in the document
	// as udi:gateway; it also stands in for a movement's empty Gateway.
	Gateway string
	// LocationURI turns a movement's location into the URI of readPoint,
	// bizLocation and source/destination lists. "" means the location has
	// none (the fields are left out). nil means DefaultLocationURI(Site).
	// Its results are cached per location.
	LocationURI func(location string) string
	// CreationDate is the document's creationDate; zero means now.
	CreationDate time.Time
	// IncludePatient writes movements' Patient and Case. Off by default:
	// they are personal data. See the package documentation.
	IncludePatient bool
	// IncludeActor writes the staff badge that made a movement as
	// udi:actor. Off by default.
	IncludeActor bool
}

// Write writes ms as one EPCIS 2.0 document to w. It stops at the first
// movement that cannot be written and returns its error; what was written
// until then is not a complete document.
func Write(w io.Writer, ms []agent.Movement, opt Options) error {
	e := NewEncoder(w, opt)
	for i := range ms {
		if err := e.encode(&ms[i]); err != nil {
			return err
		}
	}
	return e.Close()
}

// Encoder writes an EPCIS document one event at a time. It is not safe for
// concurrent use.
type Encoder struct {
	w        *bufio.Writer
	opt      Options
	locURI   func(string) string
	locCache map[string]string
	buf      []byte
	started  bool
	closed   bool
	events   int
	skipped  int
	err      error

	zoneSec int
	zoneStr string
}

// maxLocCache bounds the cache of location URIs.
const maxLocCache = 4096

// NewEncoder returns an encoder that writes to w. Nothing is written until
// the first Encode or Close.
func NewEncoder(w io.Writer, opt Options) *Encoder {
	e := &Encoder{
		w:        bufio.NewWriterSize(w, 64<<10),
		opt:      opt,
		locURI:   opt.LocationURI,
		locCache: make(map[string]string),
		buf:      make([]byte, 0, 2048),
		zoneSec:  -1 << 31,
	}
	if e.locURI == nil {
		e.locURI = DefaultLocationURI(opt.Site)
	}
	return e
}

// Events returns how many events have been written, and how many
// movements were skipped: rejected reads, station context, and attempts
// the checks blocked.
func (e *Encoder) Events() (written, skipped int) { return e.events, e.skipped }

// Encode writes the event of one movement. A movement of a kind that is not
// exported is skipped without error. A movement that cannot be written
// returns an error and writes nothing; the encoder stays usable.
func (e *Encoder) Encode(m agent.Movement) error { return e.encode(&m) }

func (e *Encoder) encode(m *agent.Movement) error {
	if e.closed {
		return ErrClosed
	}
	if e.err != nil {
		return e.err
	}
	export, known := exported(m.Kind)
	if !known {
		return e.fail(m, ErrKind, strconv.Quote(string(m.Kind)))
	}
	if !export || m.Decision == agent.DecisionBlocked {
		// A use the checks blocked is on record as an attempt and did
		// not happen: no item moved, so there is no event.
		e.skipped++
		return nil
	}
	b, err := e.appendEvent(e.buf[:0], m)
	e.buf = b[:0]
	if err != nil {
		return err
	}
	if !e.started {
		if err := e.header(); err != nil {
			return err
		}
	}
	if e.events > 0 {
		if err := e.w.WriteByte(','); err != nil {
			e.err = err
			return err
		}
	}
	if _, err := e.w.Write(b); err != nil {
		e.err = err
		return err
	}
	e.events++
	return nil
}

// Close writes the end of the document (the whole document if no event was
// written) and flushes. It does not close the underlying writer.
func (e *Encoder) Close() error {
	if e.closed {
		return e.err
	}
	e.closed = true
	if e.err != nil {
		return e.err
	}
	if !e.started {
		if err := e.header(); err != nil {
			return err
		}
	}
	if _, err := e.w.WriteString("]}}\n"); err != nil {
		e.err = err
		return err
	}
	if err := e.w.Flush(); err != nil {
		e.err = err
	}
	return e.err
}

func (e *Encoder) fail(m *agent.Movement, sentinel error, detail string) error {
	return fmt.Errorf("%w: movement %s/%d: %s", sentinel, e.gateway(m), m.Seq, detail)
}

func (e *Encoder) gateway(m *agent.Movement) string {
	if m.Gateway != "" {
		return m.Gateway
	}
	return e.opt.Gateway
}

// header writes everything before the first event.
func (e *Encoder) header() error {
	e.started = true
	b := make([]byte, 0, 512)
	b = append(b, `{"@context":[`...)
	b = appendString(b, Context)
	b = append(b, `,{"udi":`...)
	b = appendString(b, Namespace)
	b = append(b, `}],"type":"EPCISDocument","schemaVersion":"2.0","creationDate":`...)
	t := e.opt.CreationDate
	if t.IsZero() {
		t = time.Now()
	}
	b = appendTime(b, t)
	if e.opt.Site != "" {
		b = appendField(b, "udi:site", e.opt.Site)
	}
	if e.opt.Gateway != "" {
		b = appendField(b, "udi:gateway", e.opt.Gateway)
	}
	b = append(b, `,"epcisBody":{"eventList":[`...)
	if _, err := e.w.Write(b); err != nil {
		e.err = err
		return err
	}
	return nil
}

// location returns the URI of a location, cached.
func (e *Encoder) location(m *agent.Movement, loc string) (string, error) {
	if loc == "" {
		return "", nil
	}
	if u, ok := e.locCache[loc]; ok {
		return u, nil
	}
	u := e.locURI(loc)
	if u != "" && !absURI(u) {
		return "", e.fail(m, ErrLocation, strconv.Quote(u))
	}
	if len(e.locCache) >= maxLocCache {
		clear(e.locCache)
	}
	e.locCache[loc] = u
	return u, nil
}

// appendEvent appends the ObjectEvent of m.
func (e *Encoder) appendEvent(b []byte, m *agent.Movement) ([]byte, error) {
	mp := mappings[m.Kind]
	if m.Time.IsZero() {
		return b, e.fail(m, ErrTime, "no time")
	}
	_, sec := m.Time.Zone()
	if sec != e.zoneSec {
		off, ok := zoneOffset(m.Time)
		if !ok {
			return b, e.fail(m, ErrTime, "zone offset beyond ±14:00")
		}
		e.zoneSec, e.zoneStr = sec, off
	}
	here, err := e.location(m, m.Location)
	if err != nil {
		return b, err
	}
	from := ""
	if mp.Path && m.From != "" && m.From != m.Location {
		if from, err = e.location(m, m.From); err != nil {
			return b, err
		}
	}

	b = append(b, `{"type":"ObjectEvent"`...)
	b = e.appendEventID(b, m)
	b = append(b, `,"eventTime":`...)
	b = appendTime(b, m.Time)
	b = appendField(b, "eventTimeZoneOffset", e.zoneStr)

	// What.
	mark := len(b)
	b = append(b, `,"epcList":["`...)
	b, instance, ok := appendItem(b, m.Item)
	if !ok {
		return b[:mark], e.fail(m, ErrItem, strconv.Quote(m.Item))
	}
	if instance {
		b = append(b, `"]`...)
	} else {
		// Class level: rewrite as a quantityList of one item.
		uri := string(b[mark+len(`,"epcList":["`):])
		b = append(b[:mark], `,"quantityList":[{"epcClass":`...)
		b = appendString(b, uri)
		b = append(b, `,"quantity":1}]`...)
	}

	// Why.
	b = appendField(b, "action", mp.Action)
	b = appendField(b, "bizStep", mp.BizStep)
	if d := disposition(m, mp); d != "" {
		b = appendField(b, "disposition", d)
	}

	// Where.
	if here != "" {
		b = append(b, `,"readPoint":{"id":`...)
		b = appendString(b, here)
		b = append(b, '}')
		if mp.BizLocation {
			b = append(b, `,"bizLocation":{"id":`...)
			b = appendString(b, here)
			b = append(b, '}')
		}
	}

	b = e.appendTransactions(b, m)
	b = e.appendPath(b, m, from, here)

	if mp.Action == ActionAdd && (m.Lot != "" || m.Expiry != "") {
		b = append(b, `,"ilmd":{`...)
		sep := false
		if m.Lot != "" {
			b = appendString(b, "cbvmda:lotNumber")
			b = append(b, ':')
			b = appendString(b, m.Lot)
			sep = true
		}
		if m.Expiry != "" {
			if sep {
				b = append(b, ',')
			}
			b = appendString(b, "cbvmda:itemExpirationDate")
			b = append(b, ':')
			b = appendString(b, m.Expiry)
		}
		b = append(b, '}')
	}

	b = e.appendExtension(b, m)
	return append(b, '}'), nil
}

// appendEventID appends the eventID: urn:udi-edge:event:GATEWAY:SEQ; in a
// document that carries patients (IncludePatient), ni:///sha-256;… naming
// the movement's chain hash when it is a SHA-256 digest. The chain hash
// covers the patient and case, so a document without them must not carry
// it: with every other field in hand, it would let a reader test guessed
// patient identifiers.
func (e *Encoder) appendEventID(b []byte, m *agent.Movement) []byte {
	switch gw := e.gateway(m); {
	case len(m.Hash) == 32 && e.opt.IncludePatient:
		b = append(b, `,"eventID":"ni:///sha-256;`...)
		b = base64.RawURLEncoding.AppendEncode(b, m.Hash)
		return append(b, '"')
	case gw != "" && m.Seq > 0:
		b = append(b, `,"eventID":"`...)
		b = appendURN(b, urnEvent, "", gw)
		b = append(b, ':')
		b = strconv.AppendUint(b, m.Seq, 10)
		return append(b, '"')
	}
	return b
}

// appendTransactions appends bizTransactionList: the settlement record,
// and with IncludePatient the surgical case.
func (e *Encoder) appendTransactions(b []byte, m *agent.Movement) []byte {
	caseRef := e.opt.IncludePatient && m.Case != ""
	if m.Settlement == "" && !caseRef {
		return b
	}
	b = append(b, `,"bizTransactionList":[`...)
	if m.Settlement != "" {
		b = append(b, `{"type":"`+TypeSettlement+`","bizTransaction":"`...)
		b = appendRef(b, urnSettlement, e.opt.Site, m.Settlement)
		b = append(b, `"}`...)
	}
	if caseRef {
		if m.Settlement != "" {
			b = append(b, ',')
		}
		b = append(b, `{"type":"`+TypeSurgicalCase+`","bizTransaction":"`...)
		if g := gsrn(m.Patient); g != "" && srin(m.Case) {
			b = append(b, digitalLink+"8018/"...)
			b = append(b, g...)
			b = append(b, "/8019/"...)
			b = append(b, m.Case...)
		} else {
			b = appendRef(b, urnCase, e.opt.Site, m.Case)
		}
		b = append(b, `"}`...)
	}
	return append(b, ']')
}

// appendPath appends sourceList and destinationList: the locations of a
// movement between locations, and with IncludePatient the patient an item
// was used on.
func (e *Encoder) appendPath(b []byte, m *agent.Movement, from, here string) []byte {
	if from != "" {
		b = append(b, `,"sourceList":[{"type":"location","source":`...)
		b = appendString(b, from)
		b = append(b, `}]`...)
	}
	patient := e.opt.IncludePatient && m.Patient != "" && m.Kind == agent.KindUse
	if (from == "" || here == "") && !patient {
		return b
	}
	b = append(b, `,"destinationList":[`...)
	if from != "" && here != "" {
		b = append(b, `{"type":"location","destination":`...)
		b = appendString(b, here)
		b = append(b, '}')
		if patient {
			b = append(b, ',')
		}
	}
	if patient {
		b = append(b, `{"type":"`+TypePatient+`","destination":"`...)
		if g := gsrn(m.Patient); g != "" {
			b = append(b, digitalLink+"8018/"...)
			b = append(b, g...)
		} else {
			b = appendURN(b, urnPatient, e.opt.Site, m.Patient)
		}
		b = append(b, `"}`...)
	}
	return append(b, ']')
}

// appendExtension appends the udi: properties.
func (e *Encoder) appendExtension(b []byte, m *agent.Movement) []byte {
	b = appendField(b, "udi:kind", string(m.Kind))
	if gw := e.gateway(m); gw != "" {
		b = appendField(b, "udi:gateway", gw)
	}
	if m.Seq > 0 {
		b = appendKey(b, "udi:seq")
		b = strconv.AppendUint(b, m.Seq, 10)
	}
	if m.Station != "" {
		b = appendField(b, "udi:station", m.Station)
	}
	if m.Antenna > 0 {
		b = appendKey(b, "udi:antenna")
		b = strconv.AppendInt(b, int64(m.Antenna), 10)
	}
	if m.Tag != "" {
		b = appendField(b, "udi:tag", m.Tag)
	}
	if m.Symbology != "" {
		b = appendField(b, "udi:symbology", m.Symbology)
	}
	if len(m.Raw) > 0 {
		b = appendHex(appendKey(b, "udi:raw"), m.Raw)
	}
	if m.Lot != "" {
		b = appendField(b, "udi:lot", m.Lot)
	}
	if m.Expiry != "" {
		b = appendField(b, "udi:expiry", m.Expiry)
	}
	if m.Production != "" {
		b = appendField(b, "udi:production", m.Production)
	}
	if m.Decision != "" {
		b = appendField(b, "udi:decision", m.Decision)
	}
	if len(m.Flags) > 0 {
		b = appendKey(b, "udi:flags")
		b = append(b, '[')
		for i, f := range m.Flags {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, f)
		}
		b = append(b, ']')
	}
	if d, ok := agent.ClockBack(*m); ok {
		// The event keeps the time the gateway recorded; this says the
		// gateway's clock was behind a time it had already recorded, by
		// how much (xsd:duration, whole seconds), so that a reader orders
		// the gateway's events by udi:seq, not by eventTime.
		b = appendKey(b, "udi:clockBack")
		b = append(b, `"PT`...)
		b = strconv.AppendInt(b, int64(d/time.Second), 10)
		b = append(b, `S"`...)
	}
	if m.Reason != "" {
		b = appendField(b, "udi:reason", m.Reason)
	}
	if e.opt.IncludeActor && m.Actor != "" {
		b = appendKey(b, "udi:actor")
		b = append(b, '"')
		b = appendRef(b, urnActor, e.opt.Site, m.Actor)
		b = append(b, '"')
	}
	if e.opt.IncludePatient { // see appendEventID
		if len(m.Hash) > 0 && len(m.Hash) != 32 {
			b = appendHex(appendKey(b, "udi:hash"), m.Hash)
		}
		if len(m.PrevHash) > 0 {
			b = appendHex(appendKey(b, "udi:prevHash"), m.PrevHash)
		}
	}
	return b
}
