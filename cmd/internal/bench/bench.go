// Package bench measures a gateway's workload on this machine (ingest,
// latency, RFID reads, verify, trace and decisions in a large ledger),
// each figure beside the ceiling it is compared with, measured in the same
// run. udi-edge bench runs it to judge a gateway's disk; udi-lab bench adds
// the sync drain to a real broker and centre.
package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/bolt"
	"github.com/udi-edge/udi-edge/agent/code"
	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/agent/master"
	"github.com/udi-edge/udi-edge/agent/memwatch"
	"github.com/udi-edge/udi-edge/agent/station"
)

// Params sizes a benchmark run.
type Params struct {
	Scans      int
	NaiveScans int
	Rate       float64
	LatencyFor time.Duration
	// TraceMovements sizes the ledger of the trace and decision runs; 0
	// skips them.
	TraceMovements int
	// Extra runs more measurements after the gateway's own (udi-lab's
	// sync drain), in dir.
	Extra []func(ctx context.Context, dir string) ([]Figure, error)
}

// Figure is one measured figure, with the ceiling it is compared with.
type Figure struct {
	Name    string  `json:"name"`
	Value   float64 `json:"value"`
	Unit    string  `json:"unit"`
	Ceiling string  `json:"ceiling,omitempty"` // what it is compared with, measured in the same run
	Goal    string  `json:"goal,omitempty"`
	Met     bool    `json:"met,omitempty"`
}

// benchLabel returns the GS1 DataMatrix label of implant box i, as a
// scanner sends it: one GTIN, 64 lots, and a serial of its own for every
// box ("one item, one code"), the serials consecutive as in a carton.
func benchLabel(i int) []byte {
	b := make([]byte, 0, 64)
	b = append(b, "]d20109520123456788172805311021A-"...)
	b = append(b, byte('0'+i%64/10), byte('0'+i%64%10), 0x1d, '2', '1')
	var num [8]byte
	for k, x := 7, i%1e8; k >= 0; k, x = k-1, x/10 {
		num[k] = byte('0' + x%10)
	}
	return append(b, num[:]...)
}

// Run runs the ingest workload and its ceilings in dir.
func Run(ctx context.Context, dir string, p Params) ([]Figure, error) {
	sample := (&station.Ingest{Stations: benchStations}).Movement(benchRead(0))
	sample.Gateway, sample.Seq = "gw-bench", 1
	// A short warm-up of both, then five alternating rounds; the medians
	// are reported, so neither side gains from running first or last, and
	// a round disturbed by other work on the machine does not decide.
	var ingests, raws []float64
	var ingestMem mem
	for round := range 6 {
		n := p.Scans
		if round == 0 {
			n = max(p.Scans/10, 1000)
		}
		var ingest float64
		m, err := watch(func() (err error) {
			ingest, err = benchPipeline(filepath.Join(dir, fmt.Sprintf("ingest-%d.db", round)), n)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("ingest: %w", err)
		}
		if round == 5 {
			ingestMem = m
		}
		raw, err := bolt.BenchRawBolt(dir, n, bolt.RecordSize(sample))
		if err != nil {
			return nil, fmt.Errorf("raw bbolt: %w", err)
		}
		if err := os.Remove(filepath.Join(dir, fmt.Sprintf("ingest-%d.db", round))); err != nil {
			return nil, err
		}
		if round > 0 {
			ingests, raws = append(ingests, ingest), append(raws, raw)
		}
	}
	ingest, raw := Median(ingests), Median(raws)
	naive, err := bolt.BenchTxPerMovement(dir, p.NaiveScans, sample)
	if err != nil {
		return nil, fmt.Errorf("one transaction per scan: %w", err)
	}
	var lat latencies
	latMem, err := watch(func() (err error) {
		lat, err = benchLatency(ctx, filepath.Join(dir, "latency.db"), p.Rate, p.LatencyFor)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("latency: %w", err)
	}
	bare, err := bolt.BenchBareCommit(dir, p.Rate, p.LatencyFor, bolt.RecordSize(sample))
	if err != nil {
		return nil, fmt.Errorf("bare commits: %w", err)
	}
	var rfidRate, lineCeiling float64
	rfidMem, err := watch(func() (err error) {
		rfidRate, lineCeiling, err = benchRFIDReads(max(p.Scans*5, 50000))
		return err
	})
	if err != nil {
		return nil, err
	}
	var verify, hashOnly float64
	verifyMem, err := watch(func() (err error) {
		verify, hashOnly, err = bolt.BenchVerify(dir, p.Scans)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	dp50, dp99, err := master.BenchLookups(100000)
	if err != nil {
		return nil, fmt.Errorf("decision lookups: %w", err)
	}
	// One 115200-baud scanner port (8N1: 10 bits a byte) carries this
	// many of the bench's labels, with the scanner's CR suffix.
	scanLine := 115200.0 / 10 / float64(len(benchLabel(0))+1)
	figs := []Figure{
		{Name: "raw_bbolt_ceiling", Value: raw, Unit: "puts/s",
			Ceiling: fmt.Sprintf("%d-byte records, large transactions (median of 5)", bolt.RecordSize(sample))},
		{Name: "one_tx_per_scan", Value: naive, Unit: "scans/s", Ceiling: "naive design: one fsynced transaction per scan"},
		{Name: "durable_ingest", Value: ingest, Unit: "scans/s",
			Ceiling: fmt.Sprintf("median of 5; %.2fx raw bbolt (%.0f puts/s), %.0fx one-tx-per-scan (%.0f scans/s); one 115200-baud scanner port carries %.0f scans/s of these labels (%.0fx)",
				ingest/raw, raw, ingest/naive, naive, scanLine, ingest/scanLine),
			Goal: ">= 0.5x raw bbolt and >= 20x one-tx-per-scan",
			Met:  ingest >= 0.5*raw && ingest >= 20*naive},
		ingestMem.figure("ingest", fmt.Sprintf("a round of %d scans into a new ledger", p.Scans), true),
		{Name: "latency_p50", Value: MS(lat.p50), Unit: "ms", Ceiling: fmt.Sprintf("at %.0f scans/s, from each scan's due time; bare one-put bbolt commits at the same rate: p50 %.2f ms from their due time, %.2f ms their own", p.Rate, MS(bare.FromDueP50), MS(bare.P50))},
		{Name: "latency_p99", Value: MS(lat.p99), Unit: "ms",
			Ceiling: fmt.Sprintf("at %.0f scans/s, %d scans, from each scan's due time; bare one-put bbolt commits at the same rate: p99 %.2f ms from their due time (%.2fx), %.2f ms their own (%.2fx)",
				p.Rate, lat.n, MS(bare.FromDueP99), float64(lat.p99)/float64(bare.FromDueP99), MS(bare.P99), float64(lat.p99)/float64(bare.P99)),
			Goal: "<= 10 ms, and <= 1.5x the bare commits' p99 from their due time", Met: lat.p99 <= 10*time.Millisecond && float64(lat.p99) <= 1.5*float64(bare.FromDueP99)},
		{Name: "latency_max", Value: MS(lat.max), Unit: "ms", Ceiling: fmt.Sprintf("at %.0f scans/s", p.Rate)},
		latMem.figure("latency", fmt.Sprintf("%s at %.0f scans/s", p.LatencyFor, p.Rate), false),
		{Name: "rfid_reads_per_core", Value: rfidRate, Unit: "reads/s",
			Ceiling: fmt.Sprintf("one 115200-baud port carries %.0f reads/s of these records (%.0fx); Mercury frames -> CRC-checked -> parsed -> deduplicated, 500-tag cabinet", lineCeiling, rfidRate/lineCeiling),
			Goal:    ">= 1000000 reads/s per core", Met: rfidRate >= 1e6},
		rfidMem.figure("rfid", "the RFID read pipeline", false),
		{Name: "verify_chain", Value: verify, Unit: "movements/s",
			Ceiling: fmt.Sprintf("SHA-256 alone over the same records in memory: %.0f movements/s (%.2fx)", hashOnly, verify/hashOnly),
			Goal:    ">= 1000000 movements/s", Met: verify >= bolt.GoalVerify},
		verifyMem.figure("verify", fmt.Sprintf("a ledger of %d movements written and verified, and beside it every record held in memory for the SHA-256 baseline (the bench's, not verify's)", p.Scans), false),
		{Name: "decision_lookup_p99", Value: float64(dp99) / float64(time.Microsecond), Unit: "us",
			Ceiling: fmt.Sprintf("catalogue, recall and lot-status lookups of one point-of-use decision, %d-item catalogue, %d recalled lots; p50 %.1f us",
				master.GoalCatalogue, master.GoalRecalledLots, float64(dp50)/float64(time.Microsecond)),
			Goal: "<= 5000 us", Met: dp99 <= master.GoalDecisionP99},
	}
	if p.TraceMovements > 0 {
		more, err := benchTraceAndDecide(filepath.Join(dir, "trace.db"), p.TraceMovements, dp99)
		if err != nil {
			return nil, err
		}
		figs = append(figs, more...)
	}
	for _, run := range p.Extra {
		more, err := run(ctx, dir)
		if err != nil {
			return nil, err
		}
		figs = append(figs, more...)
	}
	return figs, nil
}

// mem is the memory a workload used: the peak heap in use, sampled,
// the live heap early (15–25 % of its time) and late (75–85 %), and the
// process's peak resident set.
type mem struct{ heap, early, late, rss float64 }

// watch runs fn and measures its memory.
func watch(fn func() error) (mem, error) {
	memwatch.ResetPeakRSS()
	h := memwatch.Heap()
	err := fn()
	m := mem{heap: h.End(), rss: memwatch.PeakRSS()}
	m.early, m.late = h.Window(0.15, 0.25), h.Window(0.75, 0.85)
	return m, err
}

// figure is the peak heap figure of workload; flat adds the goal that
// the heap does not grow with the work done (late <= 1.25x early + 4 MiB).
func (m mem) figure(workload, what string, flat bool) Figure {
	f := Figure{Name: "peak_heap_" + workload, Value: m.heap, Unit: "MiB",
		Ceiling: fmt.Sprintf("%s: heap in use sampled every 5 ms; live heap (reachable at the last collection) %.1f MiB at 20%% of it, %.1f MiB at 80%%; the process's peak resident set %.1f MiB (VmHWM, the bench's own included)",
			what, m.early, m.late, m.rss)}
	if flat {
		f.Goal = "flat: live heap at 80% <= 1.25x at 20% + 4 MiB"
		f.Met = m.late <= 1.25*m.early+4
	}
	return f
}

// benchTraceAndDecide fills a ledger of n movements, then times the trace
// of one item and the whole point-of-use decision on a use scan (the
// checks as the agent runs them: master data lookups and the item's
// history from the ledger), beside the floors measured in the same run: a
// bare bbolt lookup of one movement, and lookupsP99, the master data
// lookups alone.
func benchTraceAndDecide(path string, n int, lookupsP99 time.Duration) ([]Figure, error) {
	defer os.Remove(path)
	fillStart := time.Now()
	var items int
	fillMem, err := watch(func() (err error) {
		items, err = bolt.BenchFillItems(path, n)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("trace: fill: %w", err)
	}
	fill := time.Since(fillStart)
	const lookups = 10000
	var tf bolt.TraceFigures
	traceMem, err := watch(func() (err error) {
		tf, err = bolt.BenchTrace(path, items, lookups)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("trace: %w", err)
	}
	var dp50, dp99 time.Duration
	decideMem, err := watch(func() (err error) {
		dp50, dp99, err = benchDecisions(path, items, lookups)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("decision: %w", err)
	}
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	return []Figure{
		{Name: "trace_p50", Value: us(tf.P50), Unit: "us",
			Ceiling: fmt.Sprintf("one item's trace, its pages touched for the first time, in a ledger of %d movements (%d items, filled in %s); p99 %.1f us; "+
				"the same traces again: p50 %.1f us, p99 %.1f us; floor, one bare bbolt lookup of a movement in the file opened afresh: p99 %.1f us",
				items*4, items, fill.Round(time.Second), us(tf.P99), us(tf.WarmP50), us(tf.WarmP99), us(tf.LookupP99)),
			Goal: "<= 1000 us", Met: tf.P50 <= bolt.GoalTrace},
		{Name: "decision_p99", Value: us(dp99), Unit: "us",
			Ceiling: fmt.Sprintf("whole point-of-use decision on a use scan: %d-item catalogue, %d recalled lots, the item's history from the %d-movement ledger; p50 %.1f us; the master data lookups alone: p99 %.1f us",
				master.GoalCatalogue, master.GoalRecalledLots, items*4, us(dp50), us(lookupsP99)),
			Goal: "<= 5000 us", Met: dp99 <= master.GoalDecisionP99},
		fillMem.figure("fill", fmt.Sprintf("%d movements written to a new ledger", items*4), true),
		traceMem.figure("trace", fmt.Sprintf("%d traces in the %d-movement ledger", lookups, items*4), false),
		decideMem.figure("decision", fmt.Sprintf("%d decisions over the %d-movement ledger, the %d-item catalogue and %d recalled lots they read included", lookups, items*4, master.GoalCatalogue, master.GoalRecalledLots), false),
	}, nil
}

// benchDecisions runs the agent's point-of-use decision on use scans of
// random items of the ledger at path, one by one, and returns the median
// and 99th percentile of one decision.
func benchDecisions(path string, items, n int) (p50, p99 time.Duration, err error) {
	l, err := bolt.OpenReadOnly(path, time.Second)
	if err != nil {
		return 0, 0, err
	}
	defer l.Close()
	base := bolt.BenchMovement()
	d, err := master.Synthetic(master.GoalCatalogue, master.GoalRecalledLots,
		master.CatalogueEntry{GTIN: base.GTIN, Name: "hip stem", UnitPrice: 685000, HighValue: true, Tracking: master.TrackSerial})
	if err != nil {
		return 0, 0, err
	}
	var st master.Store
	st.Replace(d)
	dec, err := core.NewDecider(l.Gateway(), core.Config{Now: time.Now}, &st, l, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		return 0, 0, err
	}
	decide := dec.Decide
	r := rand.New(rand.NewPCG(5, 6))
	times := make([]time.Duration, n)
	blocked := 0
	for k := range times {
		m := base
		m.Item = bolt.BenchItemKey(r.IntN(items))
		m.Serial = m.Item[len(m.Item)-len(base.Serial):]
		m.Time = time.Now()
		start := time.Now()
		dec := decide(m, true)
		times[k] = time.Since(start)
		if dec.Outcome == agent.DecisionBlocked {
			blocked++
		}
	}
	// Every item of the ledger was used once already: each decision must
	// have found that in the item's history.
	if blocked != n {
		return 0, 0, fmt.Errorf("%d of %d decisions blocked; every item was used before", blocked, n)
	}
	slices.Sort(times)
	return times[n/2], times[min(n-1, n*99/100)], nil
}

// Median returns the median of v.
func Median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// MS returns d in milliseconds.
func MS(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Print writes figs to w, a line each or as JSON lines.
func Print(w io.Writer, figs []Figure, asJSON bool) {
	for _, f := range figs {
		if asJSON {
			_ = json.NewEncoder(w).Encode(f)
			continue
		}
		line := fmt.Sprintf("%-18s %12.2f %-7s", f.Name, f.Value, f.Unit)
		if f.Ceiling != "" {
			line += "  " + f.Ceiling
		}
		if f.Goal != "" {
			verdict := "MET"
			if !f.Met {
				verdict = "NOT MET"
			}
			line += fmt.Sprintf("  [goal %s: %s]", f.Goal, verdict)
		}
		fmt.Fprintln(w, line)
	}
}

var benchStations = map[string]agent.Station{
	"bench": {ID: "bench", Location: "OR-1", Kind: agent.KindUse, RequireSerial: true},
}

func benchRead(i int) agent.Read {
	raw := benchLabel(i)
	return agent.Read{Source: "bench", Time: time.Now(), Raw: raw, Symbology: string(raw[:3]), Data: raw[3:]}
}

func openBenchLedger(path string) (*bolt.Ledger, error) {
	return bolt.Open(bolt.Options{Path: path, Gateway: "gw-bench"})
}

// benchPipeline pushes n reads through the whole ingest (parse, build,
// group commit, fsync) and returns durable scans per second.
func benchPipeline(path string, n int) (float64, error) {
	l, err := openBenchLedger(path)
	if err != nil {
		return 0, err
	}
	var failed atomic.Int64
	in := &station.Ingest{Ledger: l, Parser: code.Parser{}, Stations: benchStations,
		Answer: func(_ string, o agent.Outcome) {
			if o.Verdict != agent.VerdictAccepted {
				failed.Add(1)
			}
		}}
	start := time.Now()
	// One goroutine feeds the reads, as a scanner's does; parsing and
	// encoding run on it, beside the ledger's writer.
	for i := 0; i < n; i++ {
		in.Handle(benchRead(i))
	}
	in.Wait()
	el := time.Since(start)
	if err := l.Close(); err != nil {
		return 0, err
	}
	if f := failed.Load(); f > 0 {
		return 0, fmt.Errorf("%d of %d scans not accepted", f, n)
	}
	return float64(n) / el.Seconds(), nil
}

type latencies struct {
	p50, p99, max time.Duration
	n             int
}

// benchLatency paces reads at rate per second for d and measures each read's
// time from when it was due on that schedule to its durable answer.
func benchLatency(ctx context.Context, path string, rate float64, d time.Duration) (latencies, error) {
	l, err := openBenchLedger(path)
	if err != nil {
		return latencies{}, err
	}
	var mu sync.Mutex
	var lats []time.Duration
	in := &station.Ingest{Ledger: l, Parser: code.Parser{}, Stations: benchStations,
		Answer: func(_ string, o agent.Outcome) {
			mu.Lock()
			lats = append(lats, time.Since(o.Movement.Time))
			mu.Unlock()
		}}
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	total := int(d.Seconds() * rate)
	for i := 0; i < total; i++ {
		next := start.Add(time.Duration(i) * interval)
		if w := time.Until(next); w > 0 {
			time.Sleep(w)
		}
		if ctx.Err() != nil {
			break
		}
		r := benchRead(i)
		r.Time = next // its latency counts from when it was due, as the bare commits' does
		in.Handle(r)
	}
	in.Wait()
	if err := l.Close(); err != nil {
		return latencies{}, err
	}
	if len(lats) == 0 {
		return latencies{}, fmt.Errorf("no scan answered")
	}
	sort.Slice(lats, func(i, j int) bool { return lats[i] < lats[j] })
	q := func(p float64) time.Duration { return lats[min(len(lats)-1, int(p*float64(len(lats))))] }
	return latencies{p50: q(0.50), p99: q(0.99), max: lats[len(lats)-1], n: len(lats)}, nil
}
