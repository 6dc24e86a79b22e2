package bolt

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/runindex"
)

// Goals the ledger is measured against (see firmware-notes/ledger.md).
const (
	// GoalIngestVsRaw is the least ratio of durable ingest to raw bbolt puts
	// of the same record size in large transactions.
	GoalIngestVsRaw = 0.5
	// GoalIngestVsTxPerMovement is the least ratio of durable ingest to one
	// transaction per movement.
	GoalIngestVsTxPerMovement = 20
	// GoalLatencyRate is the submission rate, per second, at which
	// GoalLatencyP99 must hold.
	GoalLatencyRate = 1000
	// GoalLatencyP99 is the most the 99th percentile of submit-to-durable
	// latency may be at GoalLatencyRate.
	GoalLatencyP99 = 10 * time.Millisecond
	// GoalVerify is the least rate, in movements per second, at which
	// VerifyChain checks a ledger file.
	GoalVerify = 1e6
)

// rawTxSize is how many puts one transaction of BenchRawBolt holds.
const rawTxSize = 10000

// benchGateway is the gateway id of the benchmark ledgers.
const benchGateway = "bench"

// benchRecordSize is the size of record as the benchmark ledgers store it.
func benchRecordSize(record agent.Movement) int {
	record.Gateway, record.Seq = benchGateway, 0
	return RecordSize(record)
}

// BenchResult is one figure of a benchmark run. Goal, when not empty, says
// what the figure must reach ("≥ 0.5") and Met whether it did.
type BenchResult struct {
	Name  string
	Value float64
	Unit  string
	Goal  string
	Met   bool
}

// String formats r for a report line.
func (r BenchResult) String() string {
	s := fmt.Sprintf("%-24s %12.4g %s", r.Name, r.Value, r.Unit)
	if r.Goal != "" {
		verdict := "met"
		if !r.Met {
			verdict = "NOT MET"
		}
		s += fmt.Sprintf("  (goal %s: %s)", r.Goal, verdict)
	}
	return s
}

// BenchConfig sizes a Bench run. Zero fields take the defaults shown.
type BenchConfig struct {
	// N is the number of movements of the ingest and raw runs (100000).
	N int
	// Runs is how many times the ingest and raw runs are repeated, in
	// turns; their medians are reported (3).
	Runs int
	// Concurrency is the number of submitting goroutines (64).
	Concurrency int
	// NaiveN is the number of movements of the one-transaction-per-movement
	// run (1000).
	NaiveN int
	// Rate and Duration pace the latency run (GoalLatencyRate, 3 s).
	Rate     float64
	Duration time.Duration
	// Record is the movement every run writes, its serial varied per
	// movement (BenchMovement()).
	Record agent.Movement
}

// BenchMovement returns a typical movement: the use of an implant read
// from a GS1 DataMatrix, every field filled.
func BenchMovement() agent.Movement {
	serial := "SN2405000001"
	return agent.Movement{
		Gateway:    "",
		Time:       time.Date(2026, 5, 14, 9, 30, 12, 123456789, time.FixedZone("CST", 8*3600)),
		Kind:       agent.KindUse,
		Item:       "(01)09520123456788(21)" + serial,
		GTIN:       "09520123456788",
		Serial:     serial,
		Lot:        "L2405A",
		Expiry:     "2028-05-31",
		Production: "2025-05-01",
		Location:   "OR-3",
		Station:    "scanner-or3-a",
		Symbology:  "]d2",
		Raw:        []byte("]d201095201234567881728053110L2405A\x1d21" + serial),
	}
}

// Bench runs the four workloads and returns their figures, the ratios and
// whether the goals hold.
//
// Every benchmark function writes its file in a new directory under dir
// (dir is created when missing), on the disk being judged, and removes it
// when done. Before its clock starts it syncs the system, so that earlier
// writes do not land in its measurement.
func Bench(dir string, cfg BenchConfig) ([]BenchResult, error) {
	if cfg.N <= 0 {
		cfg.N = 100000
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 64
	}
	if cfg.NaiveN <= 0 {
		cfg.NaiveN = 1000
	}
	if cfg.Rate <= 0 {
		cfg.Rate = GoalLatencyRate
	}
	if cfg.Duration <= 0 {
		cfg.Duration = 3 * time.Second
	}
	if cfg.Runs <= 0 {
		cfg.Runs = 3
	}
	if cfg.Record.Kind == "" {
		cfg.Record = BenchMovement()
	}
	size := benchRecordSize(cfg.Record)
	if size == 0 {
		return nil, fmt.Errorf("bolt: bench: %w", ErrInvalidMovement)
	}
	// A short run of each first, unmeasured: the first run in a process
	// pays for growing the heap, faulting in code and warming the caches.
	if _, err := BenchIngest(dir, max(cfg.N/10, 1000), cfg.Concurrency, cfg.Record); err != nil {
		return nil, err
	}
	if _, err := BenchRawBolt(dir, max(cfg.N/10, 1000), size); err != nil {
		return nil, err
	}
	// Then ingest and its ceiling in turns, so that a disturbance of the
	// machine falls on both; the medians are compared.
	var ingests, raws []float64
	for range cfg.Runs {
		v, err := BenchIngest(dir, cfg.N, cfg.Concurrency, cfg.Record)
		if err != nil {
			return nil, err
		}
		ingests = append(ingests, v)
		if v, err = BenchRawBolt(dir, cfg.N, size); err != nil {
			return nil, err
		}
		raws = append(raws, v)
	}
	ingest, raw := median(ingests), median(raws)
	naive, err := BenchTxPerMovement(dir, cfg.NaiveN, cfg.Record)
	if err != nil {
		return nil, err
	}
	p50, p99, worst, err := BenchLatency(dir, cfg.Rate, cfg.Duration, cfg.Record)
	if err != nil {
		return nil, err
	}
	verify, hashing, err := BenchVerify(dir, cfg.N)
	if err != nil {
		return nil, err
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	res := []BenchResult{
		{Name: "record size", Value: float64(size), Unit: "bytes"},
		{Name: "ingest", Value: ingest, Unit: "movements/s (median)"},
		{Name: "raw bbolt", Value: raw, Unit: "puts/s (median)"},
		{Name: "tx per movement", Value: naive, Unit: "movements/s"},
		{Name: "ingest / raw", Value: ingest / raw, Unit: "x",
			Goal: fmt.Sprintf("≥ %g", GoalIngestVsRaw), Met: ingest >= GoalIngestVsRaw*raw},
		{Name: "ingest / tx per movement", Value: ingest / naive, Unit: "x",
			Goal: fmt.Sprintf("≥ %d", GoalIngestVsTxPerMovement), Met: ingest >= GoalIngestVsTxPerMovement*naive},
		{Name: "latency p50", Value: ms(p50), Unit: fmt.Sprintf("ms at %g/s", cfg.Rate)},
		{Name: "latency p99", Value: ms(p99), Unit: fmt.Sprintf("ms at %g/s", cfg.Rate),
			Goal: fmt.Sprintf("≤ %g ms at %d/s", ms(GoalLatencyP99), GoalLatencyRate), Met: p99 <= GoalLatencyP99 && cfg.Rate >= GoalLatencyRate},
		{Name: "latency max", Value: ms(worst), Unit: fmt.Sprintf("ms at %g/s", cfg.Rate)},
		{Name: "verify chain", Value: verify, Unit: "movements/s",
			Goal: fmt.Sprintf("≥ %g", GoalVerify), Met: verify >= GoalVerify},
		{Name: "sha-256 only", Value: hashing, Unit: "movements/s (same records in memory)"},
	}
	return res, nil
}

// median returns the median of xs (the upper one of an even count).
func median(xs []float64) float64 {
	xs = slices.Clone(xs)
	slices.Sort(xs)
	return xs[len(xs)/2]
}

// benchFile returns a fresh file name under dir and a function removing it.
func benchFile(dir string) (string, func(), error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", nil, fmt.Errorf("bolt: bench: %w", err)
	}
	d, err := os.MkdirTemp(dir, "ledger-bench-")
	if err != nil {
		return "", nil, fmt.Errorf("bolt: bench: %w", err)
	}
	return filepath.Join(d, "ledger.db"), func() { _ = os.RemoveAll(d) }, nil
}

// benchVariant returns record with the last eight characters of its serial
// (and of the item key, where it ends with the serial) replaced by a number
// derived from i, so that every movement names another item and the record
// size stays the same. The numbers run consecutively, as the serials of a
// received carton do, or, when scattered, in no particular order.
func benchVariant(record agent.Movement, i int, scattered bool) agent.Movement {
	m := record
	m.Gateway, m.Seq = "", 0
	const digits = 8
	x := uint64(i) % 1e8
	if scattered {
		x = (uint64(i)*2654435761 + 12345) % 1e8
	}
	var num [digits]byte
	for k := digits - 1; k >= 0; k-- {
		num[k] = byte('0' + x%10)
		x /= 10
	}
	if len(m.Serial) >= digits && strings.HasSuffix(m.Item, m.Serial) {
		serial := m.Serial[:len(m.Serial)-digits] + string(num[:])
		m.Item = m.Item[:len(m.Item)-len(m.Serial)] + serial
		m.Serial = serial
	} else if len(m.Item) >= digits {
		m.Item = m.Item[:len(m.Item)-digits] + string(num[:])
	}
	return m
}

// BenchIngest writes n movements through a ledger with default Options from
// concurrency submitting goroutines and returns durable movements per
// second, from the first Submit to the last done callback. Each movement is
// record with a consecutive serial number, as when a carton is received;
// record's Gateway and Seq are ignored.
func BenchIngest(dir string, n, concurrency int, record agent.Movement) (movementsPerSec float64, err error) {
	return benchIngest(dir, n, concurrency, record, false)
}

// BenchIngestScattered is BenchIngest with the serial numbers in no
// particular order: the worst case for the item index, where every
// movement of a large transaction lands on another index page.
func BenchIngestScattered(dir string, n, concurrency int, record agent.Movement) (movementsPerSec float64, err error) {
	return benchIngest(dir, n, concurrency, record, true)
}

func benchIngest(dir string, n, concurrency int, record agent.Movement, scattered bool) (float64, error) {
	if n <= 0 || concurrency <= 0 {
		return 0, errors.New("bolt: bench: n and concurrency must be positive")
	}
	path, cleanup, err := benchFile(dir)
	if err != nil {
		return 0, err
	}
	defer cleanup()
	l, err := Open(Options{Path: path, Gateway: benchGateway})
	if err != nil {
		return 0, err
	}
	defer l.Close()

	var (
		pending  atomic.Int64
		firstErr atomic.Pointer[error]
		finished = make(chan struct{})
		wg       sync.WaitGroup
	)
	pending.Store(int64(n))
	done := func(_ agent.Movement, err error) {
		if err != nil {
			firstErr.CompareAndSwap(nil, &err)
		}
		if pending.Add(-1) == 0 {
			close(finished)
		}
	}
	// The submitting goroutines make each movement as they go (two string
	// concatenations): n movements made beforehand would be a live heap of
	// millions of pointers that the collector scans again and again,
	// slowing the ledger for the benchmark's sake.
	settle()
	start := time.Now()
	var next atomic.Int64
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				l.Submit(benchVariant(record, i, scattered), done)
			}
		}()
	}
	<-finished
	elapsed := time.Since(start)
	wg.Wait()
	if p := firstErr.Load(); p != nil {
		return 0, *p
	}
	if err := l.Close(); err != nil {
		return 0, err
	}
	return float64(n) / elapsed.Seconds(), nil
}

// BenchRawBolt puts n values of recordSize bytes under sequential 8-byte
// keys into a bare bbolt file, 10000 puts per transaction, and returns puts
// per second: the ceiling for ingest of that record size.
func BenchRawBolt(dir string, n int, recordSize int) (putsPerSec float64, err error) {
	if n <= 0 || recordSize <= 0 {
		return 0, errors.New("bolt: bench: n and recordSize must be positive")
	}
	db, cleanup, err := bareBenchDB(dir)
	if err != nil {
		return 0, err
	}
	defer cleanup()
	value := make([]byte, recordSize)
	for i := range value {
		value[i] = byte(i * 7)
	}
	key := make([]byte, 8)
	settle()
	start := time.Now()
	for done := 0; done < n; {
		err := db.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketMovements)
			b.FillPercent = 1.0
			for k := 0; k < rawTxSize && done < n; k++ {
				done++
				binary.BigEndian.PutUint64(key, uint64(done))
				if err := b.Put(key, value); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return 0, fmt.Errorf("bolt: bench: %w", err)
		}
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// BareCommits are the times of bare one-put bbolt commits paced at a
// rate: each commit's own time, and the time from the moment it was due
// (its place in the schedule) to its end, which counts the wait behind a
// slow commit before it as a scan would wait (the first alone suffers from
// coordinated omission: a slow commit delays the next ones unseen).
type BareCommits struct {
	P50, P99, Max                      time.Duration // each commit's own time
	FromDueP50, FromDueP99, FromDueMax time.Duration // from its due time to its end
}

// BenchBareCommit commits one put of recordSize bytes per transaction to
// a bare bbolt file, fsynced as the ledger's, at rate per second for d,
// paced on a schedule, and returns percentiles of the commits' times: the
// floor of a durable answer on this disk, to which the ledger's
// scan-to-durable latency at the same rate is compared.
func BenchBareCommit(dir string, rate float64, d time.Duration, recordSize int) (BareCommits, error) {
	if rate <= 0 || d <= 0 || recordSize <= 0 {
		return BareCommits{}, errors.New("bolt: bench: rate, duration and recordSize must be positive")
	}
	db, cleanup, err := bareBenchDB(dir)
	if err != nil {
		return BareCommits{}, err
	}
	defer cleanup()
	value := make([]byte, recordSize)
	n := int(math.Ceil(rate * d.Seconds()))
	own, fromDue := make([]time.Duration, n), make([]time.Duration, n)
	interval := time.Duration(float64(time.Second) / rate)
	settle()
	start := time.Now()
	for i := range n {
		due := start.Add(time.Duration(i) * interval)
		if wait := time.Until(due); wait > 0 {
			time.Sleep(wait)
		}
		began := time.Now()
		err := db.Update(func(tx *bolt.Tx) error {
			return tx.Bucket(bucketMovements).Put(binary.BigEndian.AppendUint64(nil, uint64(i+1)), value)
		})
		if err != nil {
			return BareCommits{}, fmt.Errorf("bolt: bench: %w", err)
		}
		own[i], fromDue[i] = time.Since(began), time.Since(due)
	}
	slices.Sort(own)
	slices.Sort(fromDue)
	pct := func(lat []time.Duration, p float64) time.Duration { return lat[int(math.Ceil(p*float64(n)))-1] }
	return BareCommits{P50: pct(own, 0.50), P99: pct(own, 0.99), Max: own[n-1],
		FromDueP50: pct(fromDue, 0.50), FromDueP99: pct(fromDue, 0.99), FromDueMax: fromDue[n-1]}, nil
}

// bareBenchDB opens a bare bbolt file in a new directory under dir, with
// the ledger's options and its movements bucket, for the ceilings the
// ledger is compared with; cleanup closes and removes it.
func bareBenchDB(dir string) (db *bolt.DB, cleanup func(), err error) {
	path, remove, err := benchFile(dir)
	if err != nil {
		return nil, nil, err
	}
	db, err = bolt.Open(path, 0o600, &bolt.Options{InitialMmapSize: initialMmapSize, FreelistType: bolt.FreelistMapType})
	if err != nil {
		remove()
		return nil, nil, fmt.Errorf("bolt: bench: %w", err)
	}
	cleanup = func() { _ = db.Close(); remove() }
	if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket(bucketMovements); return err }); err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("bolt: bench: %w", err)
	}
	return db, cleanup, nil
}

// BenchTxPerMovement writes n movements (record, its serial varied), each
// in its own bbolt transaction with the same buckets, encoding (a batch of
// one record) and index as the ledger, and returns movements per second:
// the naive design the ledger's group commit replaces.
func BenchTxPerMovement(dir string, n int, record agent.Movement) (movementsPerSec float64, err error) {
	if n <= 0 {
		return 0, errors.New("bolt: bench: n must be positive")
	}
	path, cleanup, err := benchFile(dir)
	if err != nil {
		return 0, err
	}
	defer cleanup()
	// The ledger creates the buckets; then every movement is one Update.
	l, err := Open(Options{Path: path, Gateway: benchGateway})
	if err != nil {
		return 0, err
	}
	if err := l.Close(); err != nil {
		return 0, err
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{InitialMmapSize: initialMmapSize, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return 0, fmt.Errorf("bolt: bench: %w", err)
	}
	defer db.Close()

	var (
		seq       uint64
		arena     runindex.Arena
		batchSize = batchValueSize(db.Info().PageSize)
	)
	settle()
	start := time.Now()
	for i := range n {
		arena.Reset()
		m := benchVariant(record, i, false)
		m.Gateway = benchGateway
		if err := checkMovement(&m); err != nil {
			return 0, err
		}
		rec, err := encodeRecord(&m)
		if err != nil {
			return 0, err
		}
		value := appendBatch(nil, [][]byte{rec})
		err = db.Update(func(tx *bolt.Tx) error {
			key := seqKey(seq + 1)
			if err := tx.Bucket(bucketMovements).Put(key, value); err != nil {
				return err
			}
			entries := indexEntries(nil, &m, seq+1, &arena)
			if err := indexIn(tx, batchSize, &arena).Add(entries); err != nil {
				return err
			}
			return tx.Bucket(bucketMeta).Put(metaLastSeq, key)
		})
		if err != nil {
			return 0, fmt.Errorf("bolt: bench: %w", err)
		}
		seq++
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// BenchLatency submits movements (record, its serial varied) to a ledger
// with default options at rate per second for d, paced on a schedule, and
// returns percentiles of the time from Submit to the done callback.
func BenchLatency(dir string, rate float64, d time.Duration, record agent.Movement) (p50, p99, max time.Duration, err error) {
	if rate <= 0 || d <= 0 {
		return 0, 0, 0, errors.New("bolt: bench: rate and duration must be positive")
	}
	path, cleanup, err := benchFile(dir)
	if err != nil {
		return 0, 0, 0, err
	}
	defer cleanup()
	l, err := Open(Options{Path: path, Gateway: benchGateway})
	if err != nil {
		return 0, 0, 0, err
	}
	defer l.Close()

	n := int(math.Ceil(rate * d.Seconds()))
	lat := make([]time.Duration, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	wg.Add(n)
	interval := time.Duration(float64(time.Second) / rate)
	settle()
	start := time.Now()
	for i := range n {
		if wait := time.Until(start.Add(time.Duration(i) * interval)); wait > 0 {
			time.Sleep(wait)
		}
		submitted := time.Now()
		l.Submit(benchVariant(record, i, false), func(_ agent.Movement, err error) {
			lat[i], errs[i] = time.Since(submitted), err
			wg.Done()
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return 0, 0, 0, err
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[int(math.Ceil(p*float64(n)))-1] }
	return pct(0.50), pct(0.99), lat[n-1], nil
}

// BenchVerify writes n movements (BenchMovement, serials varied) to a new
// ledger under dir, then checks the file's hash chain with VerifyChain on
// the file opened read-only, and returns movements checked per second
// (the best of three runs). Beside it, measured in the same run, baseline
// is the hashing alone: the two SHA-256 computations per movement the
// check needs (the record's digest and the chain step) over the same
// records already in memory, with no file, cursor or checksum.
func BenchVerify(dir string, n int) (movementsPerSec, baseline float64, err error) {
	if n <= 0 {
		return 0, 0, errors.New("bolt: bench: n must be positive")
	}
	path, cleanup, err := benchFile(dir)
	if err != nil {
		return 0, 0, err
	}
	defer cleanup()
	if err := benchFill(path, n, BenchMovement()); err != nil {
		return 0, 0, err
	}
	l, err := OpenReadOnly(path, time.Second)
	if err != nil {
		return 0, 0, err
	}
	defer l.Close()

	// The records in memory, for the baseline.
	var recs [][]byte
	err = l.view(func(tx *bolt.Tx) error {
		return walkRecordBytes(tx, func(rec []byte) { recs = append(recs, slices.Clone(rec)) })
	})
	if err != nil {
		return 0, 0, err
	}
	for range 3 {
		start := time.Now()
		sum, err := l.VerifyChain(context.Background())
		if err != nil {
			return 0, 0, err
		}
		if sum.Movements != uint64(n) {
			return 0, 0, fmt.Errorf("bolt: bench: verified %d movements of %d", sum.Movements, n)
		}
		movementsPerSec = max(movementsPerSec, float64(n)/time.Since(start).Seconds())

		start = time.Now()
		var prev [hashSize]byte
		for i, rec := range recs {
			digest := sha256.Sum256(recordBody(rec))
			prev = chainHash(uint64(i+1), &prev, &digest)
		}
		baseline = max(baseline, float64(len(recs))/time.Since(start).Seconds())
	}
	return movementsPerSec, baseline, nil
}

// benchFill writes n movements (record, its serial varied) to a new ledger
// at path and closes it.
func benchFill(path string, n int, record agent.Movement) error {
	l, err := Open(Options{Path: path, Gateway: benchGateway})
	if err != nil {
		return err
	}
	var (
		wg       sync.WaitGroup
		firstErr atomic.Pointer[error]
	)
	wg.Add(n)
	for i := range n {
		l.Submit(benchVariant(record, i, false), func(_ agent.Movement, err error) {
			if err != nil {
				firstErr.CompareAndSwap(nil, &err)
			}
			wg.Done()
		})
	}
	wg.Wait()
	if err := l.Close(); err != nil {
		return err
	}
	if p := firstErr.Load(); p != nil {
		return *p
	}
	return nil
}

// walkRecordBytes calls fn with every record of the movements bucket, in
// key order. The bytes are valid only during the call.
func walkRecordBytes(tx *bolt.Tx, fn func(rec []byte)) error {
	c := tx.Bucket(bucketMovements).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		b, err := nextBatch(k, v)
		if err == nil {
			err = b.check()
		}
		if err != nil {
			return err
		}
		for i := range b.N {
			rec, _ := b.Record(i)
			fn(rec)
		}
	}
	return nil
}
