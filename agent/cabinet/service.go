package cabinet

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/epc"
	"github.com/udi-edge/udi-edge/agent/lifecycle"
	"github.com/udi-edge/udi-edge/agent/presence"
)

// DefaultLinkWithin is Config.LinkWithin's default: an item taken from a
// cabinet and not used, returned or put back within it raises the
// "removed but not linked" alert.
const DefaultLinkWithin = 4 * time.Hour

// DefaultCompanyPrefixLength is Encoder.CompanyPrefixLength's default.
const DefaultCompanyPrefixLength = 7

// FlagRemovedNotLinked flags the alert movement of an item taken from a
// cabinet and not linked to a use or a return in time.
const FlagRemovedNotLinked = "removed-not-linked"

// ErrNotAnswering is returned by Door and Inventory when the service does
// not take the request in time (it is stopped, or overloaded).
var ErrNotAnswering = errors.New("the RFID tracker is not answering")

// ErrNoZone is returned for a request about a zone that is not configured
// (or not a cabinet, for Inventory and Door).
var ErrNoZone = errors.New("no such RFID zone")

// TagWriter writes an EPC to the one tag in a reader's field and reads it
// back (an encoding station's reader).
type TagWriter interface {
	WriteEPC(ctx context.Context, epc []byte) error
}

// Ledger is what the cabinets need of the ledger: recording, the history
// of a tag or item, and the movements in order (to restore cabinets).
type Ledger interface {
	agent.Ledger
	// Range calls fn with every movement from sequence number from on, in
	// order, until fn returns an error.
	Range(from uint64, fn func(agent.Movement) error) error
}

// Encoder is an encoding station: a barcode scanner whose scans bind the
// tag lying on the station's pad (an encoder zone) to the scanned item.
type Encoder struct {
	// Zone is the encoder zone the station's tags are read in.
	Zone string
	// WriteEPC writes the item's SGTIN-96 to a tag that does not carry an
	// item's EPC before binding it; Writer does the writing.
	WriteEPC bool
	Writer   TagWriter
	// CompanyPrefixLength is the length of the GS1 company prefix inside
	// the GTINs the station encodes (DefaultCompanyPrefixLength when 0).
	CompanyPrefixLength int
}

// Config is what the service needs to know of the RFID side of a gateway.
type Config struct {
	// Zones lists every zone.
	Zones []Zone
	// Presence configures the presence tracker (its Zones included).
	Presence presence.Config
	// Antennas maps each reader id to its antenna ports' zones.
	Antennas map[string]map[int]string
	// Encoders maps a scanner id to the encoding station it serves.
	Encoders map[string]Encoder
	// LinkWithin: an item taken from a cabinet and not linked within this
	// raises the alert (DefaultLinkWithin when 0; never when negative).
	LinkWithin time.Duration
}

// Service owns the RFID side of a gateway: the readers' tag reads feed one
// goroutine that owns the presence tracker, whose events become movements;
// it restores cabinets from the ledger at start, raises the "removed but
// not linked" alert, and binds tags to items at encoding stations.
type Service struct {
	// OnTag, if set, is called with the outcome of every tag movement, on
	// the ledger's writer goroutine; it must not block.
	OnTag func(agent.Outcome)
	// OnScan, if set, is called with the outcome of an encoding station's
	// scan, on the ledger's writer goroutine; it must not block.
	OnScan func(station string, o agent.Outcome)

	cfg      Config
	log      *slog.Logger
	ledger   Ledger
	build    func(agent.Read) agent.Movement
	tracker  *presence.Tracker
	presence *Presence
	zones    map[string]Zone
	raw      map[string][]byte // tag key → PC+EPC last read
	reads    chan agent.TagRead
	dropped  atomic.Uint64
	ctx      context.Context

	commissions chan agent.Read
	doors       chan doorSignal
	inventories chan inventoryReq
	stopped     chan struct{}
	boundMu     sync.Mutex
	bound       map[string]string    // raw tag key → item key ("" when none)
	retired     map[string]time.Time // EPCs just overwritten → until when to ignore them
	dedup       time.Duration
	bg          sync.WaitGroup
	pending     sync.WaitGroup
	removed     map[string]removal // item → its removal from a cabinet, awaiting a link
	lastSweep   time.Time

	// Whether a cabinet zone's rounds count: not while its door is open
	// nor while a reader of its antennas is down (owned by Run's
	// goroutine, but for the queue of reader states).
	zoneReaders map[string][]string // cabinet zone → the readers of its antennas
	doorOpen    map[string]bool     // cabinet zone → its door reported open
	readerDown  map[string]bool     // reader → reported down, not up since
	paused      map[string]bool     // cabinet zone → the tracker was told it is not read
	statesMu    sync.Mutex
	states      []readerState // reported by ReaderState, not yet taken by Run
	stateSig    chan struct{} // a state waits in states
}

// readerState is a reader's change of state, as ReaderState reported it.
type readerState struct {
	reader string
	up     bool
	at     time.Time
}

// removal is an item taken from a cabinet, awaiting its use or return.
type removal struct {
	at       time.Time
	location string
	reader   string
}

// New returns the service for cfg over the ledger l, restoring every
// cabinet's inventory from the ledger. build turns an encoding station's
// scan into the movement the station would record (the ingest's); decide
// runs the point-of-use checks on items taken from a cabinet (nil: none).
func New(cfg Config, l Ledger, build func(agent.Read) agent.Movement, decide func(agent.Movement, bool) agent.Decision, log *slog.Logger) (*Service, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{cfg: cfg, log: log, ledger: l, build: build, zones: map[string]Zone{}, raw: map[string][]byte{},
		reads: make(chan agent.TagRead, 4096), commissions: make(chan agent.Read, 64),
		doors: make(chan doorSignal), inventories: make(chan inventoryReq), stopped: make(chan struct{}),
		bound: map[string]string{}, retired: map[string]time.Time{}, removed: map[string]removal{},
		zoneReaders: map[string][]string{}, doorOpen: map[string]bool{}, readerDown: map[string]bool{}, paused: map[string]bool{},
		stateSig: make(chan struct{}, 1)}
	for _, z := range cfg.Zones {
		s.zones[z.Name] = z
	}
	for reader, ports := range cfg.Antennas {
		for _, zone := range ports {
			if s.zones[zone].Role == presence.RoleCabinet && !slices.Contains(s.zoneReaders[zone], reader) {
				s.zoneReaders[zone] = append(s.zoneReaders[zone], reader)
			}
		}
	}
	for id, e := range cfg.Encoders {
		if e.WriteEPC && e.Writer == nil {
			return nil, fmt.Errorf("encoding station %s writes EPCs but has no writer", id)
		}
	}
	s.presence = &Presence{Ledger: l, Zones: s.zones, Log: log, Decide: decide,
		Answer: func(o agent.Outcome) {
			if s.OnTag != nil {
				s.OnTag(o)
			}
		}}
	s.dedup = cfg.Presence.DedupWindow
	if s.dedup == 0 {
		s.dedup = presence.DefaultDedupWindow
	}
	var err error
	s.tracker, err = presence.New(cfg.Presence, s.event)
	if err != nil {
		return nil, err
	}
	if err := s.restore(); err != nil {
		// A ledger that cannot be read back (damaged) must not keep the
		// cabinets from working: they start empty, their first rounds
		// count what is there.
		log.Error("cabinets not restored from the ledger: they start empty", "err", err)
	}
	return s, nil
}

// Offer hands a tag read to the tracker goroutine without ever blocking a
// driver: a reader repeats every tag each round, so under overload a read
// is counted and skipped rather than stalling the serial line.
func (s *Service) Offer(t agent.TagRead) {
	select {
	case s.reads <- t:
	default:
		if s.dropped.Add(1)%1000 == 1 {
			s.log.Warn("tag reads arrive faster than they are tracked; skipping repeats", "skipped", s.dropped.Load())
		}
	}
}

// IsEncoder reports whether the scanner serves an encoding station.
func (s *Service) IsEncoder(scanner string) bool {
	_, ok := s.cfg.Encoders[scanner]
	return ok
}

// OfferCommission hands a scan from an encoding station to the tracker
// goroutine, which knows what lies on the pad. The goroutine runs until
// every scanner has stopped (Run's scannersDone), so no scan is lost.
func (s *Service) OfferCommission(rd agent.Read) { s.commissions <- rd }

// Run runs the tracker until ctx ends and scannersDone is closed: encoding
// stations' scans still arrive meanwhile. It returns once every movement
// it submitted has been answered.
func (s *Service) Run(ctx context.Context, scannersDone <-chan struct{}) {
	s.ctx = ctx
	defer close(s.stopped)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	done := ctx.Done()
loop:
	for {
		select {
		case <-done:
			done = nil
			tick.Stop()
			if scannersDone == nil {
				break loop
			}
		case <-scannersDone:
			scannersDone = nil
			if done == nil {
				break loop
			}
		case t := <-s.reads:
			s.observe(t)
		case rd := <-s.commissions:
			s.commission(rd)
		case q := <-s.inventories:
			tags, err := s.tracker.Snapshot(q.zone)
			q.reply <- inventoryReply{tags, err}
		case d := <-s.doors:
			s.doorOpen[d.zone] = d.open
			d.err <- s.pause(d.zone, time.Now())
		case <-s.stateSig:
			s.takeReaderStates()
		case now := <-tick.C:
			s.tracker.Tick(now)
			if now.Sub(s.lastSweep) >= time.Second {
				s.lastSweep = now
				s.sweepRemovals(now)
			}
		}
	}
	s.bg.Wait()
	s.pending.Wait()
	s.presence.Wait()
}

// inventoryReq asks the tracker what a cabinet zone holds.
type inventoryReq struct {
	zone  string
	reply chan inventoryReply
}

type inventoryReply struct {
	tags []string
	err  error
}

// Inventory returns the tags present in a cabinet zone now, sorted.
func (s *Service) Inventory(ctx context.Context, zone string) ([]string, error) {
	if s.zones[zone].Role != presence.RoleCabinet {
		return nil, fmt.Errorf("%w: %q is not a cabinet zone", ErrNoZone, zone)
	}
	q := inventoryReq{zone: zone, reply: make(chan inventoryReply, 1)}
	if err := send(ctx, s.stopped, s.inventories, q); err != nil {
		return nil, err
	}
	a := <-q.reply
	return a.tags, a.err
}

// doorSignal is a cabinet door's change of state.
type doorSignal struct {
	zone string
	open bool
	err  chan error
}

// Door tells the tracker that a cabinet's door opened or closed: while it
// is open, and for the rescan rounds after it closes, rounds do not count.
func (s *Service) Door(ctx context.Context, zone string, open bool) error {
	if s.zones[zone].Role != presence.RoleCabinet {
		return fmt.Errorf("%w: %q is not a cabinet zone", ErrNoZone, zone)
	}
	d := doorSignal{zone: zone, open: open, err: make(chan error, 1)}
	if err := send(ctx, s.stopped, s.doors, d); err != nil {
		return err
	}
	return <-d.err
}

// ReaderState tells the service that reader is up (set up and reading)
// or down (lost, or not connected yet). While a reader is down, the
// cabinet zones its antennas read count no inventory round, as while
// their door is open, and once it is up again their rescan rounds pass
// before rounds count again: a reader that does not read must not make
// the tags on its shelves look taken out. A reader never reported is
// taken as up. ReaderState never blocks; it may be called from any
// goroutine (a driver's state hook), before Run and after it.
func (s *Service) ReaderState(reader string, up bool) {
	s.statesMu.Lock()
	s.states = append(s.states, readerState{reader: reader, up: up, at: time.Now()})
	s.statesMu.Unlock()
	select {
	case s.stateSig <- struct{}{}:
	default:
	}
}

// takeReaderStates applies the reader states reported since the last
// call, in order.
func (s *Service) takeReaderStates() {
	s.statesMu.Lock()
	states := s.states
	s.states = nil
	s.statesMu.Unlock()
	for _, st := range states {
		if s.readerDown[st.reader] == !st.up {
			continue
		}
		s.readerDown[st.reader] = !st.up
		for zone, readers := range s.zoneReaders {
			if slices.Contains(readers, st.reader) {
				if err := s.pause(zone, st.at); err != nil {
					s.log.Warn("cabinet rounds not paused for a reader's state", "zone", zone, "reader", st.reader, "err", err)
				}
			}
		}
	}
}

// pause tells the tracker whether the cabinet zone is read now: not
// while its door is open or a reader of it is down (DoorOpened), again
// once neither holds (DoorClosed).
func (s *Service) pause(zone string, at time.Time) error {
	want := s.doorOpen[zone] || slices.ContainsFunc(s.zoneReaders[zone], func(r string) bool { return s.readerDown[r] })
	if want == s.paused[zone] {
		return nil
	}
	s.paused[zone] = want
	if want {
		return s.tracker.DoorOpened(zone, at)
	}
	return s.tracker.DoorClosed(zone, at)
}

// send hands v to the tracker goroutine on ch, unless ctx ends, the
// service has stopped, or 5 s pass first.
func send[T any](ctx context.Context, stopped <-chan struct{}, ch chan<- T, v T) error {
	t := time.NewTimer(5 * time.Second)
	defer t.Stop()
	select {
	case ch <- v:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-stopped:
		return ErrNotAnswering
	case <-t.C:
		return ErrNotAnswering
	}
}

// restore gives each cabinet zone the inventory the ledger last recorded
// for it, from the readers' own movements (stocked or counted present,
// issued gone), so a restarted agent reports only what changed while it
// was down and knows its exact inventory from its first round.
func (s *Service) restore() error {
	cabinet := map[string]bool{}
	for _, z := range s.cfg.Zones {
		if z.Role == presence.RoleCabinet {
			cabinet[z.Name] = true
		}
	}
	if len(cabinet) == 0 {
		return nil
	}
	present := map[string]map[string]bool{} // zone → tags
	where := map[string]string{}            // tag → zone it was last put in
	err := s.ledger.Range(1, func(m agent.Movement) error {
		if m.Symbology != agent.SymbologyEPC {
			return nil
		}
		zone := s.cfg.Antennas[m.Station][m.Antenna]
		if !cabinet[zone] {
			return nil
		}
		switch m.Kind {
		case agent.KindStock, agent.KindCount:
			if old, ok := where[m.Item]; ok && old != zone {
				delete(present[old], m.Item)
			}
			if present[zone] == nil {
				present[zone] = map[string]bool{}
			}
			present[zone][m.Item] = true
			where[m.Item] = zone
			s.raw[m.Item] = m.Raw
		case agent.KindIssue:
			delete(present[zone], m.Item)
			delete(where, m.Item)
			delete(s.raw, m.Item)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("restore cabinet inventories: %w", err)
	}
	for zone, tags := range present {
		list := make([]string, 0, len(tags))
		for t := range tags {
			list = append(list, t)
		}
		if err := s.tracker.Restore(zone, list); err != nil {
			return err
		}
		s.log.Info("cabinet inventory restored from the ledger", "zone", zone, "items", len(list))
	}
	return nil
}

// linkWithin is how long a removed item may stay unlinked.
func (s *Service) linkWithin() time.Duration {
	if s.cfg.LinkWithin == 0 {
		return DefaultLinkWithin
	}
	return s.cfg.LinkWithin
}

// sweepRemovals raises the "removed but not linked" alert for items taken
// from a cabinet longer than linkWithin ago and not used, returned, wasted,
// disposed or put back since: a warning in the log and a recorded context
// movement naming the item, flagged, so that trace and anomalies show it.
func (s *Service) sweepRemovals(now time.Time) {
	within := s.linkWithin()
	if within < 0 {
		clear(s.removed)
		return
	}
	for item, rm := range s.removed {
		if now.Sub(rm.at) < within {
			continue
		}
		delete(s.removed, item)
		ms, err := s.ledger.Trace(context.Background(), item)
		if err != nil {
			s.log.Warn("removal not checked", "err", err)
			continue
		}
		if lifecycle.RemovalLinked(ms, rm.at) {
			continue
		}
		s.log.Warn("removed but not linked", "item", item, "location", rm.location, "removed", rm.at, "within", within)
		s.submitScan(rm.reader, agent.Movement{
			Time: now, Kind: agent.KindContext, Item: item, Location: rm.location, Station: rm.reader,
			Flags:  []string{FlagRemovedNotLinked},
			Reason: fmt.Sprintf("removed from %s at %s, not used, returned or put back within %s", rm.location, rm.at.Format(time.RFC3339), within),
		})
	}
}

// commission binds the tag on the station's pad to the scanned item,
// writing the item's EPC to it first when the station is set to.
func (s *Service) commission(rd agent.Read) {
	st := s.cfg.Encoders[rd.Source]
	m := s.build(rd)
	if m.Kind == agent.KindReject {
		s.submitScan(rd.Source, m)
		return
	}
	sights, _ := s.tracker.Sightings(st.Zone)
	var pad []TagOnPad
	now := time.Now()
	s.boundMu.Lock()
	for _, x := range sights {
		// A tag just rewritten still has a sighting under its old EPC.
		if until, ok := s.retired[x.Tag]; ok && now.Before(until) && !x.Last.After(until.Add(-s.dedup)) {
			continue
		}
		pad = append(pad, TagOnPad{Key: x.Tag, Raw: s.raw[x.Tag], RSSI: x.RSSI})
	}
	s.boundMu.Unlock()
	tag, err := PickTag(pad)
	if err != nil {
		m.Kind, m.Reason = agent.KindReject, err.Error()
		s.submitScan(rd.Source, m)
		return
	}
	if !st.WriteEPC || strings.HasPrefix(tag.Key, "(01)") {
		// Nothing to write, or the tag already carries an item's EPC: its
		// own (confirmed) or another's (refused, never overwritten).
		s.bind(rd.Source, Commission(m, tag), tag)
		return
	}
	cpLen := st.CompanyPrefixLength
	if cpLen == 0 {
		cpLen = DefaultCompanyPrefixLength
	}
	newEPC, err := epc.EncodeSGTIN96(m.GTIN, m.Serial, 0, cpLen)
	if err != nil {
		m.Kind, m.Reason = agent.KindReject, "cannot encode this item's SGTIN-96: "+err.Error()
		s.submitScan(rd.Source, m)
		return
	}
	ctx := s.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	// Writing takes a second or two: never on the tracker's goroutine.
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		if err := st.Writer.WriteEPC(ctx, newEPC); err != nil {
			m.Kind, m.Reason, m.Tag = agent.KindReject, "writing the tag failed: "+err.Error(), tag.Key
			s.submitScan(rd.Source, m)
			return
		}
		s.boundMu.Lock()
		s.retired[tag.Key] = time.Now().Add(s.dedup)
		s.boundMu.Unlock()
		written := TagOnPad{Key: epc.Key(newEPC), Raw: append(binary.BigEndian.AppendUint16(nil, epc.PCFor(96)), newEPC...), RSSI: tag.RSSI}
		cm := Commission(m, written)
		cm.Reason = "wrote the item's SGTIN-96 to tag " + tag.Key + " and read it back"
		s.bind(rd.Source, cm, written)
	}()
}

// bind records a commission movement and, once it is durable, remembers
// the binding so that the tag's reads count for its item.
func (s *Service) bind(station string, m agent.Movement, tag TagOnPad) {
	s.submitScan(station, m, func(got agent.Movement) {
		if got.Kind == agent.KindCommission && tag.Key != got.Item {
			s.boundMu.Lock()
			s.bound[tag.Key] = got.Item
			s.boundMu.Unlock()
		}
	})
}

// itemOf returns the item key a tag's reads count for: the tag's own key
// for an SGTIN, else the item it was commissioned to, else its raw key.
func (s *Service) itemOf(key string) string {
	if !strings.HasPrefix(key, "urn:epc:raw:") {
		return key
	}
	s.boundMu.Lock()
	item, ok := s.bound[key]
	s.boundMu.Unlock()
	if ok {
		if item == "" {
			return key
		}
		return item
	}
	// First sight of this tag since start-up: ask the ledger once.
	ms, err := s.ledger.Trace(context.Background(), key)
	if err != nil {
		s.log.Warn("tag binding not looked up", "err", err)
		return key
	}
	item = ""
	for _, m := range ms {
		if m.Kind == agent.KindCommission && m.Tag == key {
			item = m.Item
		}
	}
	s.boundMu.Lock()
	if _, raced := s.bound[key]; !raced {
		s.bound[key] = item
	}
	s.boundMu.Unlock()
	if item == "" {
		return key
	}
	return item
}

// submitScan records a movement born of a scan and answers the station;
// durable, if set, runs once the movement is on disk.
func (s *Service) submitScan(station string, m agent.Movement, durable ...func(agent.Movement)) {
	s.pending.Add(1)
	s.ledger.Submit(m, func(got agent.Movement, err error) {
		defer s.pending.Done()
		if err == nil {
			for _, f := range durable {
				f(got)
			}
		}
		if s.OnScan != nil {
			s.OnScan(station, agent.OutcomeOf(got, err))
		}
	})
}

func (s *Service) observe(t agent.TagRead) {
	zone, ok := s.cfg.Antennas[t.Reader][t.Antenna]
	if !ok {
		return // an antenna the configuration does not map reads nothing we track
	}
	key := s.itemOf(epc.KeyWithPC(t.PC, t.EPC))
	if _, ok := s.raw[key]; !ok {
		raw := binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(t.EPC)), t.PC)
		s.raw[key] = append(raw, t.EPC...)
	}
	if err := s.tracker.Observe(presence.Read{Tag: key, Reader: t.Reader, Antenna: t.Antenna, Zone: zone, RSSI: t.RSSI, Time: t.Time}); err != nil {
		s.log.Warn("tag read not tracked", "reader", t.Reader, "antenna", t.Antenna, "err", err)
	}
}

// event records a presence event as a movement.
func (s *Service) event(ev presence.Event) {
	raw := s.raw[ev.Tag]
	switch ev.Kind {
	case presence.Removed:
		loc := ev.Zone
		if z, ok := s.zones[ev.Zone]; ok {
			loc = z.Location
		}
		s.removed[ev.Tag] = removal{at: ev.Time, location: loc, reader: ev.Reader}
	case presence.Placed:
		delete(s.removed, ev.Tag) // put back
	}
	if ev.Kind != presence.Placed {
		// Only present tags keep their bytes; a tag read again is
		// remembered again.
		delete(s.raw, ev.Tag)
	}
	ctx := s.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	s.presence.Handle(context.WithoutCancel(ctx), ev, raw)
}
