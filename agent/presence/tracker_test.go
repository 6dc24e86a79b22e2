package presence

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	ok := testZones()
	with := func(name string, zc ZoneConfig) map[string]ZoneConfig {
		z := testZones()
		z[name] = zc
		return z
	}
	without := func(name string) map[string]ZoneConfig {
		z := testZones()
		delete(z, name)
		return z
	}
	tests := []struct {
		name string
		cfg  Config
		key  string // "" for valid
	}{
		{"defaults", Config{Zones: ok}, ""},
		{"none markers", Config{Zones: ok, RescanRounds: NoRescan, BaselineRounds: NoBaseline}, ""},
		{"no zones", Config{}, "Zones"},
		{"negative dedup", Config{Zones: ok, DedupWindow: -time.Second}, "DedupWindow"},
		{"negative portal window", Config{Zones: ok, PortalWindow: -1}, "PortalWindow"},
		{"negative settle", Config{Zones: ok, RescanSettle: -1}, "RescanSettle"},
		{"negative miss", Config{Zones: ok, MissRounds: -1}, "MissRounds"},
		{"negative confirm", Config{Zones: ok, ConfirmRounds: -2}, "ConfirmRounds"},
		{"rescan below none", Config{Zones: ok, RescanRounds: -2}, "RescanRounds"},
		{"baseline below none", Config{Zones: ok, BaselineRounds: -2}, "BaselineRounds"},
		{"empty zone name", Config{Zones: with("", ZoneConfig{Role: RoleCabinet})}, `Zones[""]`},
		{"role unset", Config{Zones: with("x", ZoneConfig{})}, `Zones["x"].Role`},
		{"role unknown", Config{Zones: with("x", ZoneConfig{Role: 9})}, `Zones["x"].Role`},
		{"round length on portal", Config{Zones: with("door/in", ZoneConfig{Role: RolePortal, Portal: "door", Side: Inner, RoundLength: time.Second})}, `Zones["door/in"].RoundLength`},
		{"negative round length", Config{Zones: with("cab", ZoneConfig{Role: RoleCabinet, RoundLength: -1})}, `Zones["cab"].RoundLength`},
		{"portal on cabinet", Config{Zones: with("cab", ZoneConfig{Role: RoleCabinet, Portal: "door"})}, `Zones["cab"].Portal`},
		{"portal unnamed", Config{Zones: with("door/in", ZoneConfig{Role: RolePortal, Side: Inner})}, `Zones["door/in"].Portal`},
		{"side unset", Config{Zones: with("door/in", ZoneConfig{Role: RolePortal, Portal: "door"})}, `Zones["door/in"].Side`},
		{"side unknown", Config{Zones: with("door/in", ZoneConfig{Role: RolePortal, Portal: "door", Side: 7})}, `Zones["door/in"].Side`},
		{"two outer sides", Config{Zones: with("door/in", ZoneConfig{Role: RolePortal, Portal: "door", Side: Outer})}, `Zones["door/out"].Side`},
		{"missing inner", Config{Zones: without("door/in")}, "Zones"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.key == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				if _, err := New(tc.cfg, func(Event) {}); err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			var ce *ConfigError
			if !errors.As(err, &ce) || !errors.Is(err, ErrConfig) {
				t.Fatalf("Validate = %v, want a *ConfigError", err)
			}
			if ce.Key != tc.key {
				t.Fatalf("Key = %q, want %q (%v)", ce.Key, tc.key, err)
			}
			if _, err := New(tc.cfg, func(Event) {}); !errors.Is(err, ErrConfig) {
				t.Fatalf("New = %v, want ErrConfig", err)
			}
		})
	}
	if _, err := New(Config{Zones: ok}, nil); !errors.Is(err, ErrConfig) {
		t.Fatalf("New without emit = %v, want ErrConfig", err)
	}
}

func TestErrors(t *testing.T) {
	tr, rec := newTracker(t, Config{})
	tests := []struct {
		name string
		err  error
		want error
		op   string
	}{
		{"observe unknown zone", tr.Observe(Read{Tag: "a", Zone: "nowhere", Time: t0}), ErrUnknownZone, "observe"},
		{"observe empty tag", tr.Observe(Read{Zone: "cab", Time: t0}), ErrEmptyTag, "observe"},
		{"end round unknown", tr.EndRound("nowhere", t0), ErrUnknownZone, "end round"},
		{"end round portal", tr.EndRound("door/in", t0), ErrRole, "end round"},
		{"door opened station", tr.DoorOpened("enc", t0), ErrRole, "door opened"},
		{"door closed station", tr.DoorClosed("or", t0), ErrRole, "door closed"},
		{"restore portal", tr.Restore("door/out", []string{"a"}), ErrRole, "restore"},
		{"restore empty tag", tr.Restore("cab", []string{"a", ""}), ErrEmptyTag, "restore"},
		{"snapshot portal", func() error { _, err := tr.Snapshot("door/in"); return err }(), ErrRole, "snapshot"},
		{"snapshot unknown", func() error { _, err := tr.Snapshot("x"); return err }(), ErrUnknownZone, "snapshot"},
		{"sightings unknown", func() error { _, err := tr.Sightings("x"); return err }(), ErrUnknownZone, "sightings"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var e *Error
			if !errors.As(tc.err, &e) || !errors.Is(tc.err, tc.want) {
				t.Fatalf("err = %v, want *Error wrapping %v", tc.err, tc.want)
			}
			if e.Op != tc.op {
				t.Fatalf("Op = %q, want %q", e.Op, tc.op)
			}
			if !strings.HasPrefix(e.Error(), "presence: "+tc.op+": zone ") {
				t.Fatalf("message %q", e.Error())
			}
		})
	}
	if got := snapshot(t, tr, "cab"); got != "" {
		t.Fatalf("a failed Restore changed the inventory: %q", got)
	}
	if len(rec.events) != 0 {
		t.Fatalf("failed calls emitted %s", brief(rec.events))
	}
}

func TestStationDedup(t *testing.T) {
	tests := []struct {
		name   string
		window time.Duration
		reads  []time.Duration // read times of one tag at the encoder
		seen   []time.Duration // times of the Seen events
		reads0 int             // Reads of the open sighting at the end
	}{
		{"one read", 0, []time.Duration{0}, []time.Duration{0}, 1},
		{"burst collapses", 0, []time.Duration{0, ms(100), ms(900), ms(1500)}, []time.Duration{0}, 4},
		{"exactly the window apart", 0, []time.Duration{0, sec(2)}, []time.Duration{0}, 2},
		{"just over the window", 0, []time.Duration{0, sec(2) + 1}, []time.Duration{0, sec(2) + 1}, 1},
		{"window slides with reads", 0, []time.Duration{0, sec(1.5), sec(3), sec(4.5), sec(6)}, []time.Duration{0}, 5},
		{"gap starts a new sighting", 0, []time.Duration{0, sec(1), sec(5), sec(5.5)}, []time.Duration{0, sec(5)}, 2},
		{"short window", ms(500), []time.Duration{0, ms(400), ms(1000)}, []time.Duration{0, ms(1000)}, 1},
		{"out of order read", 0, []time.Duration{sec(1), 0, sec(2)}, []time.Duration{sec(1)}, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr, rec := newTracker(t, Config{DedupWindow: tc.window})
			for i, d := range tc.reads {
				err := tr.Observe(Read{Tag: "T1", Reader: "enc-r", Antenna: 2, Zone: "enc", RSSI: -70 + i, Time: at(d)})
				if err != nil {
					t.Fatal(err)
				}
			}
			evs := rec.take()
			if len(evs) != len(tc.seen) {
				t.Fatalf("events %s, want %d Seen", brief(evs), len(tc.seen))
			}
			for i, ev := range evs {
				if ev.Kind != Seen || ev.Zone != "enc" || ev.Tag != "T1" || !ev.Time.Equal(at(tc.seen[i])) {
					t.Fatalf("event %d = %+v, want Seen at %v", i, ev, tc.seen[i])
				}
				if ev.Reader != "enc-r" || ev.Antenna != 2 || ev.Reads != 1 {
					t.Fatalf("event %d sighting = %+v", i, ev)
				}
			}
			ss, err := tr.Sightings("enc")
			if err != nil {
				t.Fatal(err)
			}
			if len(ss) != 1 || ss[0].Reads != tc.reads0 {
				t.Fatalf("Sightings = %+v, want one with %d reads", ss, tc.reads0)
			}
			if ss[0].RSSI != -70+len(tc.reads)-1 && tc.reads0 == len(tc.reads) {
				t.Fatalf("max RSSI = %d", ss[0].RSSI)
			}
			if got := snapshot(t, tr, "enc"); got != "T1" {
				t.Fatalf("Snapshot = %q", got)
			}
			// After the window the sighting is forgotten.
			last := tc.reads[len(tc.reads)-1]
			w := tc.window
			if w == 0 {
				w = DefaultDedupWindow
			}
			tr.Tick(at(max(last, tc.reads[0]) + w + 1))
			if got := snapshot(t, tr, "enc"); got != "" {
				t.Fatalf("Snapshot after expiry = %q", got)
			}
			if in, _ := tr.live(); in != 0 {
				t.Fatalf("%d entries after expiry", in)
			}
		})
	}
}

// TestStationSightings checks the fields of a sighting: count, strongest
// RSSI with its reader and antenna, first and last time.
func TestStationSightings(t *testing.T) {
	tr, rec := newTracker(t, Config{})
	reads := []Read{
		{Tag: "B", Reader: "r1", Antenna: 1, Zone: "or", RSSI: -60, Time: at(ms(10))},
		{Tag: "A", Reader: "r1", Antenna: 1, Zone: "or", RSSI: -70, Time: at(ms(20))},
		{Tag: "A", Reader: "r1", Antenna: 2, Zone: "or", RSSI: -50, Time: at(ms(30))},
		{Tag: "A", Reader: "r1", Antenna: 1, Zone: "or", RSSI: -55, Time: at(ms(40))},
	}
	for _, r := range reads {
		if err := tr.Observe(r); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := brief(rec.take()), "seen B or; seen A or"; got != want {
		t.Fatalf("events %q, want %q", got, want)
	}
	ss, _ := tr.Sightings("or")
	want := []Sighting{
		{Tag: "A", Zone: "or", First: at(ms(20)), Last: at(ms(40)), Reads: 3, RSSI: -50, Reader: "r1", Antenna: 2},
		{Tag: "B", Zone: "or", First: at(ms(10)), Last: at(ms(10)), Reads: 1, RSSI: -60, Reader: "r1", Antenna: 1},
	}
	if len(ss) != 2 || ss[0] != want[0] || ss[1] != want[1] {
		t.Fatalf("Sightings = %+v\nwant %+v", ss, want)
	}
}

func TestPlacement(t *testing.T) {
	tests := []struct {
		name    string
		confirm int
		rounds  []string // tags read in each round, comma separated
		want    []string // events after each round
	}{
		{"placed after one round", 1, []string{"a,b", ""}, []string{"placed a cab; placed b cab", ""}},
		{"placed later", 1, []string{"a", "a,b", "a,b"}, []string{"placed a cab", "placed b cab", ""}},
		{"confirm two", 2, []string{"a", "a", "a"}, []string{"", "placed a cab", ""}},
		{"confirm two, broken", 2, []string{"a", "", "a", "a"}, []string{"", "seen a cab", "", "placed a cab"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr, rec := newTracker(t, Config{ConfirmRounds: tc.confirm})
			now := time.Duration(0)
			for i, round := range tc.rounds {
				for _, tag := range strings.Split(round, ",") {
					if tag != "" {
						observe(t, tr, tag, "cab", at(now+ms(10)))
					}
				}
				now += sec(1)
				endRound(t, tr, "cab", at(now))
				if got := brief(rec.take()); got != tc.want[i] {
					t.Fatalf("round %d: events %q, want %q", i+1, got, tc.want[i])
				}
			}
		})
	}
}

// TestPlacedEvent checks the fields of Placed and Removed events.
func TestPlacedEvent(t *testing.T) {
	tr, rec := newTracker(t, Config{MissRounds: 2, BaselineRounds: 1})
	observe(t, tr, "a", "cab", at(ms(100)))
	tr.Observe(Read{Tag: "a", Reader: "r2", Antenna: 3, Zone: "cab", RSSI: -40, Time: at(ms(200))})
	endRound(t, tr, "cab", at(sec(1)))
	observe(t, tr, "b", "cab", at(sec(1.5)))
	endRound(t, tr, "cab", at(sec(2)))
	evs := rec.take()
	want := []Event{
		{Kind: Placed, Tag: "a", Zone: "cab", Time: at(sec(1)), Rounds: 1, Baseline: true,
			First: at(ms(100)), Last: at(ms(200)), Reads: 2, RSSI: -40, Reader: "r2", Antenna: 3},
		{Kind: Placed, Tag: "b", Zone: "cab", Time: at(sec(2)), Rounds: 1,
			First: at(sec(1.5)), Last: at(sec(1.5)), Reads: 1, RSSI: -60, Reader: "r1", Antenna: 1},
	}
	if len(evs) != 2 || evs[0] != want[0] || evs[1] != want[1] {
		t.Fatalf("events\n%+v\nwant\n%+v", evs, want)
	}
	// a was missed in round 2; missed again in round 3, it is removed.
	observe(t, tr, "b", "cab", at(sec(2.5)))
	endRound(t, tr, "cab", at(sec(3)))
	evs = rec.take()
	if brief(evs) != "removed a cab" {
		t.Fatalf("events %s", brief(evs))
	}
	if ev := evs[0]; ev.Rounds != 2 || !ev.Time.Equal(at(sec(3))) || !ev.Last.Equal(at(ms(200))) || ev.Reads != 2 {
		t.Fatalf("Removed = %+v", ev)
	}
	if got := snapshot(t, tr, "cab"); got != "b" {
		t.Fatalf("Snapshot = %q", got)
	}
}

func TestRemovalAfterExactlyMissRounds(t *testing.T) {
	for _, miss := range []int{1, 2, 3, 4, 8, 12} {
		t.Run("", func(t *testing.T) {
			tr, rec := newTracker(t, Config{MissRounds: miss})
			observe(t, tr, "a", "cab", at(0))
			observe(t, tr, "keep", "cab", at(0))
			endRound(t, tr, "cab", at(sec(1)))
			rec.take()
			// Missed miss-1 times, read once: the count starts again.
			round := 1
			end := func() string {
				round++
				observe(t, tr, "keep", "cab", at(sec(float64(round))-ms(500)))
				endRound(t, tr, "cab", at(sec(float64(round))))
				return brief(rec.take())
			}
			for i := 1; i < miss; i++ {
				if got := end(); got != "" {
					t.Fatalf("miss %d of %d: %q", i, miss, got)
				}
			}
			// Read in the next round: it is not missed.
			observe(t, tr, "a", "cab", at(sec(float64(round))+ms(10)))
			if got := end(); got != "" {
				t.Fatalf("read round: %q", got)
			}
			for i := 1; i < miss; i++ {
				if got := end(); got != "" {
					t.Fatalf("after a read, miss %d of %d: %q", i, miss, got)
				}
			}
			if got := end(); got != "removed a cab" {
				t.Fatalf("after %d misses: %q, want removed", miss, got)
			}
			if got := snapshot(t, tr, "cab"); got != "keep" {
				t.Fatalf("Snapshot = %q", got)
			}
		})
	}
}

// TestDoor checks that rounds do not count while the door is open, during
// the round in which it closed, and for RescanRounds rounds after.
func TestDoor(t *testing.T) {
	const miss = 3
	tests := []struct {
		name   string
		rescan int
		settle time.Duration
		// counted after close: the first round after the close that counts
		// (1 is the round in which the door closed).
		firstCounted int
	}{
		{"default rescan", 0, 0, 3},
		{"no rescan", NoRescan, 0, 2},
		{"two rescans", 2, 0, 4},
		{"settle 1.5 rounds", NoRescan, sec(1.5), 3},
		{"settle and rescan", 1, sec(1.5), 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr, rec := newTracker(t, Config{MissRounds: miss, RescanRounds: tc.rescan, RescanSettle: tc.settle})
			observe(t, tr, "gone", "cab", at(ms(100)))
			endRound(t, tr, "cab", at(sec(1)))
			if got := brief(rec.take()); got != "placed gone cab" {
				t.Fatalf("%q", got)
			}
			// The door opens mid-round; 10 rounds pass with it open and no
			// reads: nothing may be removed. An item is put in.
			if err := tr.DoorOpened("cab", at(sec(1.5))); err != nil {
				t.Fatal(err)
			}
			now := 1
			for ; now < 12; now++ {
				observe(t, tr, "new", "cab", at(sec(float64(now))+ms(200)))
				endRound(t, tr, "cab", at(sec(float64(now+1))))
			}
			if got := brief(rec.take()); got != "" {
				t.Fatalf("door open: %q", got)
			}
			// Closed mid-round.
			if err := tr.DoorClosed("cab", at(sec(float64(now))+ms(500))); err != nil {
				t.Fatal(err)
			}
			for r := 1; r <= tc.firstCounted+miss; r++ {
				observe(t, tr, "new", "cab", at(sec(float64(now))+ms(600)))
				now++
				endRound(t, tr, "cab", at(sec(float64(now))))
				got := brief(rec.take())
				want := ""
				switch {
				case r == tc.firstCounted:
					want = "placed new cab"
				case r == tc.firstCounted+miss-1:
					want = "removed gone cab"
				}
				if got != want {
					t.Fatalf("round %d after close: %q, want %q", r, got, want)
				}
			}
		})
	}
}

func TestDoorIdempotent(t *testing.T) {
	tr, rec := newTracker(t, Config{MissRounds: 1, RescanRounds: NoRescan})
	observe(t, tr, "a", "cab", at(ms(1)))
	endRound(t, tr, "cab", at(sec(1)))
	rec.take()
	// Closing a closed door starts no rescan.
	if err := tr.DoorClosed("cab", at(sec(1.1))); err != nil {
		t.Fatal(err)
	}
	endRound(t, tr, "cab", at(sec(2)))
	if got := brief(rec.take()); got != "removed a cab" {
		t.Fatalf("%q", got)
	}
	// Opening twice, closing once, closes.
	tr.DoorOpened("cab", at(sec(2.1)))
	tr.DoorOpened("cab", at(sec(2.2)))
	tr.DoorClosed("cab", at(sec(2.3)))
	observe(t, tr, "b", "cab", at(sec(2.4)))
	endRound(t, tr, "cab", at(sec(3)))
	observe(t, tr, "b", "cab", at(sec(3.4)))
	endRound(t, tr, "cab", at(sec(4)))
	if got := brief(rec.take()); got != "placed b cab" {
		t.Fatalf("%q", got)
	}
}

// TestPassingTagIsSeen checks that a tag read only in rounds that do not
// count is reported as Seen, not dropped.
func TestPassingTagIsSeen(t *testing.T) {
	tr, rec := newTracker(t, Config{})
	tr.DoorOpened("cab", at(0))
	observe(t, tr, "walk-by", "cab", at(ms(300)))
	endRound(t, tr, "cab", at(sec(1)))
	tr.DoorClosed("cab", at(sec(1.5)))
	endRound(t, tr, "cab", at(sec(2))) // the round in which it closed
	endRound(t, tr, "cab", at(sec(3))) // rescan
	if got := brief(rec.take()); got != "" {
		t.Fatalf("%q", got)
	}
	endRound(t, tr, "cab", at(sec(4)))
	evs := rec.take()
	if brief(evs) != "seen walk-by cab" || evs[0].Rounds != 0 || evs[0].Reads != 1 {
		t.Fatalf("%+v", evs)
	}
	if in, _ := tr.live(); in != 0 {
		t.Fatalf("%d entries left", in)
	}
}

func TestBaseline(t *testing.T) {
	tr, rec := newTracker(t, Config{MissRounds: 3})
	for r := 1; r <= 5; r++ {
		observe(t, tr, "t"+string(rune('0'+r)), "cab", at(sec(float64(r))-ms(500)))
		endRound(t, tr, "cab", at(sec(float64(r))))
	}
	for i, ev := range rec.take() {
		if want := i < 3; ev.Baseline != want {
			t.Fatalf("round %d: Baseline = %v, want %v", i+1, ev.Baseline, want)
		}
	}
	// NoBaseline: never.
	tr, rec = newTracker(t, Config{BaselineRounds: NoBaseline})
	observe(t, tr, "x", "cab", at(ms(1)))
	endRound(t, tr, "cab", at(sec(1)))
	if evs := rec.take(); len(evs) != 1 || evs[0].Baseline {
		t.Fatalf("%+v", evs)
	}
}

func TestRestore(t *testing.T) {
	tr, rec := newTracker(t, Config{MissRounds: 2})
	if err := tr.Restore("cab", []string{"a", "b", "c"}); err != nil {
		t.Fatal(err)
	}
	if got := snapshot(t, tr, "cab"); got != "a,b,c" {
		t.Fatalf("Snapshot = %q", got)
	}
	for r := 1; r <= 2; r++ {
		observe(t, tr, "a", "cab", at(sec(float64(r))-ms(600)))
		observe(t, tr, "b", "cab", at(sec(float64(r))-ms(500)))
		observe(t, tr, "new", "cab", at(sec(float64(r))-ms(400)))
		endRound(t, tr, "cab", at(sec(float64(r))))
	}
	evs := rec.take()
	if brief(evs) != "placed new cab; removed c cab" {
		t.Fatalf("%s", brief(evs))
	}
	if c := evs[1]; c.Reads != 0 || !c.Last.IsZero() || c.Rounds != 2 {
		t.Fatalf("restored removal %+v", c)
	}
	if got := snapshot(t, tr, "cab"); got != "a,b,new" {
		t.Fatalf("Snapshot = %q", got)
	}
}

func TestTimedRounds(t *testing.T) {
	zones := testZones()
	zones["cab"] = ZoneConfig{Role: RoleCabinet, RoundLength: sec(2)}
	tr, rec := newTracker(t, Config{Zones: zones, MissRounds: 2})
	tr.Tick(at(0)) // rounds start at [0,2) [2,4) ...
	observe(t, tr, "a", "cab", at(sec(0.5)))
	observe(t, tr, "b", "cab", at(sec(1)))
	observe(t, tr, "b", "cab", at(sec(2.5))) // ends round 1 first
	if got := brief(rec.take()); got != "placed a cab; placed b cab" {
		t.Fatalf("%q", got)
	}
	if evs := rec.events; len(evs) != 0 {
		t.Fatal(evs)
	}
	tr.Tick(at(sec(4))) // round 2: a missed
	observe(t, tr, "b", "cab", at(sec(5)))
	tr.Tick(at(sec(5.9)))
	if got := brief(rec.take()); got != "" {
		t.Fatalf("%q", got)
	}
	tr.Tick(at(sec(6))) // round 3: a missed again
	evs := rec.take()
	if brief(evs) != "removed a cab" || !evs[0].Time.Equal(at(sec(6))) {
		t.Fatalf("%+v", evs)
	}
	// An explicit EndRound at the boundary a timed round already ended at
	// is a round of zero length: ignored.
	observe(t, tr, "b", "cab", at(sec(7)))
	endRound(t, tr, "cab", at(sec(8)))
	endRound(t, tr, "cab", at(sec(8)))
	tr.Tick(at(sec(8)))
	// A long gap with no call at all is one round, not many.
	tr.Tick(at(sec(60)))
	if got := brief(rec.take()); got != "" {
		t.Fatalf("after a gap: %q", got)
	}
	if got := snapshot(t, tr, "cab"); got != "b" {
		t.Fatalf("Snapshot = %q", got)
	}
}

func TestPortal(t *testing.T) {
	type rd struct {
		zone string
		t    time.Duration
	}
	tests := []struct {
		name  string
		reads []rd
		want  string
		when  time.Duration // Time of the event
	}{
		{"in", []rd{{"door/out", 0}, {"door/out", ms(300)}, {"door/in", ms(800)}, {"door/out", ms(900)}, {"door/in", sec(1)}},
			"portal-in T door/in", ms(800)},
		{"out", []rd{{"door/in", 0}, {"door/out", sec(1)}, {"door/in", sec(1.1)}},
			"portal-out T door/out", sec(1)},
		{"outer only", []rd{{"door/out", 0}, {"door/out", sec(1)}},
			"seen T door/out", sec(5)},
		{"inner only", []rd{{"door/in", ms(10)}},
			"seen T door/in", sec(5) + ms(10)},
		{"second side at the end of the window", []rd{{"door/out", 0}, {"door/in", sec(5) - 1}},
			"portal-in T door/in", sec(5) - 1},
		{"reads out of order", []rd{{"door/in", sec(1)}, {"door/out", ms(500)}},
			"portal-in T door/in", sec(1)},
		{"lingers outside, then goes in", []rd{{"door/out", 0}, {"door/out", sec(2)}, {"door/out", sec(4)}, {"door/out", sec(6)}, {"door/in", sec(7)}},
			"seen T door/out; portal-in T door/in", sec(7)},
		{"two passes", []rd{{"door/out", 0}, {"door/in", sec(1)}, {"door/in", sec(20)}, {"door/out", sec(21)}},
			"portal-in T door/in; portal-out T door/out", sec(21)},
		{"gap ends a pass", []rd{{"door/out", 0}, {"door/in", sec(8)}},
			"seen T door/out; seen T door/in", sec(13)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr, rec := newTracker(t, Config{})
			for _, r := range tc.reads {
				observe(t, tr, "T", r.zone, at(r.t))
			}
			tr.Tick(at(sec(60)))
			evs := rec.take()
			if got := brief(evs); got != tc.want {
				t.Fatalf("events %q, want %q", got, tc.want)
			}
			last := evs[len(evs)-1]
			if !last.Time.Equal(at(tc.when)) || last.Portal != "door" {
				t.Fatalf("last event %+v, want Time %v", last, tc.when)
			}
			if in, _ := tr.live(); in != 0 {
				t.Fatalf("%d passes left", in)
			}
		})
	}
}

func TestPortalEventFields(t *testing.T) {
	tr, rec := newTracker(t, Config{})
	tr.Observe(Read{Tag: "T", Reader: "p", Antenna: 1, Zone: "door/out", RSSI: -65, Time: at(0)})
	tr.Observe(Read{Tag: "T", Reader: "p", Antenna: 1, Zone: "door/out", RSSI: -55, Time: at(ms(100))})
	tr.Observe(Read{Tag: "T", Reader: "p", Antenna: 2, Zone: "door/in", RSSI: -58, Time: at(ms(400))})
	evs := rec.take()
	want := Event{Kind: PortalIn, Tag: "T", Zone: "door/in", Portal: "door", Time: at(ms(400)),
		First: at(0), Last: at(ms(400)), Reads: 3, RSSI: -55, Reader: "p", Antenna: 1}
	if len(evs) != 1 || evs[0] != want {
		t.Fatalf("%+v\nwant %+v", evs, want)
	}
	ss, _ := tr.Sightings("door/in")
	if len(ss) != 1 || ss[0].Reads != 1 || ss[0].Zone != "door/in" {
		t.Fatalf("Sightings %+v", ss)
	}
}

// TestEventOrder checks that the events of one call come sorted, whatever
// the order of the tracker's maps.
func TestEventOrder(t *testing.T) {
	for range 5 {
		tr, rec := newTracker(t, Config{})
		for _, tag := range []string{"m", "c", "x", "a", "q"} {
			observe(t, tr, tag, "cab", at(ms(5)))
		}
		endRound(t, tr, "cab", at(sec(1)))
		if got := brief(rec.take()); got != "placed a cab; placed c cab; placed m cab; placed q cab; placed x cab" {
			t.Fatal(got)
		}
	}
}

func TestReentrantEmitPanics(t *testing.T) {
	var tr *Tracker
	tr, _ = New(Config{Zones: testZones()}, func(Event) { tr.Tick(t0) })
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	tr.Observe(Read{Tag: "a", Zone: "enc", Time: t0})
}

func TestKindsAndRolesText(t *testing.T) {
	for k := Placed; k <= PortalOut; k++ {
		b, err := k.MarshalText()
		if err != nil || string(b) != k.String() {
			t.Fatalf("%d: %q %v", k, b, err)
		}
	}
	if _, err := EventKind(0).MarshalText(); err == nil {
		t.Fatal("kind 0 marshalled")
	}
	for r := RoleCabinet; r <= RoleORTable; r++ {
		b, _ := r.MarshalText()
		var back Role
		if err := back.UnmarshalText(b); err != nil || back != r {
			t.Fatalf("role %v: %v", r, err)
		}
	}
	var r Role
	if err := r.UnmarshalText([]byte("shelf")); err == nil {
		t.Fatal("unknown role accepted")
	}
	for s := Outer; s <= Inner; s++ {
		b, _ := s.MarshalText()
		var back Side
		if err := back.UnmarshalText(b); err != nil || back != s {
			t.Fatalf("side %v: %v", s, err)
		}
	}
}
