package presence

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"
)

// benchStream is the reads of a 500-tag cabinet over 16 rounds of 2 s:
// each tag replies in 90 % of rounds and is read one to three times (about
// 900 reads a round, 450 a second), as an EPC item key.
type benchStream struct {
	reads     []Read
	off       []time.Duration // offset of each read in its cycle of rounds
	roundEnds []int           // index of the first read after each round end
	cycle     time.Duration
}

func newBenchStream(zone string) *benchStream {
	const rounds = 16
	rng := rand.New(rand.NewPCG(1, 2))
	s := &benchStream{cycle: rounds * simRound}
	tags := make([]string, simTags)
	for i := range tags {
		tags[i] = "(01)09506000134352(21)" + strconv.Itoa(100000+i)
	}
	type timed struct {
		r   Read
		off time.Duration
	}
	var round []timed
	for r := range rounds {
		round = round[:0]
		for _, tag := range tags {
			if rng.Float64() < simMiss {
				continue
			}
			for range 1 + rng.IntN(3) {
				round = append(round, timed{
					Read{Tag: tag, Reader: "cab-r", Antenna: 1 + rng.IntN(4), Zone: zone, RSSI: -75 + rng.IntN(30)},
					time.Duration(r)*simRound + time.Duration(rng.Int64N(int64(simRound)))})
			}
		}
		// A reader reports in time order.
		slices.SortFunc(round, func(a, b timed) int { return cmp.Compare(a.off, b.off) })
		for _, x := range round {
			s.reads = append(s.reads, x.r)
			s.off = append(s.off, x.off)
		}
		s.roundEnds = append(s.roundEnds, len(s.reads))
	}
	return s
}

// BenchmarkObserve measures reads per second through Observe for a 500-tag
// cabinet stream (round ends included), a portal stream and a station
// stream, next to the ceiling: the two map look-ups per read that any
// tracker keyed by zone and tag must make.
func BenchmarkObserve(b *testing.B) {
	for _, bc := range []struct{ name, zone string }{
		{"cabinet", "cab"}, {"portal", "door/out"}, {"station", "or"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s := newBenchStream(bc.zone)
			tr, err := New(Config{Zones: testZones()}, func(Event) {})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			i, base, next := 0, t0, 0
			for range b.N {
				r := s.reads[i]
				r.Time = base.Add(s.off[i])
				if err := tr.Observe(r); err != nil {
					b.Fatal(err)
				}
				i++
				if i == s.roundEnds[next] {
					if bc.zone == "cab" {
						tr.EndRound("cab", base.Add(time.Duration(next+1)*simRound))
					}
					next++
				}
				if i == len(s.reads) {
					i, next, base = 0, 0, base.Add(s.cycle)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "reads/s")
		})
	}
	b.Run("ceiling", func(b *testing.B) {
		s := newBenchStream("cab")
		zones := map[string]map[string]*entry{"cab": {}}
		for _, r := range s.reads {
			zones["cab"][r.Tag] = &entry{}
		}
		b.ReportAllocs()
		b.ResetTimer()
		start := time.Now()
		i := 0
		for range b.N {
			r := &s.reads[i]
			zones[r.Zone][r.Tag].reads++
			if i++; i == len(s.reads) {
				i = 0
			}
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "reads/s")
	})
}
