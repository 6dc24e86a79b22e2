package presence

import (
	"runtime"
	"strconv"
	"testing"
	"time"
)

// TestPortalMemoryBounded drives 200,000 distinct tags through a portal,
// one every 20 ms, each read three times outside and three times inside
// over one second. The tracker may hold only the passes of tags within
// PortalWindow + DedupWindow (plus one sweep interval) of their first
// read: about 410 at this rate, whatever the number of tags that passed.
func TestPortalMemoryBounded(t *testing.T) {
	const (
		step  = 20 * time.Millisecond
		total = 200_000
		// Passes alive at once: (5 s + 2 s + 1.25 s sweep) / 20 ms.
		bound = int((DefaultPortalWindow+DefaultDedupWindow+DefaultDedupWindow/4)/step) + 10
	)
	if testing.Short() {
		t.Skip("long simulation")
	}
	var ins, others int
	tr, err := New(Config{Zones: testZones()}, func(ev Event) {
		if ev.Kind == PortalIn {
			ins++
		} else {
			others++
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	// Read k (of the schedule) of tag n happens at step n + sched[k].step.
	sched := []struct {
		step int
		zone string
	}{{0, "door/out"}, {5, "door/out"}, {10, "door/out"}, {30, "door/in"}, {40, "door/in"}, {50, "door/in"}}
	tag := func(n int) string { return "urn:epc:tag:sgtin-96:3.0950600.013435." + strconv.Itoa(n) }
	var heapAt20k uint64
	maxInUse := 0
	for s := 0; s < total+60; s++ {
		now := t0.Add(time.Duration(s) * step)
		for _, k := range sched {
			n := s - k.step
			if n < 0 || n >= total {
				continue
			}
			if err := tr.Observe(Read{Tag: tag(n), Reader: "p1", Antenna: 1, Zone: k.zone, RSSI: -60, Time: now}); err != nil {
				t.Fatal(err)
			}
		}
		if s%50 == 0 {
			tr.Tick(now)
		}
		inUse, free := tr.live()
		maxInUse = max(maxInUse, inUse)
		if inUse > bound || free > maxFree {
			t.Fatalf("step %d: %d passes held, %d free; bound %d", s, inUse, free, bound)
		}
		if s == 20_000 {
			heapAt20k = heapInUse()
		}
	}
	heapEnd := heapInUse()
	tr.Tick(t0.Add(time.Duration(total+60)*step + time.Minute))
	if inUse, _ := tr.live(); inUse != 0 {
		t.Fatalf("%d passes held after all windows ended", inUse)
	}
	if ins != total || others != 0 {
		t.Fatalf("%d PortalIn and %d other events, want %d PortalIn", ins, others, total)
	}
	growth := int64(heapEnd) - int64(heapAt20k)
	t.Logf("at most %d passes held (bound %d); heap %d KiB after 20,000 tags, %d KiB after %d",
		maxInUse, bound, heapAt20k>>10, heapEnd>>10, total)
	if growth > 1<<20 {
		t.Fatalf("heap grew by %d KiB between 20,000 and %d tags", growth>>10, total)
	}
}

// TestBurstShrinks checks that the room taken by a burst of tags is given
// back once they are gone: 20,000 tags at once on an OR table, then none.
func TestBurstShrinks(t *testing.T) {
	tr, rec := newTracker(t, Config{})
	for i := range 20_000 {
		observe(t, tr, "burst-"+strconv.Itoa(i), "or", at(ms(i/100)))
	}
	if n := len(rec.take()); n != 20_000 {
		t.Fatalf("%d Seen, want 20000", n)
	}
	observe(t, tr, "stays", "or", at(sec(2.1)))
	tr.Tick(at(sec(2.3)))
	z := tr.zones["or"]
	if len(z.tags) != 1 || z.peak > 1 {
		t.Fatalf("after the burst: %d entries, peak %d: map not rebuilt", len(z.tags), z.peak)
	}
	if _, free := tr.live(); free > maxFree {
		t.Fatalf("%d entries kept for reuse", free)
	}
}

// TestObserveAllocs checks that the steady state allocates nothing: reads
// of tags already tracked, in every kind of zone, round ends, and the
// events they give.
func TestObserveAllocs(t *testing.T) {
	placedRemoved := 0
	tr, err := New(Config{Zones: testZones(), MissRounds: 3}, func(ev Event) {
		if ev.Kind == Placed || ev.Kind == Removed {
			placedRemoved++
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	tags := make([]string, 100)
	for i := range tags {
		tags[i] = "tag-" + strconv.Itoa(i)
	}
	now := t0
	n := 0
	round := func() {
		n++
		for i, tag := range tags {
			now = now.Add(time.Millisecond)
			switch {
			case i < 10:
				// Placed for five rounds, then taken out and removed.
				if n%10 < 5 {
					tr.Observe(Read{Tag: tag, Zone: "cab", RSSI: -50, Time: now})
				}
			case (i+n)%7 != 0: // missed now and then
				tr.Observe(Read{Tag: tag, Zone: "cab", RSSI: -50, Time: now})
			}
			tr.Observe(Read{Tag: tag, Zone: "enc", RSSI: -50, Time: now})
			tr.Observe(Read{Tag: tag, Zone: "door/out", RSSI: -50, Time: now})
		}
		tr.EndRound("cab", now)
		tr.Tick(now)
	}
	for range 10 {
		round()
	}
	before := placedRemoved
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	for range 100 {
		round()
	}
	runtime.ReadMemStats(&m1)
	if got := m1.Mallocs - m0.Mallocs; got != 0 {
		t.Fatalf("%d allocations in 100 rounds of 300 reads, want 0", got)
	}
	if placedRemoved-before < 2*10*10 {
		t.Fatalf("%d Placed and Removed in the measured rounds, want 200", placedRemoved-before)
	}
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
