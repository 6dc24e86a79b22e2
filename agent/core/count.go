package core

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/cabinet"
	"github.com/udi-edge/udi-edge/agent/count"
	"github.com/udi-edge/udi-edge/agent/lifecycle"
	"github.com/udi-edge/udi-edge/agent/presence"
	"github.com/udi-edge/udi-edge/agent/stock"
)

// Errors of cycle counts.
var (
	// ErrCountRequest is wrapped by the error for a count that cannot be
	// made as asked (no station, an unknown station, no location, a
	// location not known here).
	ErrCountRequest = errors.New("bad cycle count request")
	// ErrNoCount is wrapped by the error for a session the ledger does
	// not hold.
	ErrNoCount = errors.New("no such cycle count")
	// ErrCountState is wrapped by the error for a request the session's
	// state refuses: a location or station already counting, a session
	// ended twice, adjusted while open.
	ErrCountState = errors.New("cycle count in the wrong state")
)

// CountSession is a cycle count session as the ledger records it (see
// agent.CountStartReason): its id is the sequence number of the movement
// that started it.
type CountSession struct {
	ID       uint64 `json:"session"`
	Location string `json:"location"`
	// Stations are the barcode stations whose scans count; Zones the
	// cabinet zones of an RFID snapshot.
	Stations []string  `json:"stations,omitempty"`
	Zones    []string  `json:"zones,omitempty"`
	Actor    string    `json:"actor,omitempty"`
	Started  time.Time `json:"started"`
	// EndSeq and Ended are the movement that ended the session and its
	// time; 0 and the zero time while it is open.
	EndSeq uint64    `json:"end_seq,omitempty"`
	Ended  time.Time `json:"ended,omitzero"`
	// AdjustedSeq is the movement that recorded the session's last
	// adjustments, Adjustments how many movements they were.
	AdjustedSeq uint64 `json:"adjusted_seq,omitempty"`
	Adjustments int    `json:"adjustments,omitempty"`
}

// Open reports whether the session is still counting.
func (s CountSession) Open() bool { return s.EndSeq == 0 }

// CountRequest asks for a cycle count: the barcode stations whose scans
// count (StartCount), or the location or cabinet zone whose RFID snapshot
// to take (CountCabinet).
type CountRequest struct {
	// Location is where the count is made; for StartCount, "" takes the
	// stations' location.
	Location string `json:"location,omitempty"`
	// Stations are the scanners whose scans count (StartCount).
	Stations []string `json:"stations,omitempty"`
	// Zone names a cabinet zone for its location (CountCabinet).
	Zone string `json:"zone,omitempty"`
	// Actor is the staff member (badge) who counts, where known.
	Actor string `json:"actor,omitempty"`
}

// CountReport is what a session found against the ledger.
type CountReport struct {
	Session CountSession `json:"session"`
	// AsOf is the last movement of the ledger the report reads.
	AsOf uint64 `json:"as_of_seq"`
	// Scans counts the session's count movements; Found the keys they
	// found.
	Scans int `json:"scans"`
	Found int `json:"found"`
	// Expected counts the items the ledger has on hand or held at the
	// location throughout the count, and the units of lots there when it
	// ended.
	Expected int `json:"expected"`
	// Moved counts the items at the location that came there (or left and
	// came back) while it was counted: the ledger accounts for them, so
	// they are not judged. Those that left are not at the location: not
	// judged either, nor counted.
	Moved int `json:"moved_during_count"`
	// Matched counts the items and lots found as the ledger has them.
	Matched int `json:"matched"`
	// Alerts counts the differences that are alerts.
	Alerts int `json:"alerts"`
	// Differences are in count.Compare's order.
	Differences []count.Difference `json:"differences"`
}

// CountAdjustment asks for the adjustments of a session's differences.
type CountAdjustment struct {
	// Items are the items (or lots) whose differences the staff confirm;
	// none confirms every difference but the items the ledger has used
	// (see count.Plan).
	Items []string
	// Apply writes the movements; without it they are only planned.
	Apply bool
	// Actor is the staff member (badge) who adjusts.
	Actor string
}

// CountAdjustResult is the adjustments of a session: planned, or
// written (Applied) and then as recorded.
type CountAdjustResult struct {
	Session   CountSession
	Applied   bool
	Movements []agent.Movement
	// Total is how many movements there are: len(Movements), or more
	// when they came through the local API, a page at most.
	Total int
}

// counts is what the core knows of the ledger's count sessions: loaded
// once from the ledger (their movements are indexed under
// agent.CountKey), then kept as sessions start and end.
type counts struct {
	// mu guards the maps; a count scan holds it for reading from its
	// look-up until its movement is submitted, so that the movement that
	// ends a session is recorded after every scan of it.
	mu        sync.RWMutex
	loaded    bool
	retry     time.Time // when a scan may try a failed load again
	sessions  map[uint64]*CountSession
	byStation map[string]uint64 // open sessions' stations
	byPlace   map[string]uint64 // open sessions' locations
	// change makes starts, ends and adjustments one at a time.
	change sync.Mutex
	// wg counts the count scans not yet answered.
	wg sync.WaitGroup
}

// loadCounts reads the sessions from the ledger, once. A scan calls it
// with scan set: after a failure it does not try again for a minute
// (the scan is then recorded as its station records it).
func (g *Gateway) loadCounts(ctx context.Context, scan bool) error {
	c := &g.counts
	c.mu.RLock()
	done := c.loaded
	c.mu.RUnlock()
	if done {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.loaded || scan && g.cfg.Now().Before(c.retry) {
		return nil
	}
	ms, err := g.store.TracePrefix(ctx, agent.CountKeyPrefix, 0)
	if err != nil {
		c.retry = g.cfg.Now().Add(time.Minute)
		g.log.Error("cycle count sessions not read from the ledger", "err", err)
		return fmt.Errorf("reading the cycle count sessions: %w", err)
	}
	c.sessions, c.byStation, c.byPlace = map[uint64]*CountSession{}, map[string]uint64{}, map[string]uint64{}
	for _, m := range ms {
		if start, ok := agent.ReadCountStart(m); ok {
			c.sessions[m.Seq] = &CountSession{ID: m.Seq, Location: m.Location, Stations: start.Stations, Zones: start.Zones,
				Actor: m.Actor, Started: m.Time}
		} else if id, ok := agent.CountEnded(m); ok && c.sessions[id] != nil {
			c.sessions[id].EndSeq, c.sessions[id].Ended = m.Seq, m.Time
		} else if id, n, ok := agent.CountAdjusted(m); ok && c.sessions[id] != nil {
			c.sessions[id].AdjustedSeq, c.sessions[id].Adjustments = m.Seq, n
		}
	}
	for _, s := range c.sessions {
		if s.Open() {
			c.register(s)
		}
	}
	c.loaded = true
	return nil
}

// register makes s an open session; the caller holds mu.
func (c *counts) register(s *CountSession) {
	c.sessions[s.ID] = s
	c.byPlace[s.Location] = s.ID
	for _, st := range s.Stations {
		c.byStation[st] = s.ID
	}
}

// unregister makes s no longer open; the caller holds mu.
func (c *counts) unregister(s *CountSession) {
	delete(c.byPlace, s.Location)
	for _, st := range s.Stations {
		delete(c.byStation, st)
	}
}

// copyOf returns a copy of s, a session of counts.sessions.
func (g *Gateway) copyOf(s *CountSession) CountSession {
	g.counts.mu.RLock()
	defer g.counts.mu.RUnlock()
	return *s
}

// session returns a copy of session id, once the sessions are loaded.
func (g *Gateway) session(ctx context.Context, id uint64) (*CountSession, error) {
	if err := g.loadCounts(ctx, false); err != nil {
		return nil, err
	}
	g.counts.mu.RLock()
	defer g.counts.mu.RUnlock()
	s := g.counts.sessions[id]
	if s == nil {
		return nil, fmt.Errorf("%w: the ledger holds no cycle count %d", ErrNoCount, id)
	}
	cp := *s
	return &cp, nil
}

// countScan records r as a count movement when its station counts in an
// open session, and reports whether it did: the code is read as the
// station reads it (a code that cannot be read is rejected as ever), the
// movement is a count at the session's location whose Reason names the
// session, and the checks add their flags (a count is never refused: a
// block is recorded as a warning). A plain code a pattern claims (a
// badge, a wristband) is left to the station, but a command is refused
// (recorded as a rejected read): it would act on the station's movements
// from before the count.
func (g *Gateway) countScan(r agent.Read) bool {
	_ = g.loadCounts(context.Background(), true)
	c := &g.counts
	c.mu.RLock()
	defer c.mu.RUnlock()
	id, ok := c.byStation[r.Source]
	if !ok {
		return false
	}
	m := g.ingest.Movement(r)
	switch m.Kind {
	case agent.KindContext:
		if p := g.cfg.Patterns; p == nil || p.Commands[string(r.Data)] == "" {
			return false
		}
		// A command (CANCEL LAST, RETURN...) would act on the station's
		// own movements from before the count: refused, with its reason.
		m.Kind, m.Reason = agent.KindReject, fmt.Sprintf("station counts in cycle count %d: commands are taken once it ends", id)
	case agent.KindReject:
	default:
		m.Kind = agent.KindCount
		m.Location = c.sessions[id].Location
		m.Reason = strings.TrimSuffix(agent.CountReason(id)+"; "+m.Reason, "; ")
		g.decideCount(&m)
	}
	c.wg.Add(1)
	g.store.Submit(m, func(got agent.Movement, err error) {
		defer c.wg.Done()
		o := agent.OutcomeOf(got, err)
		switch {
		case err != nil:
			g.log.Error("count scan not recorded: scan again", "station", r.Source, "err", err)
		case got.Kind == agent.KindReject:
			g.log.Warn("count scan rejected", "station", r.Source, "session", id, "seq", got.Seq, "reason", got.Reason)
		default:
			g.log.Info("count scan", "station", r.Source, "session", id, "location", got.Location, "seq", got.Seq, "item", got.Item, "flags", got.Flags)
		}
		g.answer(r.Source, o)
	})
	return true
}

// decideCount adds to m, a movement of a count (a count or an
// adjustment), the flags of the checks and their reasons; the checks
// only warn: what was found is on record whatever it is.
func (g *Gateway) decideCount(m *agent.Movement) {
	if g.ingest.Decide == nil {
		return
	}
	d := g.ingest.Decide(*m, true)
	m.Flags = append(m.Flags, d.Flags...)
	if d.Outcome == agent.DecisionBlocked || d.Outcome == agent.DecisionPending {
		d.Outcome = agent.DecisionWarned
	}
	if d.Outcome != agent.DecisionAccepted && d.Outcome != "" {
		m.Decision = d.Outcome
	}
	if len(d.Reasons) > 0 {
		m.Reason += "; " + strings.Join(d.Reasons, "; ")
	}
}

// StartCount starts a count session at the request's location: from now
// on, until EndCount, each item scanned at its stations is recorded as a
// count movement of the session (see countScan). The session is
// recorded in the ledger, so it survives a restart. A location or a
// station counts in one session at a time.
func (g *Gateway) StartCount(ctx context.Context, req CountRequest) (CountSession, error) {
	if len(req.Stations) == 0 {
		return CountSession{}, fmt.Errorf("%w: name the station(s) whose scans count", ErrCountRequest)
	}
	loc := req.Location
	for i, st := range req.Stations {
		if err := agent.CheckID("station", st); err != nil {
			return CountSession{}, fmt.Errorf("%w: %w", ErrCountRequest, err)
		}
		if slices.Contains(req.Stations[:i], st) {
			return CountSession{}, fmt.Errorf("%w: station %s named twice", ErrCountRequest, st)
		}
		if !g.cfg.Live { // a ledger file: its stations are the configuration's
			continue
		}
		conf, ok := g.cfg.Stations[st]
		switch {
		case !ok:
			return CountSession{}, fmt.Errorf("%w: station %s is not configured", ErrCountRequest, st)
		case g.cabinet != nil && g.cabinet.IsEncoder(st):
			return CountSession{}, fmt.Errorf("%w: station %s is an encoding station: its scans bind tags", ErrCountRequest, st)
		case req.Location == "" && loc != "" && loc != conf.Location:
			return CountSession{}, fmt.Errorf("%w: stations %s and %s stand at %s and %s: name the location counted", ErrCountRequest,
				req.Stations[0], st, loc, conf.Location)
		case req.Location == "":
			loc = conf.Location
		}
	}
	if loc == "" {
		return CountSession{}, fmt.Errorf("%w: name the location counted", ErrCountRequest)
	}
	if g.cfg.Live {
		if err := g.knownLocation(ctx, loc); err != nil {
			return CountSession{}, err
		}
	}
	c := &g.counts
	c.change.Lock()
	defer c.change.Unlock()
	if err := g.loadCounts(ctx, false); err != nil {
		return CountSession{}, err
	}
	if err := g.free(loc, req.Stations); err != nil {
		return CountSession{}, err
	}
	s, err := g.start(ctx, loc, agent.CountStart{Stations: req.Stations}, req.Actor)
	if err != nil {
		return CountSession{}, err
	}
	g.log.Info("cycle count started", "session", s.ID, "location", loc, "stations", req.Stations)
	return g.copyOf(s), nil
}

// knownLocation returns an error wrapping ErrCountRequest when the
// running gateway does not serve location (Gateway.unknownLocation): a
// count there would move what it finds to a location of its own (a
// mistyped name), out of the stock where it is.
func (g *Gateway) knownLocation(ctx context.Context, location string) error {
	st, err := g.stock.Stock(ctx)
	if err != nil {
		return err
	}
	if err := g.unknownLocation(st, location); err != nil {
		return fmt.Errorf("%w: %w", ErrCountRequest, err)
	}
	return nil
}

// free reports an error when location or one of stations counts in an
// open session; the caller holds counts.change.
func (g *Gateway) free(location string, stations []string) error {
	c := &g.counts
	c.mu.RLock()
	defer c.mu.RUnlock()
	if id, ok := c.byPlace[location]; ok {
		return fmt.Errorf("%w: %s is counted in cycle count %d: end it first", ErrCountState, location, id)
	}
	for _, st := range stations {
		if id, ok := c.byStation[st]; ok {
			return fmt.Errorf("%w: station %s counts in cycle count %d at %s: end it first", ErrCountState, st, id, c.sessions[id].Location)
		}
	}
	return nil
}

// start records the movement that starts a session and makes it open.
// It holds counts.mu meanwhile, so that a scan at its stations is
// recorded as their own movement before the start, or as a count of the
// session after it. The caller holds counts.change.
func (g *Gateway) start(ctx context.Context, location string, start agent.CountStart, actor string) (*CountSession, error) {
	m := agent.Movement{Time: g.cfg.Now(), Kind: agent.KindContext, Item: agent.CountKey(location), Location: location, Actor: actor,
		Flags: []string{agent.FlagCountStart}, Reason: agent.CountStartReason(start)}
	if len(start.Stations) > 0 {
		m.Station = start.Stations[0]
	}
	c := &g.counts
	c.mu.Lock()
	defer c.mu.Unlock()
	got, err := g.store.Append(context.WithoutCancel(ctx), m)
	if err != nil {
		return nil, fmt.Errorf("recording the start of the cycle count: %w", err)
	}
	s := &CountSession{ID: got.Seq, Location: location, Stations: start.Stations, Zones: start.Zones, Actor: actor, Started: got.Time}
	c.register(s)
	return s, nil
}

// submitEnd submits the movement that ends s; its answer comes on the
// channel returned. Submitted while counts.mu is held, it is recorded
// after every scan of s and before any scan recorded as its stations'
// own once s is no longer open.
func (g *Gateway) submitEnd(s *CountSession, actor string) <-chan appended {
	ch := make(chan appended, 1)
	m := agent.Movement{Time: g.cfg.Now(), Kind: agent.KindContext, Item: agent.CountKey(s.Location), Location: s.Location, Actor: actor,
		Flags: []string{agent.FlagCountEnd}, Reason: agent.CountEndReason(s.ID)}
	g.store.Submit(m, func(got agent.Movement, err error) { ch <- appended{got, err} })
	return ch
}

// appended is a movement's answer from the ledger.
type appended struct {
	m   agent.Movement
	err error
}

// end ends the open session s: no scan counts for it from now on, and
// the movement that ends it is recorded, or s is open again. The caller
// holds counts.change.
func (g *Gateway) end(s *CountSession, actor string) error {
	c := &g.counts
	c.mu.Lock()
	c.unregister(s)
	ch := g.submitEnd(s, actor)
	c.mu.Unlock()
	a := <-ch
	c.mu.Lock()
	defer c.mu.Unlock()
	if a.err != nil {
		c.register(s)
		return fmt.Errorf("recording the end of cycle count %d: %w", s.ID, a.err)
	}
	s.EndSeq, s.Ended = a.m.Seq, a.m.Time
	return nil
}

// EndCount ends session id (its stations record as before from now on)
// and returns what it found against the ledger; each alert is logged at
// WARN with its item key.
func (g *Gateway) EndCount(ctx context.Context, id uint64, actor string) (CountReport, error) {
	c := &g.counts
	c.change.Lock()
	defer c.change.Unlock()
	if err := g.loadCounts(ctx, false); err != nil {
		return CountReport{}, err
	}
	c.mu.RLock()
	s := c.sessions[id]
	c.mu.RUnlock()
	switch {
	case s == nil:
		return CountReport{}, fmt.Errorf("%w: the ledger holds no cycle count %d", ErrNoCount, id)
	case !s.Open():
		return CountReport{}, fmt.Errorf("%w: cycle count %d ended at movement %d", ErrCountState, id, s.EndSeq)
	}
	if err := g.end(s, actor); err != nil {
		return CountReport{}, err
	}
	g.log.Info("cycle count ended", "session", id, "location", s.Location)
	r, err := g.countReport(ctx, g.copyOf(s))
	if err != nil {
		return CountReport{}, err
	}
	g.alert(r)
	return r, nil
}

// CountCabinet takes the RFID snapshot of the cabinets at a location (or
// at the location of the zone named): the tags the presence tracker
// holds in each cabinet zone there now are recorded as the count
// movements of a session that starts and ends at once, compared with the
// ledger; each alert is logged at WARN with its item key. Only a running
// gateway with cabinets can.
func (g *Gateway) CountCabinet(ctx context.Context, req CountRequest) (CountReport, error) {
	if err := g.needCabinet(); err != nil {
		return CountReport{}, err
	}
	loc := req.Location
	if req.Zone != "" {
		z, ok := g.cabinetZone(req.Zone)
		switch {
		case !ok:
			return CountReport{}, fmt.Errorf("%w: %q is not a cabinet zone", ErrCountRequest, req.Zone)
		case loc != "" && loc != z.Location:
			return CountReport{}, fmt.Errorf("%w: zone %s is at %s, not %s", ErrCountRequest, req.Zone, z.Location, loc)
		}
		loc = z.Location
	}
	if loc == "" {
		return CountReport{}, fmt.Errorf("%w: name the location or the cabinet zone counted", ErrCountRequest)
	}
	var zones []string
	for _, z := range g.cfg.Cabinet.Zones {
		if z.Role == presence.RoleCabinet && z.Location == loc {
			zones = append(zones, z.Name)
		}
	}
	if len(zones) == 0 {
		return CountReport{}, fmt.Errorf("%w: no cabinet zone is at %s", ErrCountRequest, loc)
	}
	c := &g.counts
	c.change.Lock()
	defer c.change.Unlock()
	if err := g.loadCounts(ctx, false); err != nil {
		return CountReport{}, err
	}
	if err := g.free(loc, nil); err != nil {
		return CountReport{}, err
	}
	var tags []string
	for _, z := range zones {
		in, err := g.cabinet.Inventory(ctx, z)
		if err != nil {
			return CountReport{}, err
		}
		tags = append(tags, in...)
	}
	slices.Sort(tags)
	tags = slices.Compact(tags)
	s, err := g.start(ctx, loc, agent.CountStart{Zones: zones}, req.Actor)
	if err != nil {
		return CountReport{}, err
	}
	ms := make([]agent.Movement, len(tags))
	for i, tag := range tags {
		ms[i] = agent.Movement{Time: g.cfg.Now(), Kind: agent.KindCount, Item: tag, Location: loc, Actor: req.Actor, Reason: agent.CountReason(s.ID)}
		g.decideCount(&ms[i])
	}
	if _, err := g.submitAll(ms); err != nil {
		return CountReport{}, fmt.Errorf("cycle count %d: the snapshot not recorded whole (end it with count end %d): %w", s.ID, s.ID, err)
	}
	if err := g.end(s, req.Actor); err != nil {
		return CountReport{}, err
	}
	r, err := g.countReport(ctx, g.copyOf(s))
	if err != nil {
		return CountReport{}, err
	}
	g.log.Info("cycle count of the cabinets", "session", s.ID, "location", loc, "zones", zones, "tags", len(tags))
	g.alert(r)
	return r, nil
}

// cabinetZone returns the cabinet zone named.
func (g *Gateway) cabinetZone(name string) (cabinet.Zone, bool) {
	for _, z := range g.cfg.Cabinet.Zones {
		if z.Name == name && z.Role == presence.RoleCabinet {
			return z, true
		}
	}
	return cabinet.Zone{}, false
}

// submitAll records ms, in order, and waits until each is answered: it
// returns them as recorded, or the first error (the others may be
// recorded).
func (g *Gateway) submitAll(ms []agent.Movement) ([]agent.Movement, error) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	out := make([]agent.Movement, len(ms))
	for i, m := range ms {
		wg.Add(1)
		g.store.Submit(m, func(got agent.Movement, err error) {
			defer wg.Done()
			out[i] = got
			if err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return out, first
}

// Counts returns the sessions the ledger holds, oldest first.
func (g *Gateway) Counts(ctx context.Context) ([]CountSession, error) {
	if err := g.loadCounts(ctx, false); err != nil {
		return nil, err
	}
	g.counts.mu.RLock()
	defer g.counts.mu.RUnlock()
	out := make([]CountSession, 0, len(g.counts.sessions))
	for _, s := range g.counts.sessions {
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b CountSession) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// CountReport returns what session id has found so far (an open
// session) or found (an ended one) against the ledger.
func (g *Gateway) CountReport(ctx context.Context, id uint64) (CountReport, error) {
	s, err := g.session(ctx, id)
	if err != nil {
		return CountReport{}, err
	}
	return g.countReport(ctx, *s)
}

// AdjustCount plans, or with opt.Apply writes, the movements that adjust
// the ledger to what ended session id found (count.Plan): each with a
// reason naming the session; then a movement that says the session was
// adjusted. A difference already adjusted is not adjusted again. An item
// named in opt.Items must be one of the session's differences.
func (g *Gateway) AdjustCount(ctx context.Context, id uint64, opt CountAdjustment) (CountAdjustResult, error) {
	c := &g.counts
	c.change.Lock()
	defer c.change.Unlock()
	s, err := g.session(ctx, id)
	if err != nil {
		return CountAdjustResult{}, err
	}
	if s.Open() {
		return CountAdjustResult{}, fmt.Errorf("%w: cycle count %d is still counting: end it first", ErrCountState, id)
	}
	r, err := g.countReport(ctx, *s)
	if err != nil {
		return CountAdjustResult{}, err
	}
	for _, it := range opt.Items {
		if !slices.ContainsFunc(r.Differences, func(d count.Difference) bool { return d.Item == it }) {
			return CountAdjustResult{}, fmt.Errorf("%w: %s is not a difference of cycle count %d", ErrCountRequest, it, id)
		}
	}
	ms := count.Plan(id, s.Location, r.Differences, opt.Items)
	now := g.cfg.Now()
	for i := range ms {
		ms[i].Time, ms[i].Actor = now, opt.Actor
		g.decideCount(&ms[i])
	}
	res := CountAdjustResult{Session: *s, Movements: ms, Total: len(ms)}
	if !opt.Apply || len(ms) == 0 {
		return res, nil
	}
	written, err := g.submitAll(ms)
	if err != nil {
		return CountAdjustResult{}, fmt.Errorf("cycle count %d: adjustments not all recorded (ask again: those recorded are not repeated): %w", id, err)
	}
	m := agent.Movement{Time: now, Kind: agent.KindContext, Item: agent.CountKey(s.Location), Location: s.Location, Actor: opt.Actor,
		Flags: []string{agent.FlagCountAdjusted}, Reason: agent.CountAdjustedReason(id, len(written))}
	got, err := g.store.Append(context.WithoutCancel(ctx), m)
	if err != nil {
		return CountAdjustResult{}, fmt.Errorf("cycle count %d: adjustments recorded, their summary not: %w", id, err)
	}
	c.mu.Lock()
	if live := c.sessions[id]; live != nil {
		live.AdjustedSeq, live.Adjustments = got.Seq, len(written)
		res.Session = *live
	}
	c.mu.Unlock()
	g.log.Info("cycle count adjusted", "session", id, "location", s.Location, "movements", len(written))
	res.Applied, res.Movements = true, written
	return res, nil
}

// alert logs each difference of r that is an alert at WARN, with its item
// key (never a patient), and each unknown key at INFO.
func (g *Gateway) alert(r CountReport) {
	for _, d := range r.Differences {
		args := []any{"session", r.Session.ID, "location", r.Session.Location, "item", d.Item}
		switch d.Kind {
		case count.Missing:
			g.log.Warn("cycle count: item missing, possible loss", args...)
		case count.Used:
			g.log.Warn("cycle count: item present that the ledger has "+d.LedgerStatus, append(args, "ledger_location", d.LedgerLocation)...)
		case count.Issued:
			g.log.Warn("cycle count: item present that the ledger has issued", append(args, "ledger_location", d.LedgerLocation)...)
		case count.Misplaced:
			g.log.Warn("cycle count: item present that the ledger places elsewhere", append(args, "ledger_location", d.LedgerLocation)...)
		case count.Unknown:
			g.log.Info("cycle count: unknown tag or item, to commission", args...)
		}
	}
}

// errStopRange ends a Range early.
var errStopRange = errors.New("stop")

// countReport compares what session s found with the ledger. It reads
// the movements of the session's time (from its start to its end, or to
// the last adjustment recorded), the stock at its location, and the
// trace of each key it found and of each key at the location that moved
// since it started; items and lots unchanged since are taken from the
// stock as they are.
func (g *Gateway) countReport(ctx context.Context, s CountSession) (CountReport, error) {
	upto := s.EndSeq
	if upto == 0 {
		upto = g.store.LastSeq()
	}
	type found struct {
		n    int
		last agent.Movement
	}
	scans := map[string]*found{}
	adjusted := map[string]bool{}
	rep := CountReport{Session: s, AsOf: max(upto, s.AdjustedSeq)}
	err := g.store.Range(s.ID+1, func(m agent.Movement) error {
		if m.Seq > rep.AsOf {
			return errStopRange
		}
		id, ok := agent.CountSession(m)
		switch {
		case !ok || id != s.ID || m.Decision == agent.DecisionBlocked:
		case m.Kind != agent.KindCount:
			adjusted[m.Item] = true
		case m.Seq <= upto:
			f := scans[m.Item]
			if f == nil {
				f = &found{}
				scans[m.Item] = f
			}
			f.n++
			f.last = m
			rep.Scans++
		}
		return ctx.Err()
	})
	if err != nil && !errors.Is(err, errStopRange) {
		return CountReport{}, fmt.Errorf("reading cycle count %d: %w", s.ID, err)
	}
	st, err := g.stock.Stock(ctx)
	if err != nil {
		return CountReport{}, err
	}
	trace := func(key string) ([]agent.Movement, error) { return g.store.Trace(ctx, key) }
	in := count.Input{Location: s.Location, RFID: len(s.Zones) > 0}
	rep.Found = len(scans)

	// Items: those at the location now, and those the session adjusted
	// (a write-off took them away), judged unless found.
	units := st.UnitsAt(s.Location)
	for key := range adjusted {
		if lifecycle.Unit(key) && !slices.ContainsFunc(units, func(u stock.UnitAt) bool { return u.Key == key }) {
			units = append(units, stock.UnitAt{Key: key, LastSeq: s.ID + 1})
		}
	}
	for _, u := range units {
		// Found or not, an item the ledger has here throughout is
		// expected (Compare judges only those not found).
		cu := count.Unit{Key: u.Key, Product: u.Product, Lot: u.Lot, Expiry: u.Expiry}
		if u.LastSeq > s.ID || in.RFID {
			ms, err := trace(u.Key)
			if err != nil {
				return CountReport{}, err
			}
			cu.Tagged, cu.Adjusted = count.Tagged(ms), count.AdjustedBy(ms, s.ID)
			if u.LastSeq > s.ID {
				a, _ := count.StateAt(ms, u.Key, s.ID, s.ID)
				b, _ := count.StateAt(ms, u.Key, upto, s.ID)
				if !count.OnHandAt(a, s.Location) || !count.OnHandAt(b, s.Location) {
					if scans[u.Key] == nil {
						rep.Moved++ // found ones are judged as found (below)
					}
					continue
				}
				if cu.Product == "" {
					cu.Product, cu.Lot, cu.Expiry = lifecycle.Product(agent.Movement{Item: u.Key}), b.Lot, b.Expiry
				}
			}
		}
		in.Expected = append(in.Expected, cu)
	}
	rep.Expected = len(in.Expected)

	// Lots: those counted at the location now, and those found or
	// adjusted; an RFID snapshot counts no lot (a tag is one item).
	lots := map[string]stock.LotAt{}
	for _, l := range st.LotsAt(s.Location) {
		if !in.RFID {
			lots[l.Key] = l
		}
	}
	for key := range scans {
		if !lifecycle.Unit(key) {
			if _, ok := lots[key]; !ok {
				lots[key] = stock.LotAt{Key: key, LastSeq: s.ID + 1}
			}
		}
	}
	for key := range adjusted {
		if _, ok := lots[key]; !ok && !lifecycle.Unit(key) {
			lots[key] = stock.LotAt{Key: key, LastSeq: s.ID + 1}
		}
	}
	for key, l := range lots {
		cl := count.Lot{Key: key, Product: l.Product, Lot: l.Lot, Expiry: l.Expiry, Start: l.Units, End: l.Units}
		if f := scans[key]; f != nil {
			cl.Counted = f.n
			cl.Lot, cl.Expiry = cmp.Or(f.last.Lot, cl.Lot), cmp.Or(f.last.Expiry, cl.Expiry)
			cl.Product = cmp.Or(cl.Product, lifecycle.Product(f.last))
		}
		if l.LastSeq > s.ID {
			ms, err := trace(key)
			if err != nil {
				return CountReport{}, err
			}
			cl.Start, cl.End = count.LotAt(ms, key, s.ID, s.Location), count.LotAt(ms, key, upto, s.Location)
			cl.Adjusted = count.AdjustedBy(ms, s.ID)
			if cl.Product == "" {
				cl.Product = lifecycle.Product(agent.Movement{Item: key})
			}
		}
		rep.Expected += cl.End
		in.Lots = append(in.Lots, cl)
	}

	// What was found, as the ledger had it when it was found.
	for key, f := range scans {
		if !lifecycle.Unit(key) {
			continue
		}
		ms, err := trace(key)
		if err != nil {
			return CountReport{}, err
		}
		state, consumed := count.StateAt(ms, key, f.last.Seq, s.ID)
		in.Seen = append(in.Seen, count.Seen{Key: key, Product: lifecycle.Product(f.last), Lot: cmp.Or(f.last.Lot, state.Lot),
			Expiry: cmp.Or(f.last.Expiry, state.Expiry), State: state, Consumed: consumed, Adjusted: count.AdjustedBy(ms, s.ID)})
	}
	res := count.Compare(in)
	rep.Matched, rep.Differences = res.Matched, res.Differences
	d := g.master.Load()
	for i := range rep.Differences {
		if e, _, ok := d.Resolve(rep.Differences[i].Product); ok {
			rep.Differences[i].Name = e.Name
		}
		if rep.Differences[i].Alert {
			rep.Alerts++
		}
	}
	return rep, nil
}
