package presence

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// t0 is the start of every test's clock.
var t0 = time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func sec(n float64) time.Duration { return time.Duration(n * float64(time.Second)) }

// testZones is the zone layout most tests use.
func testZones() map[string]ZoneConfig {
	return map[string]ZoneConfig{
		"cab":      {Role: RoleCabinet},
		"cab2":     {Role: RoleCabinet},
		"door/out": {Role: RolePortal, Portal: "door", Side: Outer},
		"door/in":  {Role: RolePortal, Portal: "door", Side: Inner},
		"enc":      {Role: RoleEncoder},
		"or":       {Role: RoleORTable},
	}
}

// recorder collects events.
type recorder struct {
	events []Event
}

func (r *recorder) emit(ev Event) { r.events = append(r.events, ev) }

// take returns the events recorded since the last take.
func (r *recorder) take() []Event {
	ev := r.events
	r.events = nil
	return ev
}

// brief renders events as "kind tag zone" lines, for comparisons.
func brief(evs []Event) string {
	var b strings.Builder
	for i, ev := range evs {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s %s %s", ev.Kind, ev.Tag, ev.Zone)
	}
	return b.String()
}

func newTracker(tb testing.TB, cfg Config) (*Tracker, *recorder) {
	tb.Helper()
	if cfg.Zones == nil {
		cfg.Zones = testZones()
	}
	rec := &recorder{}
	tr, err := New(cfg, rec.emit)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return tr, rec
}

func observe(tb testing.TB, tr *Tracker, tag, zone string, when time.Time) {
	tb.Helper()
	if err := tr.Observe(Read{Tag: tag, Reader: "r1", Antenna: 1, Zone: zone, RSSI: -60, Time: when}); err != nil {
		tb.Fatalf("Observe(%s, %s): %v", tag, zone, err)
	}
}

func endRound(tb testing.TB, tr *Tracker, zone string, when time.Time) {
	tb.Helper()
	if err := tr.EndRound(zone, when); err != nil {
		tb.Fatalf("EndRound(%s): %v", zone, err)
	}
}

func snapshot(tb testing.TB, tr *Tracker, zone string) string {
	tb.Helper()
	tags, err := tr.Snapshot(zone)
	if err != nil {
		tb.Fatalf("Snapshot(%s): %v", zone, err)
	}
	return strings.Join(tags, ",")
}

// live counts the entries and passes the tracker holds, in use or kept for
// reuse.
func (t *Tracker) live() (inUse, free int) {
	for _, z := range t.zones {
		inUse += len(z.tags)
	}
	for _, p := range t.portals {
		inUse += len(p.passes)
	}
	return inUse, len(t.freeEntries) + len(t.freePasses)
}

// readsOf returns the number of reads in the sighting the tracker holds for
// tag in zone (the portal side's, for a portal zone), 0 if none.
func (t *Tracker) readsOf(zone, tag string) int {
	z := t.zones[zone]
	if z.portal != nil {
		if p := z.portal.passes[tag]; p != nil {
			return p.side[z.side].reads
		}
		return 0
	}
	if e := z.tags[tag]; e != nil {
		return e.reads
	}
	return 0
}
