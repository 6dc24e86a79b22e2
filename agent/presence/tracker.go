package presence

import (
	"cmp"
	"slices"
	"time"
)

// Bounds on memory kept for reuse.
const (
	// maxFree is the most entries and passes kept for reuse.
	maxFree = 1024
	// shrinkMin is the peak size below which a map is never rebuilt.
	shrinkMin = 256
)

// sighting accumulates the reads of one tag in one zone.
type sighting struct {
	first, last time.Time
	reads       int
	rssi        int
	reader      string
	antenna     int
}

func (s *sighting) add(r *Read) {
	if s.reads == 0 {
		s.first, s.last = r.Time, r.Time
		s.rssi, s.reader, s.antenna = r.RSSI, r.Reader, r.Antenna
		s.reads = 1
		return
	}
	if r.Time.Before(s.first) {
		s.first = r.Time
	}
	if r.Time.After(s.last) {
		s.last = r.Time
	}
	if r.RSSI > s.rssi {
		s.rssi, s.reader, s.antenna = r.RSSI, r.Reader, r.Antenna
	}
	s.reads++
}

// fill copies the sighting into ev.
func (s *sighting) fill(ev *Event) {
	ev.First, ev.Last = s.first, s.last
	ev.Reads, ev.RSSI = s.reads, s.rssi
	ev.Reader, ev.Antenna = s.reader, s.antenna
}

func (s *sighting) export(tag, zone string) Sighting {
	return Sighting{Tag: tag, Zone: zone, First: s.first, Last: s.last,
		Reads: s.reads, RSSI: s.rssi, Reader: s.reader, Antenna: s.antenna}
}

// tagState is the state of a tag in a cabinet zone.
type tagState uint8

const (
	pending tagState = iota // read, not yet confirmed
	present                 // placed (or restored), not yet removed
)

// entry is a tag in a cabinet or station zone.
type entry struct {
	tag string
	sighting
	state  tagState
	round  uint64 // the zone's round in which the tag was last read; 0: never
	seen   int    // counted rounds read in while pending
	misses int    // consecutive counted rounds missed while present
}

// pass is a tag at a portal.
type pass struct {
	tag      string
	side     [2]sighting // outer, inner
	crossed  bool        // PortalIn or PortalOut reported
	seenSent bool        // Seen reported at the end of the window
}

func (p *pass) first() time.Time {
	a, b := p.side[0], p.side[1]
	switch {
	case a.reads == 0:
		return b.first
	case b.reads == 0 || a.first.Before(b.first):
		return a.first
	}
	return b.first
}

func (p *pass) last() time.Time {
	if p.side[1].last.After(p.side[0].last) {
		return p.side[1].last
	}
	return p.side[0].last
}

type zone struct {
	name string
	role Role

	// Cabinet and station zones.
	tags map[string]*entry
	peak int

	// Portal zones.
	portal *portal
	side   int // 0 outer, 1 inner

	// Cabinet zones.
	roundLen    time.Duration
	round       uint64    // the current round, from 1
	roundStart  time.Time // when the current round began
	counted     int       // counted rounds so far
	doorOpen    bool
	tainted     bool      // the door was open during the current round
	settleUntil time.Time // rounds starting before this do not count
	rescanLeft  int       // complete rounds still to skip after a close
}

type portal struct {
	name   string
	zones  [2]*zone
	passes map[string]*pass
	peak   int
}

// Tracker turns reads into events. Create it with New; see the package
// documentation for what it reports and when.
//
// A Tracker is not safe for concurrent use. Its emit function is called
// synchronously, from within Observe, EndRound, DoorOpened, DoorClosed and
// Tick, after the call's state change, with the call's events ordered by
// Time, Zone, Kind and Tag; it must not call the Tracker.
type Tracker struct {
	cfg  Config
	emit func(Event)

	zones    map[string]*zone
	cabinets []*zone
	timed    []*zone // cabinets with a RoundLength
	stations []*zone
	portals  []*portal

	started    bool
	now        time.Time // the latest time seen
	nextRound  time.Time // earliest end of a timed round
	nextSweep  time.Time
	sweepEvery time.Duration

	out         []Event
	busy        bool
	freeEntries []*entry
	freePasses  []*pass
}

// New returns a Tracker for cfg that reports events to emit. Zero values in
// cfg take the defaults; New returns a *ConfigError when cfg is invalid or
// emit is nil.
func New(cfg Config, emit func(Event)) (*Tracker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if emit == nil {
		return nil, &ConfigError{Key: "emit", Reason: "an event function is required"}
	}
	cfg = cfg.withDefaults()
	t := &Tracker{
		cfg:        cfg,
		emit:       emit,
		zones:      make(map[string]*zone, len(cfg.Zones)),
		sweepEvery: max(min(cfg.DedupWindow, cfg.PortalWindow)/4, time.Millisecond),
	}
	names := make([]string, 0, len(cfg.Zones))
	for name := range cfg.Zones {
		names = append(names, name)
	}
	slices.Sort(names)
	portals := map[string]*portal{}
	for _, name := range names {
		zc := cfg.Zones[name]
		z := &zone{name: name, role: zc.Role}
		t.zones[name] = z
		switch zc.Role {
		case RoleCabinet:
			z.tags = make(map[string]*entry)
			z.round = 1
			z.roundLen = zc.RoundLength
			t.cabinets = append(t.cabinets, z)
			if z.roundLen > 0 {
				t.timed = append(t.timed, z)
			}
		case RolePortal:
			p := portals[zc.Portal]
			if p == nil {
				p = &portal{name: zc.Portal, passes: make(map[string]*pass)}
				portals[zc.Portal] = p
				t.portals = append(t.portals, p)
			}
			z.portal = p
			if zc.Side == Inner {
				z.side = 1
			}
			p.zones[z.side] = z
		default:
			z.tags = make(map[string]*entry)
			t.stations = append(t.stations, z)
		}
	}
	slices.SortFunc(t.portals, func(a, b *portal) int { return cmp.Compare(a.name, b.name) })
	return t, nil
}

// Observe takes one read. It returns an *Error wrapping ErrUnknownZone or
// ErrEmptyTag when the read cannot be tracked; such a read changes nothing
// and is the caller's to record.
//
// Before the read is taken, time moves to r.Time (never backwards): timed
// rounds that are due end and expired windows are closed, as with Tick.
func (t *Tracker) Observe(r Read) error {
	z := t.zones[r.Zone]
	if z == nil {
		return &Error{Op: "observe", Zone: r.Zone, Err: ErrUnknownZone}
	}
	if r.Tag == "" {
		return &Error{Op: "observe", Zone: r.Zone, Err: ErrEmptyTag}
	}
	t.enter()
	defer t.leave()
	now := t.advance(r.Time)
	switch z.role {
	case RoleCabinet:
		e := z.tags[r.Tag]
		if e == nil {
			e = t.newEntry(r.Tag)
			z.tags[r.Tag] = e
			z.peak = max(z.peak, len(z.tags))
		}
		e.add(&r)
		e.round = z.round
	case RolePortal:
		t.observePortal(z, &r, now)
	default:
		t.observeStation(z, &r)
	}
	return nil
}

// EndRound ends the current inventory round of a cabinet zone at time at:
// the reader has completed an inventory cycle. Unless the round does not
// count (door, rescan), tags read in it move towards Placed and present
// tags not read in it towards Removed. In a zone with a RoundLength, an
// EndRound at the very time the current round began (a timed round ended
// there) is ignored, so the two ways of ending rounds never give an empty
// round between them.
//
// A round must be an inventory in which every tag in the field may reply.
// A reader in Gen2 session 2 or 3 with single-target search leaves each tag
// it has read in state B, silent for as long as it stays powered; such
// rounds would report every present tag as Removed. See
// firmware-notes/presence.md for the reader settings.
//
// It returns an *Error wrapping ErrUnknownZone, or ErrRole for a zone that
// is not a cabinet.
func (t *Tracker) EndRound(zoneName string, at time.Time) error {
	z, err := t.cabinet("end round", zoneName)
	if err != nil {
		return err
	}
	t.enter()
	defer t.leave()
	now := t.advance(at)
	if z.roundLen > 0 {
		if now.After(z.roundStart) {
			t.endRound(z, now)
		}
		t.updateNextRound()
		return nil
	}
	t.endRound(z, now)
	return nil
}

// DoorOpened reports that a cabinet zone's door opened at time at. From now
// until the door closes and the zone has rescanned, rounds do not count.
// Opening an open door changes nothing. A cabinet with several doors is
// open while any of them is.
//
// It returns an *Error wrapping ErrUnknownZone, or ErrRole for a zone that
// is not a cabinet.
func (t *Tracker) DoorOpened(zoneName string, at time.Time) error {
	z, err := t.cabinet("door opened", zoneName)
	if err != nil {
		return err
	}
	t.enter()
	defer t.leave()
	t.advance(at)
	z.doorOpen = true
	z.tainted = true
	return nil
}

// DoorClosed reports that a cabinet zone's door closed at time at. The
// round in progress does not count; after it, rounds count again once
// RescanSettle has passed and RescanRounds complete rounds have ended.
// Closing a door that was not reported open changes nothing.
//
// The same pair of calls suits a reader that stops reporting (unplugged,
// restarting): a zone that is not being read must not count rounds.
//
// It returns an *Error wrapping ErrUnknownZone, or ErrRole for a zone that
// is not a cabinet.
func (t *Tracker) DoorClosed(zoneName string, at time.Time) error {
	z, err := t.cabinet("door closed", zoneName)
	if err != nil {
		return err
	}
	t.enter()
	defer t.leave()
	now := t.advance(at)
	if !z.doorOpen {
		return nil
	}
	z.doorOpen = false
	z.settleUntil = now.Add(t.cfg.RescanSettle)
	z.rescanLeft = t.cfg.RescanRounds
	return nil
}

// Tick moves time to now (never backwards): timed rounds that are due end,
// portal windows that are over report Seen, and sightings that expired are
// forgotten. Call it regularly (every few hundred milliseconds) so that
// this happens when no reads arrive.
func (t *Tracker) Tick(now time.Time) {
	t.enter()
	defer t.leave()
	now = t.advance(now)
	t.sweep(now)
}

// Restore marks tags as present in a cabinet zone without reporting them:
// the inventory the ledger last knew, given after a restart so that the
// tracker reports only differences. A restored tag that is not read in
// MissRounds consecutive counted rounds is Removed with Reads zero (if it
// was never read). Restore is all or nothing: it returns an *Error wrapping
// ErrUnknownZone, ErrRole or ErrEmptyTag and changes nothing.
func (t *Tracker) Restore(zoneName string, tags []string) error {
	z, err := t.cabinet("restore", zoneName)
	if err != nil {
		return err
	}
	for _, tag := range tags {
		if tag == "" {
			return &Error{Op: "restore", Zone: zoneName, Err: ErrEmptyTag}
		}
	}
	t.enter()
	defer t.leave()
	for _, tag := range tags {
		e := z.tags[tag]
		if e == nil {
			e = t.newEntry(tag)
			z.tags[tag] = e
			z.peak = max(z.peak, len(z.tags))
		}
		e.state = present
		e.misses = 0
	}
	return nil
}

// Snapshot returns the tags present in a zone, sorted: for a cabinet the
// tags placed (or restored) and not removed, the inventory to compare with
// the ledger in a cycle count; for a station the tags whose sighting is
// still open. It returns an *Error wrapping ErrUnknownZone, or ErrRole for
// a portal zone.
func (t *Tracker) Snapshot(zoneName string) ([]string, error) {
	z := t.zones[zoneName]
	if z == nil {
		return nil, &Error{Op: "snapshot", Zone: zoneName, Err: ErrUnknownZone}
	}
	if z.role == RolePortal {
		return nil, &Error{Op: "snapshot", Zone: zoneName, Err: ErrRole}
	}
	tags := make([]string, 0, len(z.tags))
	for tag, e := range z.tags {
		if z.role == RoleCabinet && e.state != present {
			continue
		}
		if z.role != RoleCabinet && t.stationExpired(e, t.now) {
			continue
		}
		tags = append(tags, tag)
	}
	slices.Sort(tags)
	return tags, nil
}

// Sightings returns the open sightings of a zone, sorted by tag: for a
// cabinet every tag read since it became pending or present, for a station
// every tag read within DedupWindow, for a portal side every tag of a pass
// in progress read on that side. An encoder uses it to pick the strongest
// tag on its pad. It returns an *Error wrapping ErrUnknownZone.
func (t *Tracker) Sightings(zoneName string) ([]Sighting, error) {
	z := t.zones[zoneName]
	if z == nil {
		return nil, &Error{Op: "sightings", Zone: zoneName, Err: ErrUnknownZone}
	}
	var out []Sighting
	if z.role == RolePortal {
		for tag, p := range z.portal.passes {
			if s := &p.side[z.side]; s.reads > 0 && !t.passOver(p, t.now) {
				out = append(out, s.export(tag, z.name))
			}
		}
	} else {
		for tag, e := range z.tags {
			if e.reads == 0 || (z.role != RoleCabinet && t.stationExpired(e, t.now)) {
				continue
			}
			out = append(out, e.export(tag, z.name))
		}
	}
	slices.SortFunc(out, func(a, b Sighting) int { return cmp.Compare(a.Tag, b.Tag) })
	return out, nil
}

func (t *Tracker) cabinet(op, name string) (*zone, error) {
	z := t.zones[name]
	if z == nil {
		return nil, &Error{Op: op, Zone: name, Err: ErrUnknownZone}
	}
	if z.role != RoleCabinet {
		return nil, &Error{Op: op, Zone: name, Err: ErrRole}
	}
	return z, nil
}

func (t *Tracker) enter() {
	if t.busy {
		panic("presence: Tracker used concurrently or from its emit function")
	}
	t.busy = true
}

// leave reports the events of the call in a deterministic order.
func (t *Tracker) leave() {
	if len(t.out) > 1 {
		slices.SortFunc(t.out, compareEvents)
	}
	for i := range t.out {
		t.emit(t.out[i])
	}
	clear(t.out)
	t.out = t.out[:0]
	t.busy = false
}

func compareEvents(a, b Event) int {
	if c := a.Time.Compare(b.Time); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Zone, b.Zone); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Kind, b.Kind); c != 0 {
		return c
	}
	return cmp.Compare(a.Tag, b.Tag)
}

// advance moves the tracker's time to now, ends due timed rounds and
// sweeps when a sweep is due. It returns the tracker's time, which never
// goes backwards.
func (t *Tracker) advance(now time.Time) time.Time {
	if !t.started {
		t.started = true
		t.now = now
		for _, z := range t.cabinets {
			z.roundStart = now
		}
		t.nextSweep = now.Add(t.sweepEvery)
		t.updateNextRound()
		return now
	}
	if now.After(t.now) {
		t.now = now
	}
	now = t.now
	if len(t.timed) > 0 && !now.Before(t.nextRound) {
		for _, z := range t.timed {
			end := z.roundStart.Add(z.roundLen)
			if now.Before(end) {
				continue
			}
			t.endRound(z, end)
			if !now.Before(end.Add(z.roundLen)) {
				// No call for a whole round: nothing was observed, so
				// the time is not a round.
				z.roundStart = now
			}
		}
		t.updateNextRound()
	}
	if !now.Before(t.nextSweep) {
		t.sweep(now)
	}
	return now
}

func (t *Tracker) updateNextRound() {
	for i, z := range t.timed {
		end := z.roundStart.Add(z.roundLen)
		if i == 0 || end.Before(t.nextRound) {
			t.nextRound = end
		}
	}
}

// endRound ends z's current round at time at.
func (t *Tracker) endRound(z *zone, at time.Time) {
	round, start := z.round, z.roundStart
	z.round++
	z.roundStart = at
	counts := !z.tainted
	z.tainted = z.doorOpen
	if counts && start.Before(z.settleUntil) {
		counts = false
	} else if counts && z.rescanLeft > 0 {
		z.rescanLeft--
		counts = false
	}
	if !counts {
		return
	}
	z.counted++
	baseline := z.counted <= t.cfg.BaselineRounds
	for tag, e := range z.tags {
		read := e.round == round
		if e.state == present {
			if read {
				e.misses = 0
				continue
			}
			e.misses++
			if e.misses >= t.cfg.MissRounds {
				t.push(z, e, Removed, at, e.misses, false)
				delete(z.tags, tag)
				t.freeEntry(e)
			}
			continue
		}
		if read {
			e.seen++
			if e.seen >= t.cfg.ConfirmRounds {
				e.state = present
				e.misses = 0
				t.push(z, e, Placed, at, e.seen, baseline)
			}
			continue
		}
		t.push(z, e, Seen, at, e.seen, false)
		delete(z.tags, tag)
		t.freeEntry(e)
	}
	z.tags = shrinkMap(z.tags, &z.peak)
}

func (t *Tracker) push(z *zone, e *entry, kind EventKind, at time.Time, rounds int, baseline bool) {
	ev := Event{Kind: kind, Tag: e.tag, Zone: z.name, Time: at, Rounds: rounds, Baseline: baseline}
	e.fill(&ev)
	t.out = append(t.out, ev)
}

func (t *Tracker) observeStation(z *zone, r *Read) {
	e := z.tags[r.Tag]
	fresh := false
	switch {
	case e == nil:
		e = t.newEntry(r.Tag)
		z.tags[r.Tag] = e
		z.peak = max(z.peak, len(z.tags))
		fresh = true
	case r.Time.Sub(e.last) > t.cfg.DedupWindow:
		e.sighting = sighting{}
		fresh = true
	}
	e.add(r)
	if fresh {
		t.push(z, e, Seen, r.Time, 0, false)
	}
}

func (t *Tracker) stationExpired(e *entry, now time.Time) bool {
	return now.Sub(e.last) > t.cfg.DedupWindow
}

func (t *Tracker) observePortal(z *zone, r *Read, now time.Time) {
	p := z.portal
	ps := p.passes[r.Tag]
	if ps != nil {
		t.passDeadline(p, ps, now)
		if t.passOver(ps, now) {
			delete(p.passes, r.Tag)
			t.freePass(ps)
			ps = nil
		}
	}
	if ps == nil {
		ps = t.newPass(r.Tag)
		p.passes[r.Tag] = ps
		p.peak = max(p.peak, len(p.passes))
	}
	here := z.side
	firstHere := ps.side[here].reads == 0
	ps.side[here].add(r)
	if !firstHere || ps.crossed {
		return
	}
	other := 1 - here
	if ps.side[other].reads == 0 {
		return
	}
	ps.crossed = true
	from := other
	if r.Time.Before(ps.side[other].first) {
		from = here
	}
	to := 1 - from
	kind := PortalIn
	if from == 1 {
		kind = PortalOut
	}
	a, b := &ps.side[from], &ps.side[to]
	ev := Event{Kind: kind, Tag: ps.tag, Zone: p.zones[to].name, Portal: p.name, Time: b.first,
		First: a.first, Last: ps.last(), Reads: a.reads + b.reads}
	strong := a
	if b.rssi > a.rssi {
		strong = b
	}
	ev.RSSI, ev.Reader, ev.Antenna = strong.rssi, strong.reader, strong.antenna
	t.out = append(t.out, ev)
}

// passDeadline reports Seen for a pass read on one side only whose window
// is over.
func (t *Tracker) passDeadline(p *portal, ps *pass, now time.Time) {
	if ps.crossed || ps.seenSent {
		return
	}
	s := 0
	if ps.side[0].reads == 0 {
		s = 1
	}
	deadline := ps.side[s].first.Add(t.cfg.PortalWindow)
	if now.Before(deadline) {
		return
	}
	ps.seenSent = true
	ev := Event{Kind: Seen, Tag: ps.tag, Zone: p.zones[s].name, Portal: p.name, Time: deadline}
	ps.side[s].fill(&ev)
	t.out = append(t.out, ev)
}

// passOver reports whether the pass's window is over and its tag has not
// been read for DedupWindow.
func (t *Tracker) passOver(ps *pass, now time.Time) bool {
	return !now.Before(ps.first().Add(t.cfg.PortalWindow)) && now.Sub(ps.last()) > t.cfg.DedupWindow
}

// sweep closes expired station sightings and portal passes.
func (t *Tracker) sweep(now time.Time) {
	t.nextSweep = now.Add(t.sweepEvery)
	for _, z := range t.stations {
		for tag, e := range z.tags {
			if t.stationExpired(e, now) {
				delete(z.tags, tag)
				t.freeEntry(e)
			}
		}
		z.tags = shrinkMap(z.tags, &z.peak)
	}
	for _, p := range t.portals {
		for tag, ps := range p.passes {
			t.passDeadline(p, ps, now)
			if t.passOver(ps, now) {
				delete(p.passes, tag)
				t.freePass(ps)
			}
		}
		p.passes = shrinkMap(p.passes, &p.peak)
	}
}

func (t *Tracker) newEntry(tag string) *entry {
	var e *entry
	if n := len(t.freeEntries); n > 0 {
		e = t.freeEntries[n-1]
		t.freeEntries[n-1] = nil
		t.freeEntries = t.freeEntries[:n-1]
	} else {
		e = new(entry)
	}
	e.tag = tag
	return e
}

func (t *Tracker) freeEntry(e *entry) {
	*e = entry{}
	if len(t.freeEntries) < maxFree {
		t.freeEntries = append(t.freeEntries, e)
	}
}

func (t *Tracker) newPass(tag string) *pass {
	var p *pass
	if n := len(t.freePasses); n > 0 {
		p = t.freePasses[n-1]
		t.freePasses[n-1] = nil
		t.freePasses = t.freePasses[:n-1]
	} else {
		p = new(pass)
	}
	p.tag = tag
	return p
}

func (t *Tracker) freePass(p *pass) {
	*p = pass{}
	if len(t.freePasses) < maxFree {
		t.freePasses = append(t.freePasses, p)
	}
}

// shrinkMap rebuilds m when it holds a quarter or less of its peak size,
// since a Go map never gives back the room it grew to.
func shrinkMap[V any](m map[string]V, peak *int) map[string]V {
	if *peak < shrinkMin || len(m) > *peak/4 {
		return m
	}
	n := make(map[string]V, len(m))
	for k, v := range m {
		n[k] = v
	}
	*peak = len(m)
	return n
}
