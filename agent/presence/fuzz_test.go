package presence

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// fuzzZones are the zones FuzzTracker drives, with one name that is not
// configured.
var fuzzZones = []string{"cab", "tcab", "door/out", "door/in", "enc", "or", "nowhere"}

var fuzzTags = []string{"a", "b", "c", "d", "e", "f", ""}

// FuzzTracker drives a random sequence of reads, round ends, door events,
// ticks and restores, with a configuration taken from the input, and
// checks that:
//   - nothing panics, and every error is an *Error wrapping a sentinel;
//   - a tag is Placed only where it is not present and Removed only where
//     it is (placed or restored);
//   - Snapshot of each cabinet is exactly the tags placed or restored and
//     not removed;
//   - each call's events come sorted, in configured zones, with Portal set
//     exactly on portal events;
//   - once doors close and enough rounds and time pass, every read has
//     given an event for its tag and zone (or portal): no tag is dropped.
func FuzzTracker(f *testing.F) {
	rng := rand.New(rand.NewPCG(20260302, 1))
	for range 24 {
		b := make([]byte, 8+rng.IntN(400))
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 24, 3, 24, 3, 24, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		cfgByte := func(i int) int {
			if i < len(data) {
				return int(data[i])
			}
			return 0
		}
		cfg := Config{
			MissRounds:     1 + cfgByte(0)%4,
			ConfirmRounds:  1 + cfgByte(1)%3,
			RescanRounds:   cfgByte(2)%4 - 1,
			BaselineRounds: cfgByte(3)%4 - 1,
			DedupWindow:    time.Duration(1+cfgByte(4)%30) * 100 * time.Millisecond,
			PortalWindow:   time.Duration(1+cfgByte(5)%60) * 100 * time.Millisecond,
			RescanSettle:   time.Duration(cfgByte(6)%4) * 500 * time.Millisecond,
			Zones:          testZones(),
		}
		roundLen := time.Duration(1+cfgByte(7)%20) * 100 * time.Millisecond
		cfg.Zones["tcab"] = ZoneConfig{Role: RoleCabinet, RoundLength: roundLen}
		if len(data) > 8 {
			data = data[8:]
		} else {
			data = nil
		}

		var m fuzzModel
		m.init(t, cfg)
		now, latest := t0, t0
		for i := 0; i+1 < len(data); i += 2 {
			op, arg := data[i], data[i+1]
			switch {
			case arg == 255:
				now = now.Add(-time.Second) // a late clock
			default:
				now = now.Add(time.Duration(arg%16) * 50 * time.Millisecond)
			}
			if now.After(latest) {
				latest = now
			}
			zone := fuzzZones[int(arg>>4)%len(fuzzZones)]
			switch op % 8 {
			case 0, 1, 2:
				tag := fuzzTags[int(op>>3)%len(fuzzTags)]
				m.observe(Read{Tag: tag, Reader: "r", Antenna: int(op >> 6), Zone: zone, RSSI: -int(arg), Time: now})
			case 3:
				m.call("end round", zone, func() error { return m.tr.EndRound(zone, now) })
			case 4:
				m.call("door opened", zone, func() error { return m.tr.DoorOpened(zone, now) })
			case 5:
				m.call("door closed", zone, func() error { return m.tr.DoorClosed(zone, now) })
			case 6:
				m.call("tick", "", func() error { m.tr.Tick(now); return nil })
			case 7:
				tags := fuzzTags[:int(op>>3)%5]
				if op>>7 == 1 {
					tags = append(tags, "")
				}
				m.restore(zone, tags)
			}
			m.checkSnapshots()
		}

		// Close the doors, let the settle time pass, end enough rounds for
		// every pending tag to be decided, and let every window run out,
		// all after the latest time the tracker has seen.
		now = latest.Add(time.Second)
		for _, z := range []string{"cab", "tcab"} {
			m.call("door closed", z, func() error { return m.tr.DoorClosed(z, now) })
		}
		now = now.Add(cfg.RescanSettle)
		for range max(cfg.RescanRounds, 0) + cfg.ConfirmRounds + 3 {
			now = now.Add(roundLen)
			m.call("end round", "cab", func() error { return m.tr.EndRound("cab", now) })
			m.call("tick", "", func() error { m.tr.Tick(now); return nil })
		}
		now = now.Add(cfg.PortalWindow + cfg.DedupWindow + time.Second)
		m.call("tick", "", func() error { m.tr.Tick(now); return nil })
		m.checkSnapshots()
		if len(m.uncovered) > 0 {
			var keys []string
			for k := range m.uncovered {
				keys = append(keys, strings.ReplaceAll(k, "\x00", " "))
			}
			slices.Sort(keys)
			t.Fatalf("reads that never gave an event: %v", keys)
		}
	})
}

// fuzzModel is what FuzzTracker expects of the tracker.
type fuzzModel struct {
	t      *testing.T
	tr     *Tracker
	cfg    Config
	placed map[string]map[string]bool // zone → present tags
	// uncovered holds "zone-or-portal\x00tag" for reads not yet followed by
	// an event for that tag there.
	uncovered map[string]bool
	batch     []Event
	op        string
}

func (m *fuzzModel) init(t *testing.T, cfg Config) {
	m.t, m.cfg = t, cfg
	m.placed = map[string]map[string]bool{"cab": {}, "tcab": {}}
	m.uncovered = map[string]bool{}
	tr, err := New(cfg, m.emit)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	m.tr = tr
}

// where is the key under which reads in zone are covered.
func (m *fuzzModel) where(zone string) string {
	if zc := m.cfg.Zones[zone]; zc.Role == RolePortal {
		return "portal " + zc.Portal
	}
	return zone
}

func (m *fuzzModel) emit(ev Event) {
	t := m.t
	zc, ok := m.cfg.Zones[ev.Zone]
	if !ok || ev.Tag == "" || ev.Kind < Placed || ev.Kind > PortalOut || ev.Time.IsZero() {
		t.Fatalf("%s: malformed event %+v", m.op, ev)
	}
	if (zc.Role == RolePortal) != (ev.Portal != "") || (ev.Portal != "" && ev.Portal != zc.Portal) {
		t.Fatalf("%s: event %+v: Portal does not match zone", m.op, ev)
	}
	switch ev.Kind {
	case Placed, Removed:
		if zc.Role != RoleCabinet {
			t.Fatalf("%s: %s in a %s zone", m.op, ev.Kind, zc.Role)
		}
		if ev.Kind == Placed {
			if m.placed[ev.Zone][ev.Tag] {
				t.Fatalf("%s: %s placed twice in %s", m.op, ev.Tag, ev.Zone)
			}
			m.placed[ev.Zone][ev.Tag] = true
		} else {
			if !m.placed[ev.Zone][ev.Tag] {
				t.Fatalf("%s: %s removed from %s where it was not placed", m.op, ev.Tag, ev.Zone)
			}
			if ev.Rounds != m.cfg.MissRounds {
				t.Fatalf("%s: removed after %d rounds, MissRounds %d", m.op, ev.Rounds, m.cfg.MissRounds)
			}
			delete(m.placed[ev.Zone], ev.Tag)
		}
	case PortalIn, PortalOut:
		if zc.Role != RolePortal || (ev.Kind == PortalIn) != (zc.Side == Inner) {
			t.Fatalf("%s: %s reported in zone %s", m.op, ev.Kind, ev.Zone)
		}
	}
	delete(m.uncovered, m.where(ev.Zone)+"\x00"+ev.Tag)
	m.batch = append(m.batch, ev)
}

// call runs one tracker call and checks its error and its events.
func (m *fuzzModel) call(op, zone string, fn func() error) {
	m.op, m.batch = op, m.batch[:0]
	err := fn()
	if !slices.IsSortedFunc(m.batch, compareEvents) {
		m.t.Fatalf("%s: events out of order: %s", op, brief(m.batch))
	}
	if err == nil {
		return
	}
	var e *Error
	if !errors.As(err, &e) || e.Zone != zone {
		m.t.Fatalf("%s %s: error %v is not an *Error for the zone", op, zone, err)
	}
	zc, known := m.cfg.Zones[zone]
	switch {
	case errors.Is(err, ErrUnknownZone):
		if known {
			m.t.Fatalf("%s: ErrUnknownZone for %s", op, zone)
		}
	case errors.Is(err, ErrRole):
		if !known || zc.Role == RoleCabinet {
			m.t.Fatalf("%s: ErrRole for %s", op, zone)
		}
	case errors.Is(err, ErrEmptyTag):
	default:
		m.t.Fatalf("%s: unexpected error %v", op, err)
	}
}

// observe takes a read. The read is owed an event for its tag and zone
// (or portal) unless the tag is present in the cabinet already or the read
// joined a sighting whose earlier reads were owed or given one.
func (m *fuzzModel) observe(r Read) {
	key := m.where(r.Zone) + "\x00" + r.Tag
	owed := m.uncovered[key]
	m.uncovered[key] = true
	var err error
	m.call("observe", r.Zone, func() error { err = m.tr.Observe(r); return err })
	if err != nil {
		if r.Tag != "" && m.cfg.Zones[r.Zone].Role != 0 {
			m.t.Fatalf("Observe(%+v): %v", r, err)
		}
		m.setOwed(key, owed)
		return
	}
	if !m.uncovered[key] {
		return // an event in this call
	}
	if m.placed[r.Zone][r.Tag] {
		// Present already: its Placed (or Restore) covers the read.
		m.setOwed(key, owed)
		return
	}
	if m.tr.readsOf(r.Zone, r.Tag) > 1 {
		m.setOwed(key, owed) // joined a sighting: owed what it was owed
	}
}

func (m *fuzzModel) setOwed(key string, owed bool) {
	if owed {
		m.uncovered[key] = true
	} else {
		delete(m.uncovered, key)
	}
}

func (m *fuzzModel) restore(zone string, tags []string) {
	var err error
	m.call("restore", zone, func() error { err = m.tr.Restore(zone, tags); return err })
	if err != nil {
		return
	}
	for _, tag := range tags {
		m.placed[zone][tag] = true
		delete(m.uncovered, zone+"\x00"+tag)
	}
}

func (m *fuzzModel) checkSnapshots() {
	for _, zone := range []string{"cab", "tcab"} {
		got, err := m.tr.Snapshot(zone)
		if err != nil {
			m.t.Fatal(err)
		}
		var want []string
		for tag := range m.placed[zone] {
			want = append(want, tag)
		}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			m.t.Fatalf("after %s: Snapshot(%s) = %v, want %v", m.op, zone, got, want)
		}
	}
}
