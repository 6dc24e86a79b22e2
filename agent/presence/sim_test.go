package presence

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// What a cabinet must do, checked on a simulated cabinet: 500 tagged items,
// each of which fails to reply in 10 % of rounds, independently per round
// and per tag; a tag that replies is read one to three times in the round.
//
// With q = 0.1 the chance that a present tag is missed in MissRounds = 8
// consecutive rounds is q^8 = 1e-8. Over 500 tags and 1,000 rounds that
// is at most 500 × 1,000 × 1e-8 = 0.005 expected false removals per run
// (0.0045 counting only runs that start after a read); with MissRounds 7
// it would be 0.05, with 6 0.5, with 4 50. A tag taken out is reported
// after MissRounds rounds, or MissRounds+1 when it was read in the round
// during which it was taken.
const (
	simTags   = 500
	simMiss   = 0.1
	simRound  = 2 * time.Second
	simRounds = 1000
)

var simSeeds = []uint64{1, 7, 42, 2026}

type cabinetSim struct {
	tb    testing.TB
	rng   *rand.Rand
	tr    *Tracker
	rec   *recorder
	tags  []string // every tag, in a fixed order
	index map[string]int
	in    []bool // tags[i] is physically in the cabinet
	taken map[string]time.Time
	round int // rounds ended
	// runs holds each tag's current run of missed rounds, maxRun the
	// longest seen.
	runs   []int
	maxRun int
}

func newCabinetSim(tb testing.TB, seed uint64, cfg Config) *cabinetSim {
	cfg.Zones = map[string]ZoneConfig{"cab": {Role: RoleCabinet}}
	tr, rec := newTracker(tb, cfg)
	s := &cabinetSim{tb: tb, rng: rand.New(rand.NewPCG(seed, 0x5eed)), tr: tr, rec: rec,
		index: map[string]int{}, in: make([]bool, simTags), runs: make([]int, simTags),
		taken: map[string]time.Time{}}
	for i := range simTags {
		tag := simTag(i)
		s.tags = append(s.tags, tag)
		s.index[tag] = i
		s.in[i] = true
	}
	tr.Tick(t0)
	return s
}

func simTag(i int) string { return fmt.Sprintf("(01)09506000134352(21)%06d", i) }

// roundStart is the start time of round n (from 1).
func roundStart(n int) time.Time { return t0.Add(time.Duration(n-1) * simRound) }

// pick returns a tag still in the cabinet, chosen at random.
func (s *cabinetSim) pick() string {
	for {
		if i := s.rng.IntN(len(s.tags)); s.in[i] {
			return s.tags[i]
		}
	}
}

// run simulates one round. takeOut, if set, is a tag taken out at a random
// moment of the round: it can be read only before that moment.
func (s *cabinetSim) run(takeOut string) {
	s.round++
	start := roundStart(s.round)
	var takenAt time.Duration
	if takeOut != "" {
		takenAt = time.Duration(s.rng.Int64N(int64(simRound)))
		s.taken[takeOut] = start.Add(takenAt)
	}
	for i, tag := range s.tags {
		if !s.in[i] {
			continue
		}
		if s.rng.Float64() < simMiss {
			s.runs[i]++
			s.maxRun = max(s.maxRun, s.runs[i])
			continue
		}
		s.runs[i] = 0
		for range 1 + s.rng.IntN(3) {
			off := time.Duration(s.rng.Int64N(int64(simRound)))
			if tag == takeOut && off >= takenAt {
				continue
			}
			err := s.tr.Observe(Read{Tag: tag, Reader: "cab-r", Antenna: 1 + s.rng.IntN(4), Zone: "cab",
				RSSI: -75 + s.rng.IntN(30), Time: start.Add(off)})
			if err != nil {
				s.tb.Fatal(err)
			}
		}
	}
	if takeOut != "" {
		i := s.index[takeOut]
		s.in[i], s.runs[i] = false, 0
	}
	if err := s.tr.EndRound("cab", start.Add(simRound)); err != nil {
		s.tb.Fatal(err)
	}
}

// diff returns how the tracker's inventory differs from the cabinet.
func (s *cabinetSim) diff() (missing, extra int) {
	snap, err := s.tr.Snapshot("cab")
	if err != nil {
		s.tb.Fatal(err)
	}
	seen := make([]bool, len(s.tags))
	for _, tag := range snap {
		i, ok := s.index[tag]
		if !ok || !s.in[i] {
			extra++
			continue
		}
		seen[i] = true
	}
	for i := range s.tags {
		if s.in[i] && !seen[i] {
			missing++
		}
	}
	return missing, extra
}

// TestCabinetConvergence checks the inventory after start-up.
//
// From a cold start nothing is known about a tag until it replies, so the
// inventory after round r misses each tag with probability 0.1^r: 500 tags
// expect 50 missing after round 1, 5 after round 2, 0.5 after round 3,
// 0.05 after round 4 and 0.005 after round 5. "Exact within 2 rounds" is
// therefore not reachable from a cold start (probability 0.99^500 = 0.7 %);
// it is reached at once when the zone is restored from the ledger, and
// from a cold start within BaselineRounds = MissRounds rounds, with every
// Placed of that phase marked Baseline.
func TestCabinetConvergence(t *testing.T) {
	for _, seed := range simSeeds {
		t.Run(fmt.Sprint("cold seed ", seed), func(t *testing.T) {
			s := newCabinetSim(t, seed, Config{})
			exactAt := 0
			var found []int
			for s.round < DefaultMissRounds+2 {
				s.run("")
				missing, extra := s.diff()
				if extra != 0 {
					t.Fatalf("round %d: %d tags reported that are not there", s.round, extra)
				}
				found = append(found, simTags-missing)
				if missing == 0 && exactAt == 0 {
					exactAt = s.round
				}
				if missing != 0 && exactAt != 0 {
					t.Fatalf("round %d: lost %d tags after being exact", s.round, missing)
				}
			}
			t.Logf("tags found after each round: %v; exact from round %d", found, exactAt)
			if found[0] < 420 || found[1] < 485 {
				t.Fatalf("found %v: slower than 0.1^r misses allow", found)
			}
			if exactAt == 0 || exactAt > DefaultMissRounds {
				t.Fatalf("not exact within %d rounds", DefaultMissRounds)
			}
			for _, ev := range s.rec.events {
				if ev.Kind != Placed || !ev.Baseline {
					t.Fatalf("start-up event %+v, want only Baseline Placed", ev)
				}
			}
			if len(s.rec.events) != simTags {
				t.Fatalf("%d events, want %d", len(s.rec.events), simTags)
			}
		})
		t.Run(fmt.Sprint("restored seed ", seed), func(t *testing.T) {
			s := newCabinetSim(t, seed, Config{})
			if err := s.tr.Restore("cab", s.tags); err != nil {
				t.Fatal(err)
			}
			for r := 0; r <= 2*DefaultMissRounds; r++ {
				if missing, extra := s.diff(); missing != 0 || extra != 0 {
					t.Fatalf("after round %d: %d missing, %d extra", r, missing, extra)
				}
				s.run("")
			}
			if len(s.rec.events) != 0 {
				t.Fatalf("restored cabinet reported %s", brief(s.rec.events[:1]))
			}
		})
	}
}

// TestCabinetNoFalseRemoval runs 500 tags for 1,000 rounds with 10 %
// independent misses, default settings: no removal at all. The expected
// number of false removals per run is at most 0.005 (see the top of this
// file); over the four seeds, 0.02.
func TestCabinetNoFalseRemoval(t *testing.T) {
	if testing.Short() {
		t.Skip("long simulation")
	}
	for _, seed := range simSeeds {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			s := newCabinetSim(t, seed, Config{})
			for s.round < simRounds {
				s.run("")
				for _, ev := range s.rec.take() {
					if ev.Kind != Placed {
						t.Fatalf("round %d: %s %s after %d missed rounds", s.round, ev.Kind, ev.Tag, ev.Rounds)
					}
				}
			}
			if missing, extra := s.diff(); missing != 0 || extra != 0 {
				t.Fatalf("after %d rounds: %d missing, %d extra", simRounds, missing, extra)
			}
			// The longest run of misses any tag had: the margin left.
			t.Logf("longest run of missed rounds: %d (removal at %d)", s.maxRun, DefaultMissRounds)
			if s.maxRun >= DefaultMissRounds {
				t.Fatalf("simulation produced a run of %d misses", s.maxRun)
			}
		})
	}
}

// TestCabinetRealRemoval checks that a tag taken out is reported Removed
// within MissRounds+1 rounds of the moment it was taken (counting the round
// it was taken in), at the default settings, with no false removal. It can
// come sooner when the tag happened to be missed just before it was taken.
func TestCabinetRealRemoval(t *testing.T) {
	const miss = DefaultMissRounds
	for _, seed := range simSeeds {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			s := newCabinetSim(t, seed, Config{})
			for range miss {
				s.run("")
			}
			s.rec.take()
			removedAt := map[string]int{}
			takenRound := map[string]int{}
			const rounds = 240
			for s.round < rounds {
				take := ""
				if s.round%4 == 0 && s.round < rounds-miss-2 {
					take = s.pick()
					takenRound[take] = s.round + 1
				}
				s.run(take)
				for _, ev := range s.rec.take() {
					switch {
					case ev.Kind != Removed:
						t.Fatalf("unexpected %s %s", ev.Kind, ev.Tag)
					case takenRound[ev.Tag] == 0:
						t.Fatalf("round %d: false removal of %s", s.round, ev.Tag)
					case ev.Rounds != miss:
						t.Fatalf("Removed after %d missed rounds, want %d", ev.Rounds, miss)
					case ev.Last.After(s.taken[ev.Tag]):
						t.Fatalf("%s last read %v after it was taken at %v", ev.Tag, ev.Last, s.taken[ev.Tag])
					}
					removedAt[ev.Tag] = s.round
				}
			}
			hist := map[int]int{}
			for tag, r := range takenRound {
				got, ok := removedAt[tag]
				if !ok {
					t.Fatalf("%s taken in round %d never removed", tag, r)
				}
				// Rounds ended from the moment it was taken, the round it
				// was taken in included.
				n := got - r + 1
				if n > miss+1 {
					t.Fatalf("%s removed %d rounds after it was taken, want at most %d", tag, n, miss+1)
				}
				hist[n]++
			}
			var lat []string
			for n := 1; n <= miss+1; n++ {
				if hist[n] > 0 {
					lat = append(lat, fmt.Sprintf("%d rounds: %d", n, hist[n]))
				}
			}
			t.Logf("%d removals; latency %s", len(takenRound), strings.Join(lat, ", "))
			if missing, extra := s.diff(); missing != 0 || extra != 0 {
				t.Fatalf("final inventory: %d missing, %d extra", missing, extra)
			}
		})
	}
}

// TestCabinetFalseRemovalRate checks the arithmetic behind
// DefaultMissRounds on settings low enough to see false removals: over
// 500 tags and 1,000 rounds a present tag starts a run of M misses after
// a read with probability 0.9 × 0.1^M per round, so MissRounds 3 expects
// about 500 × 1,000 × 0.9 × 1e-3 = 450 false removals and MissRounds 4
// about 45. (A falsely removed tag is placed again when next read.)
func TestCabinetFalseRemovalRate(t *testing.T) {
	if testing.Short() {
		t.Skip("long simulation")
	}
	for _, tc := range []struct {
		miss     int
		expected float64
	}{{3, 450}, {4, 45}} {
		t.Run(fmt.Sprint("MissRounds ", tc.miss), func(t *testing.T) {
			s := newCabinetSim(t, 99, Config{MissRounds: tc.miss})
			removed := 0
			for s.round < simRounds {
				s.run("")
				for _, ev := range s.rec.take() {
					if ev.Kind == Removed {
						removed++
					}
				}
			}
			t.Logf("%d false removals, %.0f expected", removed, tc.expected)
			if float64(removed) < tc.expected/2 || float64(removed) > tc.expected*2 {
				t.Fatalf("%d false removals, expected about %.0f", removed, tc.expected)
			}
		})
	}
}
