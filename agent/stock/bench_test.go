package stock

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/bolt"
	"github.com/udi-edge/udi-edge/agent/lifecycle"
	"github.com/udi-edge/udi-edge/agent/testkit"
)

// The benchmark hospital: a warehouse, 39 wards, operating rooms and
// cabinets, 500 products in lots of 50.
const (
	benchLocations = 40
	benchProducts  = 500
	benchLot       = 50
)

var benchLocs = func() []string {
	out := []string{"WH"}
	for i := 1; i < benchLocations; i++ {
		out = append(out, fmt.Sprintf("LOC-%02d", i))
	}
	return out
}()

// benchLife returns the four movements of item i, as a hospital's
// ledger holds them: received at the warehouse, then six in ten
// transferred to a ward, issued and used there; two in ten transferred,
// counted on the ward's shelf, used later; one in ten stocked in a
// ward's cabinet, counted, used; one in ten used, the use cancelled,
// used again.
func benchLife(i int) []agent.Movement {
	p := i % benchProducts
	gtin := fmt.Sprintf("0952012%07d", p)
	ward := benchLocs[1+i%(benchLocations-1)]
	serial := fmt.Sprintf("S%09d", i)
	base := agent.Movement{
		Time: time.Date(2026, 5, 14, 9, 30, 0, 0, time.FixedZone("CST", 8*3600)), Item: "(01)" + gtin + "(21)" + serial,
		GTIN: gtin, Serial: serial, Lot: fmt.Sprintf("L%06d", i/(benchProducts*benchLot)), Expiry: fmt.Sprintf("2027-%02d-28", 1+i/(benchProducts*benchLot)%12),
		Station: "scanner-1", Symbology: "]d2",
	}
	at := func(k agent.Kind, loc, from string) agent.Movement {
		m := base
		m.Kind, m.Location, m.From = k, loc, from
		return m
	}
	rcv, use := at(agent.KindReceive, "WH", ""), at(agent.KindUse, ward, "")
	switch d := i % 10; {
	case d < 6:
		return []agent.Movement{rcv, at(agent.KindTransfer, ward, "WH"), at(agent.KindIssue, ward, ""), use}
	case d < 8:
		return []agent.Movement{rcv, at(agent.KindTransfer, ward, "WH"), at(agent.KindCount, ward, ""), use}
	case d < 9:
		return []agent.Movement{rcv, at(agent.KindStock, ward, ""), at(agent.KindCount, ward, ""), use}
	}
	// The cancellation names the use by its sequence number, filled in
	// when the use is written (see benchMovements).
	return []agent.Movement{rcv, use, at(agent.KindAdjust, ward, ""), use}
}

// benchMovements calls fn with n movements of benchLife items, in the
// order days bring them: each day a block of 10,000 items is received,
// and the block before takes its second step, the one before that its
// third, and so on, each block's in no order. The stock on hand stays
// what about three days bring, however long the ledger: the lines of a
// location do not grow with it.
func benchMovements(n int, fn func(m agent.Movement)) {
	const block = 10_000
	r := rand.New(rand.NewPCG(1, 2))
	seq, useSeq := uint64(1), map[int]uint64{}
	var lives [][][]agent.Movement // the lives of the blocks still moving, the newest last
	for day, done := 0, 0; done < n; day++ {
		b := make([][]agent.Movement, block)
		for j := range b {
			b[j] = benchLife(day*block + j)
		}
		lives = append(lives, b)
		if len(lives) > 4 {
			lives = lives[1:]
		}
		for k := len(lives) - 1; k >= 0 && done < n; k-- {
			step, first := len(lives)-1-k, (day-(len(lives)-1-k))*block
			for _, j := range r.Perm(block) {
				if done == n {
					break
				}
				m := lives[k][j][step]
				switch {
				case m.Kind == agent.KindUse && step == 1: // the use the next step cancels
					useSeq[first+j] = seq
				case m.Kind == agent.KindAdjust:
					m.Reason = agent.CancelReason(agent.KindUse, useSeq[first+j])
					delete(useSeq, first+j)
				}
				fn(m)
				seq++
				done++
			}
		}
	}
}

// benchLedger writes n benchmark movements to a new ledger file under dir.
func benchLedger(b *testing.B, dir string, n int) string {
	b.Helper()
	path := filepath.Join(dir, "ledger.db")
	l, err := bolt.Open(bolt.Options{Path: path, Gateway: "gw-bench"})
	if err != nil {
		b.Fatal(err)
	}
	var (
		wg     sync.WaitGroup
		failed atomic.Pointer[error]
	)
	benchMovements(n, func(m agent.Movement) {
		wg.Add(1)
		l.Submit(m, func(_ agent.Movement, err error) {
			if err != nil {
				failed.CompareAndSwap(nil, &err)
			}
			wg.Done()
		})
	})
	wg.Wait()
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
	if p := failed.Load(); p != nil {
		b.Fatal(*p)
	}
	return path
}

// BenchmarkRebuild measures the stock rebuilt from a whole ledger file
// (the agent's start), beside a bare Range over the same file (the
// ceiling: reading and decoding every movement), the memory the stock
// takes per item key, and the p99 of a query for one location and for
// one product across locations, beside the rebuild (deriving the stock
// by a full scan). Select a size with -bench 'Rebuild/movements=1000000'.
func BenchmarkRebuild(b *testing.B) {
	for _, n := range []int{1_000_000, 10_000_000} {
		b.Run(fmt.Sprintf("movements=%d", n), func(b *testing.B) { benchRebuild(b, n) })
	}
}

func benchRebuild(b *testing.B, n int) {
	path := benchLedger(b, b.TempDir(), n)
	l, err := bolt.OpenReadOnly(path, time.Second)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()

	start, read := time.Now(), 0
	if err := l.Range(1, func(agent.Movement) error { read++; return nil }); err != nil || read != n {
		b.Fatalf("range: %d movements, %v", read, err)
	}
	ceiling := time.Since(start)

	var (
		st                *Stock
		rebuild           time.Duration
		bytesPerItem      float64
		heldHeap          float64
		peak              float64
		before, afterHeap runtime.MemStats
	)
	for b.Loop() {
		st = nil
		runtime.GC()
		runtime.ReadMemStats(&before)
		w := testkit.WatchHeap()
		start := time.Now()
		k := NewKeeper(l.Range, nil)
		k.SetHistory(func(key string) ([]agent.Movement, error) { return l.Trace(context.Background(), key) })
		st, err = k.Stock(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		rebuild = time.Since(start)
		peak = w.End()
		runtime.GC()
		runtime.ReadMemStats(&afterHeap)
		heldHeap = float64(afterHeap.HeapAlloc-before.HeapAlloc) / (1 << 20)
		bytesPerItem = float64(afterHeap.HeapAlloc-before.HeapAlloc) / float64(n/4)
	}
	if st.Last() != uint64(n) {
		b.Fatalf("folded up to %d of %d", st.Last(), n)
	}

	// Queries, each timed: one location, one product across locations.
	r := rand.New(rand.NewPCG(5, 6))
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	var byLoc, byProduct []time.Duration
	lines := 0
	for range 2000 {
		loc := benchLocs[r.IntN(len(benchLocs))]
		t0 := time.Now()
		lines += len(st.Lines(Query{Location: loc, Now: now}, nil))
		byLoc = append(byLoc, time.Since(t0))
		p := fmt.Sprintf("0952012%07d", r.IntN(benchProducts))
		t0 = time.Now()
		st.Lines(Query{Product: p, Now: now}, nil)
		byProduct = append(byProduct, time.Since(t0))
	}
	// The replenishment check a use adds (stock.Need for its product at
	// its location), beside the use's own decision: the point-of-use
	// checks over the item's history read from the ledger.
	dec, err := lifecycle.NewDecider(lifecycle.DeciderConfig{Gateway: "gw-bench", Now: func() time.Time { return now },
		History: func(key string) ([]agent.Movement, error) { return l.Trace(context.Background(), key) }})
	if err != nil {
		b.Fatal(err)
	}
	var need, decide []time.Duration
	for i := range 2000 {
		life := benchLife(r.IntN(n / 4))
		use := life[len(life)-1]
		t0 := time.Now()
		dec.Decide(use, true)
		decide = append(decide, time.Since(t0))
		t0 = time.Now()
		st.Need(use.Location, use.GTIN, Par{ReorderPoint: 5 + i%3, Max: 10}, nil)
		need = append(need, time.Since(t0))
	}
	b.ReportMetric(float64(quantile(need, 99).Microseconds()), "replenish-check-p99-µs")
	b.ReportMetric(float64(quantile(decide, 99).Microseconds()), "use-decision-p99-µs")
	b.ReportMetric(100, "goal-replenish-check-p99-µs")
	b.ReportMetric(1000, "goal-query-location-p99-µs")
	b.ReportMetric(float64(n)/rebuild.Seconds(), "rebuild-movements/s")
	b.ReportMetric(float64(n)/ceiling.Seconds(), "range-movements/s")
	b.ReportMetric(rebuild.Seconds(), "rebuild-s")
	b.ReportMetric(ceiling.Seconds(), "range-s")
	b.ReportMetric(rebuild.Seconds()/ceiling.Seconds(), "rebuild/range")
	reloads, _ := st.Reloads()
	b.ReportMetric(float64(n/4), "items-seen")
	b.ReportMetric(float64(st.Items()), "items-held")
	b.ReportMetric(float64(reloads), "items-read-back")
	b.ReportMetric(heldHeap, "heap-after-MiB")
	b.ReportMetric(bytesPerItem, "B/item-seen")
	b.ReportMetric(peak, "rebuild-peak-heap-MiB")
	b.ReportMetric(float64(quantile(byLoc, 50).Microseconds()), "query-location-p50-µs")
	b.ReportMetric(float64(quantile(byLoc, 99).Microseconds()), "query-location-p99-µs")
	b.ReportMetric(float64(quantile(byProduct, 50).Microseconds()), "query-product-p50-µs")
	b.ReportMetric(float64(quantile(byProduct, 99).Microseconds()), "query-product-p99-µs")
	b.ReportMetric(float64(lines)/2000, "lines/location")
}

// quantile returns the q-th percentile of ds (sorting it).
func quantile(ds []time.Duration, q int) time.Duration {
	slices.Sort(ds)
	return ds[len(ds)*q/100]
}

// BenchmarkApply measures the fold of one movement as the ledger writes
// it (Keeper.Written on a built stock), over a stock of 1,000,000
// movements: the cost added to each write.
func BenchmarkApply(b *testing.B) {
	const warm, more = 1_000_000, 100_000
	var (
		s     *Stock
		rest  []agent.Movement
		reads int
	)
	fill := func() {
		s, rest = New(), rest[:0]
		// As the gateway keeps it: the items gone for good forgotten (and
		// read back when they move again: here no ledger answers, and
		// the reads are counted; the rebuild benchmark reads a real one).
		s.SetHistory(func(string) ([]agent.Movement, error) { reads++; return nil, nil })
		seq := uint64(0)
		benchMovements(warm+more, func(m agent.Movement) {
			seq++
			m.Gateway, m.Seq = "gw-bench", seq
			if seq <= warm {
				s.Apply(m)
			} else {
				rest = append(rest, m)
			}
		})
		runtime.GC()
	}
	fill()
	i := 0
	for b.Loop() {
		if i == len(rest) {
			b.StopTimer()
			fill()
			i = 0
			b.StartTimer()
		}
		s.Apply(rest[i])
		i++
	}
	b.ReportMetric(float64(reads)/float64(b.N), "reads-back/op")
}
