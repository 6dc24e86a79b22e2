package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/epc"
	"github.com/udi-edge/udi-edge/agent/presence"
	"github.com/udi-edge/udi-edge/reader"
	"github.com/udi-edge/udi-edge/reader/bb7e"
	"github.com/udi-edge/udi-edge/reader/mercury"
)

// ReaderConfig is one UHF RFID reader and where each of its antennas reads.
type ReaderConfig struct {
	ID     string `json:"id"`
	Type   string `json:"type"` // "mercury" or "bb7e"
	Device string `json:"device"`
	// Baud 0 probes the usual rates (mercury only).
	Baud int `json:"baud"`
	// Region is the regulatory region ("PRC", "NA2", "EU3", ...; bb7e:
	// "china900", "china800", "us", "eu", "korea").
	Region string `json:"region"`
	// PowerCdBm is the read power in centi-dBm (2000 = 20 dBm).
	PowerCdBm int `json:"power_cdbm"`
	// Framing is "BB7E" or "AADD" (bb7e only).
	Framing string `json:"framing"`
	// Antennas maps each antenna port to a zone.
	Antennas []AntennaConfig `json:"antennas"`
}

// AntennaConfig maps one antenna port to a zone.
type AntennaConfig struct {
	Port int    `json:"port"`
	Zone string `json:"zone"`
}

// ZoneConfig is one RFID zone: its location and its role.
type ZoneConfig struct {
	Name     string `json:"name"`
	Location string `json:"location"`
	// Role is cabinet, portal, encoder or or-table.
	Role string `json:"role"`
	// Portal and Side ("outer" or "inner") place a portal zone.
	Portal string `json:"portal"`
	Side   string `json:"side"`
	// Round is a cabinet's inventory round length.
	Round Duration `json:"round"`
}

// PresenceConfig tunes how tag reads become movements; zero values take
// the presence package's defaults (see firmware-notes/presence.md).
type PresenceConfig struct {
	DedupWindow  Duration `json:"dedup_window"`
	PortalWindow Duration `json:"portal_window"`
	MissRounds   int      `json:"miss_rounds"`
	RescanRounds int      `json:"rescan_rounds"`
	// RescanSettle: after a cabinet door closes, rounds count again only
	// once they start this long after the close.
	RescanSettle Duration `json:"rescan_settle"`
	// LinkWithin: an item taken from a cabinet and not used, returned,
	// wasted or moved back within this raises a "removed but not linked"
	// alert (zero: 4h; negative: never).
	LinkWithin Duration `json:"link_within"`
}

// defaultLinkWithin is PresenceConfig.LinkWithin's default.
const defaultLinkWithin = 4 * time.Hour

// defaultRound is a cabinet's round when none is configured.
const defaultRound = time.Second

func (c *Config) validateRFID() error {
	zones := map[string]bool{}
	for i, z := range c.Zones {
		p := fmt.Sprintf("zones[%d]", i)
		if !validID(z.Name) {
			return cfgErr(p+".name", "%q: use letters, digits, '-', '_' and '.' only", z.Name)
		}
		if zones[z.Name] {
			return cfgErr(p+".name", "zone %q is defined twice", z.Name)
		}
		zones[z.Name] = true
		var r presence.Role
		if err := r.UnmarshalText([]byte(z.Role)); err != nil {
			return cfgErr(p+".role", "%q: want cabinet, portal, encoder or or-table", z.Role)
		}
		if z.Location == "" {
			return cfgErr(p+".location", "required: where zone %q is", z.Name)
		}
	}
	if len(c.Zones) > 0 {
		if _, err := c.presenceConfig(); err != nil {
			return err
		}
	}
	for i, s := range c.Scanners {
		p := fmt.Sprintf("scanners[%d]", i)
		if s.EncoderZone == "" {
			if s.WriteEPC {
				return cfgErr(p+".write_epc", "needs encoder_zone")
			}
			continue
		}
		if s.Kind != string(agent.KindCommission) {
			return cfgErr(p+".kind", "%q: an encoding station's scanner records commission", s.Kind)
		}
		z, ok := c.zone(s.EncoderZone)
		if !ok || z.Role != "encoder" {
			return cfgErr(p+".encoder_zone", "%q is not a zone with role encoder", s.EncoderZone)
		}
		if s.CompanyPrefixLength != 0 && (s.CompanyPrefixLength < 6 || s.CompanyPrefixLength > 12) {
			return cfgErr(p+".company_prefix_length", "%d: want 6 to 12", s.CompanyPrefixLength)
		}
		if s.WriteEPC {
			if _, err := c.encoderWriter(s.EncoderZone); err != nil {
				return cfgErr(p+".write_epc", "%v", err)
			}
		}
	}
	seen := map[string]bool{}
	for i, r := range c.Readers {
		p := fmt.Sprintf("readers[%d]", i)
		if !validID(r.ID) {
			return cfgErr(p+".id", "%q: use letters, digits, '-', '_' and '.' only", r.ID)
		}
		if seen[r.ID] {
			return cfgErr(p+".id", "%q is used by two readers", r.ID)
		}
		seen[r.ID] = true
		if len(r.Antennas) == 0 {
			return cfgErr(p+".antennas", "map at least one antenna port to a zone")
		}
		ports := map[int]bool{}
		for j, a := range r.Antennas {
			q := fmt.Sprintf("%s.antennas[%d]", p, j)
			if a.Port < 1 || a.Port > 16 || ports[a.Port] {
				return cfgErr(q+".port", "%d: want a port from 1 to 16, once per reader", a.Port)
			}
			ports[a.Port] = true
			if !zones[a.Zone] {
				return cfgErr(q+".zone", "%q is not a zone defined under zones", a.Zone)
			}
		}
		switch r.Type {
		case "mercury":
			if err := r.mercuryConfig().Validate(); err != nil {
				return &ConfigError{Where: p, Err: err}
			}
		case "bb7e":
			if len(r.Antennas) != 1 || r.Antennas[0].Port != 1 {
				return cfgErr(p+".antennas", "a bb7e module has one antenna: map port 1")
			}
			if err := r.bb7eConfig().Validate(); err != nil {
				return &ConfigError{Where: p, Err: err}
			}
		default:
			return cfgErr(p+".type", "%q: want mercury or bb7e", r.Type)
		}
	}
	return nil
}

func (c *Config) zone(name string) (ZoneConfig, bool) {
	for _, z := range c.Zones {
		if z.Name == name {
			return z, true
		}
	}
	return ZoneConfig{}, false
}

// encoderWriter returns the id of the mercury reader that reads the encoder
// zone, which must be all it reads: WRITE_TAG_ID writes the one tag in the
// reader's field.
func (c *Config) encoderWriter(zone string) (string, error) {
	for _, r := range c.Readers {
		reads, other := false, false
		for _, a := range r.Antennas {
			if a.Zone == zone {
				reads = true
			} else {
				other = true
			}
		}
		if !reads {
			continue
		}
		if r.Type != "mercury" || other {
			return "", fmt.Errorf("zone %q is read by %s reader %q, which must be a mercury reading only that zone to write EPCs", zone, r.Type, r.ID)
		}
		return r.ID, nil
	}
	return "", fmt.Errorf("no reader reads zone %q", zone)
}

func (c *Config) presenceConfig() (presence.Config, error) {
	pc := presence.Config{
		DedupWindow:  time.Duration(c.Presence.DedupWindow),
		PortalWindow: time.Duration(c.Presence.PortalWindow),
		MissRounds:   c.Presence.MissRounds,
		RescanRounds: c.Presence.RescanRounds,
		RescanSettle: time.Duration(c.Presence.RescanSettle),
		Zones:        map[string]presence.ZoneConfig{},
	}
	for _, z := range c.Zones {
		var zc presence.ZoneConfig
		_ = zc.Role.UnmarshalText([]byte(z.Role))
		if zc.Role == presence.RolePortal {
			zc.Portal = z.Portal
			if err := zc.Side.UnmarshalText([]byte(z.Side)); err != nil {
				return pc, cfgErr("zones."+z.Name+".side", "%q: want outer or inner", z.Side)
			}
		}
		if zc.Role == presence.RoleCabinet {
			zc.RoundLength = time.Duration(z.Round)
			if zc.RoundLength == 0 {
				zc.RoundLength = defaultRound
			}
		}
		pc.Zones[z.Name] = zc
	}
	if err := pc.Validate(); err != nil {
		return pc, &ConfigError{Where: "presence/zones", Err: err}
	}
	return pc, nil
}

func (r ReaderConfig) serial() reader.Settings {
	return reader.Settings{Device: r.Device, Baud: r.Baud}
}

func (r ReaderConfig) ports() []int {
	var ps []int
	for _, a := range r.Antennas {
		ps = append(ps, a.Port)
	}
	return ps
}

func (r ReaderConfig) mercuryConfig() mercury.Config {
	return mercury.Config{ID: r.ID, Serial: r.serial(), ProbeBaud: r.Baud == 0, Region: r.Region,
		ReadPowerCdBm: r.PowerCdBm, Antennas: r.ports()}.WithDefaults()
}

func (r ReaderConfig) bb7eConfig() bb7e.ReaderConfig {
	return bb7e.ReaderConfig{ID: r.ID, Serial: r.serial(), Framing: r.Framing, Region: r.Region,
		PowerCdBm: r.PowerCdBm}.WithDefaults()
}

// tagRead is one read from any reader, reduced to what presence needs.
type tagRead struct {
	reader  string
	antenna int
	rssi    int
	pc      uint16
	epc     []byte
	time    time.Time
}

// rfid owns the RFID side of the agent: the drivers feed one goroutine that
// owns the presence tracker, whose events become movements.
type rfid struct {
	cfg      *Config
	log      *slog.Logger
	tracker  *presence.Tracker
	presence *agent.Presence
	zoneOf   map[string]map[int]string // reader → port → zone
	raw      map[string][]byte         // tag key → PC+EPC last read
	reads    chan tagRead
	dropped  atomic.Uint64
	mercury  map[string]*mercury.Reader
	bb7e     map[string]*bb7e.Reader
	ctx      context.Context

	ledger      agent.Ledger
	ingest      *agent.Ingest
	scanAnswer  func(station string, o agent.Outcome)
	encoders    map[string]ScannerConfig // scanner id → its encoding station
	commissions chan agent.Read
	doors       chan doorSignal
	inventories chan inventoryReq
	boundMu     sync.Mutex
	bound       map[string]string    // raw tag key → item key ("" when none)
	retired     map[string]time.Time // EPCs just overwritten → until when to ignore them
	dedup       time.Duration
	bg          sync.WaitGroup
	pending     sync.WaitGroup
	removed     map[string]removal // item → its removal from a cabinet, awaiting a link
	lastSweep   time.Time
}

// removal is an item taken from a cabinet, awaiting its use or return.
type removal struct {
	at       time.Time
	zone     string
	location string
	reader   string
}

func newRFID(cfg *Config, l agent.Ledger, in *agent.Ingest, log *slog.Logger, answer func(agent.Outcome), scanAnswer func(string, agent.Outcome)) (*rfid, error) {
	r := &rfid{cfg: cfg, log: log, zoneOf: map[string]map[int]string{}, raw: map[string][]byte{},
		reads: make(chan tagRead, 4096), mercury: map[string]*mercury.Reader{}, bb7e: map[string]*bb7e.Reader{},
		ledger: l, ingest: in, scanAnswer: scanAnswer, encoders: map[string]ScannerConfig{},
		commissions: make(chan agent.Read, 64), bound: map[string]string{}, retired: map[string]time.Time{}, doors: make(chan doorSignal),
		inventories: make(chan inventoryReq)}
	for _, sc := range cfg.Scanners {
		if sc.EncoderZone != "" {
			r.encoders[sc.ID] = sc
		}
	}
	zones := map[string]agent.Zone{}
	for _, z := range cfg.Zones {
		zones[z.Name] = agent.Zone{Name: z.Name, Location: z.Location}
	}
	r.presence = &agent.Presence{Ledger: l, Zones: zones, Answer: answer, Log: log, Decide: in.Decide}
	pc, err := cfg.presenceConfig()
	if err != nil {
		return nil, err
	}
	r.dedup = pc.DedupWindow
	if r.dedup == 0 {
		r.dedup = presence.DefaultDedupWindow
	}
	r.tracker, err = presence.New(pc, r.event)
	if err != nil {
		return nil, err
	}
	for _, rc := range cfg.Readers {
		m := map[int]string{}
		for _, a := range rc.Antennas {
			m[a.Port] = a.Zone
		}
		r.zoneOf[rc.ID] = m
	}
	if rl, ok := l.(ranger); ok {
		if err := r.restore(rl); err != nil {
			return nil, err
		}
	}
	for _, rc := range cfg.Readers {
		switch rc.Type {
		case "mercury":
			r.mercury[rc.ID] = mercury.New(rc.mercuryConfig(), log.With("reader", rc.ID))
		case "bb7e":
			r.bb7e[rc.ID] = bb7e.New(rc.bb7eConfig(), log.With("reader", rc.ID))
		}
	}
	return r, nil
}

// offer hands a read to the tracker goroutine without ever blocking a
// driver: a reader repeats every tag each round, so under overload a read
// is counted and skipped rather than stalling the serial line.
func (r *rfid) offer(t tagRead) {
	select {
	case r.reads <- t:
	default:
		if r.dropped.Add(1)%1000 == 1 {
			r.log.Warn("tag reads arrive faster than they are tracked; skipping repeats", "skipped", r.dropped.Load())
		}
	}
}

// connected reports which readers are set up and reading.
func (r *rfid) connected() map[string]bool {
	m := map[string]bool{}
	for id, d := range r.mercury {
		m[id] = d.Connected()
	}
	for id, d := range r.bb7e {
		m[id] = d.Connected()
	}
	return m
}

// run runs the drivers until ctx ends and the tracker until then and
// scannersDone is closed: encoding stations' scans still arrive meanwhile.
func (r *rfid) run(ctx context.Context, scannersDone <-chan struct{}) {
	r.ctx = ctx
	var wg sync.WaitGroup
	for id, d := range r.mercury {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := d.Run(ctx, func(ev mercury.TagEvent) {
				r.offer(tagRead{reader: ev.Reader, antenna: ev.Tag.Antenna, rssi: ev.Tag.RSSI, pc: ev.Tag.PC, epc: ev.Tag.EPC, time: ev.Time})
			})
			if err != nil && !errors.Is(err, context.Canceled) {
				r.log.Error("reader stopped", "reader", id, "err", err)
			}
		}()
	}
	for id, d := range r.bb7e {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := d.Run(ctx, func(ev bb7e.TagEvent) {
				r.offer(tagRead{reader: ev.Reader, antenna: 1, rssi: ev.Tag.RSSI, pc: ev.Tag.PC, epc: ev.Tag.EPC, time: ev.Time})
			})
			if err != nil && !errors.Is(err, context.Canceled) {
				r.log.Error("reader stopped", "reader", id, "err", err)
			}
		}()
	}
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
		case t := <-r.reads:
			r.observe(t)
		case rd := <-r.commissions:
			r.commission(rd)
		case q := <-r.inventories:
			tags, err := r.tracker.Snapshot(q.zone)
			q.reply <- inventoryReply{tags, err}
		case d := <-r.doors:
			if d.open {
				d.err <- r.tracker.DoorOpened(d.zone, time.Now())
			} else {
				d.err <- r.tracker.DoorClosed(d.zone, time.Now())
			}
		case now := <-tick.C:
			r.tracker.Tick(now)
			if now.Sub(r.lastSweep) >= time.Second {
				r.lastSweep = now
				r.sweepRemovals(now)
			}
		}
	}
	wg.Wait()
	r.bg.Wait()
	r.pending.Wait()
	r.presence.Wait()
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

// inventory returns the tags present in a cabinet zone now, sorted.
func (r *rfid) inventory(zone string) ([]string, error) {
	q := inventoryReq{zone: zone, reply: make(chan inventoryReply, 1)}
	select {
	case r.inventories <- q:
		a := <-q.reply
		return a.tags, a.err
	case <-time.After(5 * time.Second):
		return nil, errors.New("the RFID tracker is not answering")
	}
}

// ranger reads the ledger in sequence order.
type ranger interface {
	Range(from uint64, fn func(agent.Movement) error) error
}

// restore gives each cabinet zone the inventory the ledger last recorded
// for it, from the readers' own movements (stocked or counted present,
// issued gone), so a restarted agent reports only what changed while it
// was down and knows its exact inventory from its first round.
func (r *rfid) restore(l ranger) error {
	cabinet := map[string]bool{}
	for _, z := range r.cfg.Zones {
		if z.Role == "cabinet" {
			cabinet[z.Name] = true
		}
	}
	if len(cabinet) == 0 {
		return nil
	}
	present := map[string]map[string]bool{} // zone → tags
	where := map[string]string{}            // tag → zone it was last put in
	err := l.Range(1, func(m agent.Movement) error {
		if m.Symbology != "EPC" {
			return nil
		}
		zone := r.zoneOf[m.Station][m.Antenna]
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
			r.raw[m.Item] = m.Raw
		case agent.KindIssue:
			delete(present[zone], m.Item)
			delete(where, m.Item)
			delete(r.raw, m.Item)
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
		if err := r.tracker.Restore(zone, list); err != nil {
			return err
		}
		r.log.Info("cabinet inventory restored from the ledger", "zone", zone, "items", len(list))
	}
	return nil
}

// linkWithin is how long a removed item may stay unlinked.
func (r *rfid) linkWithin() time.Duration {
	d := time.Duration(r.cfg.Presence.LinkWithin)
	if d == 0 {
		d = defaultLinkWithin
	}
	return d
}

// sweepRemovals raises the "removed but not linked" alert for items taken
// from a cabinet longer than linkWithin ago and not used, returned, wasted,
// disposed or put back since: a warning in the log and a recorded context
// movement naming the item, flagged, so that trace and anomalies show it.
func (r *rfid) sweepRemovals(now time.Time) {
	within := r.linkWithin()
	if within < 0 {
		clear(r.removed)
		return
	}
	for item, rm := range r.removed {
		if now.Sub(rm.at) < within {
			continue
		}
		delete(r.removed, item)
		ms, err := r.ledger.Trace(context.Background(), item)
		if err != nil {
			r.log.Warn("removal not checked", "err", err)
			continue
		}
		linked := false
		for _, m := range ms {
			if m.Time.After(rm.at) && m.Decision != agent.DecisionBlocked {
				switch m.Kind {
				case agent.KindUse, agent.KindReturn, agent.KindWaste, agent.KindDispose, agent.KindStock, agent.KindCount:
					linked = true
				}
			}
		}
		if linked {
			continue
		}
		r.log.Warn("removed but not linked", "item", item, "location", rm.location, "removed", rm.at, "within", within)
		r.submitScan(rm.reader, agent.Movement{
			Time: now, Kind: agent.KindContext, Item: item, Location: rm.location, Station: rm.reader,
			Flags:  []string{FlagRemovedNotLinked},
			Reason: fmt.Sprintf("removed from %s at %s, not used, returned or put back within %s", rm.location, rm.at.Format(time.RFC3339), within),
		})
	}
}

// FlagRemovedNotLinked flags the alert movement of an item taken from a
// cabinet and not linked to a use or a return in time.
const FlagRemovedNotLinked = "removed-not-linked"

// doorSignal is a cabinet door's change of state.
type doorSignal struct {
	zone string
	open bool
	err  chan error
}

// door tells the tracker that a cabinet's door opened or closed: while it
// is open, and for the rescan rounds after it closes, rounds do not count.
func (r *rfid) door(zone string, open bool) error {
	d := doorSignal{zone: zone, open: open, err: make(chan error, 1)}
	select {
	case r.doors <- d:
		return <-d.err
	case <-time.After(5 * time.Second):
		return errors.New("the RFID tracker is not answering")
	}
}

// isEncoder reports whether the scanner serves an encoding station.
func (r *rfid) isEncoder(scanner string) bool {
	_, ok := r.encoders[scanner]
	return ok
}

// offerCommission hands a scan from an encoding station to the tracker
// goroutine, which knows what lies on the pad. The goroutine runs until
// every scanner has stopped, so no scan is lost.
func (r *rfid) offerCommission(rd agent.Read) { r.commissions <- rd }

// commission binds the tag on the station's pad to the scanned item,
// writing the item's EPC to it first when the station is set to.
func (r *rfid) commission(rd agent.Read) {
	st := r.encoders[rd.Source]
	m := r.ingest.Movement(rd)
	if m.Kind == agent.KindReject {
		r.submitScan(rd.Source, m)
		return
	}
	sights, _ := r.tracker.Sightings(st.EncoderZone)
	var pad []agent.TagOnPad
	now := time.Now()
	r.boundMu.Lock()
	for _, s := range sights {
		// A tag just rewritten still has a sighting under its old EPC.
		if until, ok := r.retired[s.Tag]; ok && now.Before(until) && !s.Last.After(until.Add(-r.dedup)) {
			continue
		}
		pad = append(pad, agent.TagOnPad{Key: s.Tag, Raw: r.raw[s.Tag], RSSI: s.RSSI})
	}
	r.boundMu.Unlock()
	tag, err := agent.PickTag(pad)
	if err != nil {
		m.Kind, m.Reason = agent.KindReject, err.Error()
		r.submitScan(rd.Source, m)
		return
	}
	if !st.WriteEPC || strings.HasPrefix(tag.Key, "(01)") {
		// Nothing to write, or the tag already carries an item's EPC: its
		// own (confirmed) or another's (refused, never overwritten).
		r.bind(rd.Source, agent.Commission(m, tag), tag)
		return
	}
	cpLen := st.CompanyPrefixLength
	if cpLen == 0 {
		cpLen = 7
	}
	newEPC, err := epc.EncodeSGTIN96(m.GTIN, m.Serial, 0, cpLen)
	if err != nil {
		m.Kind, m.Reason = agent.KindReject, "cannot encode this item's SGTIN-96: "+err.Error()
		r.submitScan(rd.Source, m)
		return
	}
	writerID, _ := r.cfg.encoderWriter(st.EncoderZone)
	w := r.mercury[writerID]
	// Writing takes a second or two: never on the tracker's goroutine.
	r.bg.Add(1)
	go func() {
		defer r.bg.Done()
		if err := w.WriteEPC(r.ctx, newEPC); err != nil {
			m.Kind, m.Reason, m.Tag = agent.KindReject, "writing the tag failed: "+err.Error(), tag.Key
			r.submitScan(rd.Source, m)
			return
		}
		r.boundMu.Lock()
		r.retired[tag.Key] = time.Now().Add(r.dedup)
		r.boundMu.Unlock()
		written := agent.TagOnPad{Key: epc.Key(newEPC), Raw: append(binary.BigEndian.AppendUint16(nil, epc.PCFor(96)), newEPC...), RSSI: tag.RSSI}
		cm := agent.Commission(m, written)
		cm.Reason = "wrote the item's SGTIN-96 to tag " + tag.Key + " and read it back"
		r.bind(rd.Source, cm, written)
	}()
}

// bind records a commission movement and, once it is durable, remembers
// the binding so that the tag's reads count for its item.
func (r *rfid) bind(station string, m agent.Movement, tag agent.TagOnPad) {
	r.submitScan(station, m, func(got agent.Movement) {
		if got.Kind == agent.KindCommission && tag.Key != got.Item {
			r.boundMu.Lock()
			r.bound[tag.Key] = got.Item
			r.boundMu.Unlock()
		}
	})
}

// itemOf returns the item key a tag's reads count for: the tag's own key
// for an SGTIN, else the item it was commissioned to, else its raw key.
func (r *rfid) itemOf(key string) string {
	if !strings.HasPrefix(key, "urn:epc:raw:") {
		return key
	}
	r.boundMu.Lock()
	item, ok := r.bound[key]
	r.boundMu.Unlock()
	if ok {
		if item == "" {
			return key
		}
		return item
	}
	// First sight of this tag since start-up: ask the ledger once.
	ms, err := r.ledger.Trace(context.Background(), key)
	if err != nil {
		r.log.Warn("tag binding not looked up", "err", err)
		return key
	}
	item = ""
	for _, m := range ms {
		if m.Kind == agent.KindCommission && m.Tag == key {
			item = m.Item
		}
	}
	r.boundMu.Lock()
	if _, raced := r.bound[key]; !raced {
		r.bound[key] = item
	}
	r.boundMu.Unlock()
	if item == "" {
		return key
	}
	return item
}

// submitScan records a movement born of a scan and answers the station;
// durable, if set, runs once the movement is on disk.
func (r *rfid) submitScan(station string, m agent.Movement, durable ...func(agent.Movement)) {
	r.pending.Add(1)
	r.ledger.Submit(m, func(got agent.Movement, err error) {
		defer r.pending.Done()
		if err == nil {
			for _, f := range durable {
				f(got)
			}
		}
		o := agent.Outcome{Verdict: agent.VerdictAccepted, Movement: got}
		switch {
		case err != nil:
			o = agent.Outcome{Verdict: agent.VerdictFailed, Movement: m, Err: err}
		case got.Kind == agent.KindReject:
			o.Verdict = agent.VerdictRejected
		}
		if r.scanAnswer != nil {
			r.scanAnswer(station, o)
		}
	})
}

func (r *rfid) observe(t tagRead) {
	zone, ok := r.zoneOf[t.reader][t.antenna]
	if !ok {
		return // an antenna the configuration does not map reads nothing we track
	}
	key := r.itemOf(epc.KeyWithPC(t.pc, t.epc))
	if _, ok := r.raw[key]; !ok {
		raw := binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(t.epc)), t.pc)
		r.raw[key] = append(raw, t.epc...)
	}
	if err := r.tracker.Observe(presence.Read{Tag: key, Reader: t.reader, Antenna: t.antenna, Zone: zone, RSSI: t.rssi, Time: t.time}); err != nil {
		r.log.Warn("tag read not tracked", "reader", t.reader, "antenna", t.antenna, "err", err)
	}
}

// event records a presence event as a movement.
func (r *rfid) event(ev presence.Event) {
	raw := r.raw[ev.Tag]
	switch ev.Kind {
	case presence.Removed:
		if r.removed == nil {
			r.removed = map[string]removal{}
		}
		loc := ev.Zone
		if z, ok := r.cfg.zone(ev.Zone); ok {
			loc = z.Location
		}
		r.removed[ev.Tag] = removal{at: ev.Time, zone: ev.Zone, location: loc, reader: ev.Reader}
	case presence.Placed:
		delete(r.removed, ev.Tag) // put back
	}
	if ev.Kind != presence.Placed {
		// Only present tags keep their bytes; a tag read again is
		// remembered again.
		delete(r.raw, ev.Tag)
	}
	ctx := r.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	r.presence.Handle(context.WithoutCancel(ctx), ev, raw)
}
