package boltstore_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/udi-edge/udi-edge/agent/record"
	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/central/boltstore"
	"github.com/udi-edge/udi-edge/sync/central/storetest"
)

var (
	benchHeld  = flag.Int("held", 1_000_000, "movements a store holds before BenchmarkAppend's clock starts")
	benchBatch = flag.Int("batch", 3800, "movements per batch in BenchmarkAppend (a 1 MiB batch of 268-byte records holds about 3,800)")
	benchCheck = flag.Bool("verify", false, "check the whole store after BenchmarkAppend (slow)")
)

// benchDir holds the stores BenchmarkAppend fills once per process and
// appends to across its runs.
var benchDir string

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if benchDir != "" {
		_ = os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

// appender is a store design under measure.
type appender interface {
	Append(ctx context.Context, site, gateway string, created int64, recs []central.Stored) (central.Head, int, error)
	Close() error
}

// benchStore is a store filled to *benchHeld movements, kept across the
// runs of one sub-benchmark (the testing package calls it with b.N = 1
// first): every run appends after what the runs before it stored.
type benchStore struct {
	st  appender
	gen *storetest.Gen
}

var benchStores = map[string]*benchStore{}

func heldStore(b *testing.B, name string, open func(path string) (appender, error)) *benchStore {
	b.Helper()
	if s := benchStores[name]; s != nil {
		return s
	}
	if benchDir == "" {
		var err error
		if benchDir, err = os.MkdirTemp("", "boltstore-bench-"); err != nil {
			b.Fatal(err)
		}
	}
	st, err := open(filepath.Join(benchDir, strings.NewReplacer("/", "-", "=", "").Replace(name)+".db"))
	if err != nil {
		b.Fatal(err)
	}
	s := &benchStore{st: st, gen: storetest.NewGen("bench", max(*benchHeld/4, 1))}
	start := time.Now()
	for held := 0; held < *benchHeld; {
		n := min(*benchBatch, *benchHeld-held)
		if _, _, err := st.Append(ctx, "st-marys", s.gen.Gateway, s.gen.Created, s.gen.Batch(b, n)); err != nil {
			b.Fatal(err)
		}
		held += n
	}
	b.Logf("%s: filled with %d movements in %v", name, *benchHeld, time.Since(start).Round(time.Millisecond))
	syscall.Sync() // the fill's writes must not land in the measurement
	benchStores[name] = s
	return s
}

// BenchmarkAppend measures Append of realistic batches (*benchBatch
// movements of 268-byte records of random items, 1 MiB on the wire) into a
// store already holding *benchHeld movements, in movements per second, for
// the store (whatever index merges fall due included) and, in the same
// run, for the design it replaced (one bbolt value and one index entry in
// a B+tree per movement), whose figure is the baseline; and the bytes of
// pages each writes per movement. group=k appends k batches per call, as
// the Service does with k batches of one gateway queued.
//
//	go test -run '^$' -bench Append -benchtime 40x ./sync/central/boltstore [-args -held 1000000 -verify]
func BenchmarkAppend(b *testing.B) {
	designs := []struct {
		name  string
		group int
		open  func(path string) (appender, error)
	}{
		{"per-movement", 1, openPerMovement},
		{"store", 1, func(path string) (appender, error) { return boltstore.Open(path) }},
		{"store/group=4", 4, func(path string) (appender, error) { return boltstore.Open(path) }},
	}
	for _, d := range designs {
		b.Run(d.name, func(b *testing.B) {
			s := heldStore(b, d.name, d.open)
			batches := make([][]central.Stored, b.N)
			for i := range batches {
				batches[i] = s.gen.Batch(b, *benchBatch*d.group)
			}
			before := txStats(s.st)
			b.ResetTimer()
			for _, recs := range batches {
				if _, added, err := s.st.Append(ctx, "st-marys", s.gen.Gateway, s.gen.Created, recs); err != nil || added != len(recs) {
					b.Fatalf("append: %d added, %v", added, err)
				}
			}
			b.StopTimer()
			if st, ok := s.st.(*boltstore.Store); ok && *benchCheck {
				if err := st.Verify(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N**benchBatch*d.group)/b.Elapsed().Seconds(), "movements/s")
			b.ReportMetric(0, "ns/op")
			after, n := txStats(s.st), float64(b.N**benchBatch*d.group)
			b.ReportMetric(float64(after.GetPageAlloc()-before.GetPageAlloc())/n, "page-bytes/movement")
			b.Logf("per movement: spill %v, write and sync %v", time.Duration(float64(after.GetSpillTime()-before.GetSpillTime())/n),
				time.Duration(float64(after.GetWriteTime()-before.GetWriteTime())/n))
		})
	}
}

// tracer is a store design's trace.
type tracer interface {
	Trace(ctx context.Context, key string) ([]central.Traced, error)
}

// BenchmarkTrace measures traces of random items (four movements each) in
// the stores of BenchmarkAppend (filled when it has not run), for the
// store and for the design it replaced, whose figure is the baseline.
//
//	go test -run '^$' -bench 'Append|Trace' -benchtime 40x ./sync/central/boltstore
func BenchmarkTrace(b *testing.B) {
	for _, d := range []struct {
		name string
		open func(path string) (appender, error)
	}{
		{"per-movement", openPerMovement},
		{"store", func(path string) (appender, error) { return boltstore.Open(path) }},
	} {
		b.Run(d.name, func(b *testing.B) {
			s := heldStore(b, d.name, d.open)
			r := rand.New(rand.NewPCG(5, 6))
			times := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for range b.N {
				key := s.gen.ItemKey(r.IntN(s.gen.Items))
				start := time.Now()
				ts, err := s.st.(tracer).Trace(ctx, key)
				times = append(times, time.Since(start))
				if err != nil || len(ts) < 4 {
					b.Fatalf("trace of %s: %d movements, %v", key, len(ts), err)
				}
			}
			b.StopTimer()
			slices.Sort(times)
			b.ReportMetric(float64(times[len(times)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(times[len(times)*99/100].Microseconds()), "p99-µs")
			b.ReportMetric(0, "ns/op")
			if st, ok := s.st.(*boltstore.Store); ok {
				runs, _, err := st.IndexState(ctx)
				if err != nil {
					b.Fatal(err)
				}
				b.Logf("%d movements, %d index runs %v", s.gen.Seq, len(runs), runs)
			}
		})
	}
}

// BenchmarkReceivedProducts measures ReceivedProducts of a site in the
// store of BenchmarkAppend (*benchHeld movements, a quarter of them
// receives; filled when it has not run) to which a warehouse's receives
// of 2,000 products are added, and, in the same run, the full scan of the
// movements it replaced (storetest.ScanReceived), whose figure is the
// baseline: ns/op of each and their ratio.
//
//	go test -run '^$' -bench ReceivedProducts -benchtime 200x ./sync/central/boltstore [-args -held 1000000]
func BenchmarkReceivedProducts(b *testing.B) {
	s := heldStore(b, "store", func(path string) (appender, error) { return boltstore.Open(path) })
	st := s.st.(*boltstore.Store)
	if h, err := st.Head(ctx, "bench-wh", storetest.Created); err != nil || h.Seq == 0 {
		storetest.ReceiveProducts(b, st, "st-marys", "bench-wh", 2000)
	}
	storetest.BenchReceivedProducts(b, st, "st-marys")
}

// txStats returns the write statistics of a design's bbolt file.
func txStats(a appender) bolt.TxStats {
	switch s := a.(type) {
	case *perMovement:
		return s.db.Stats().TxStats
	case *boltstore.Store:
		return s.TxStats()
	}
	return bolt.TxStats{}
}

// perMovement is the store's first design, kept here as the benchmark's
// baseline: one bbolt value per movement under ledger key and seq, one
// index entry per item and tag key, one transaction per Append.
type perMovement struct{ db *bolt.DB }

func openPerMovement(path string) (appender, error) {
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		return nil, err
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range []string{"ledgers", "movements", "items"} {
			if _, err := tx.CreateBucketIfNotExists([]byte(name)); err != nil {
				return err
			}
		}
		return nil
	})
	return &perMovement{db: db}, err
}

func (s *perMovement) Close() error { return s.db.Close() }

func (s *perMovement) Trace(ctx context.Context, key string) ([]central.Traced, error) {
	var out []central.Traced
	prefix := append([]byte(key), 0)
	err := s.db.View(func(tx *bolt.Tx) error {
		mb := tx.Bucket([]byte("movements"))
		c := tx.Bucket([]byte("items")).Cursor()
		for k, _ := c.Seek(prefix); bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			seq := binary.BigEndian.Uint64(k[len(k)-8:])
			m, err := record.Decode(seq, mb.Get(k[len(prefix):]))
			if err != nil {
				return err
			}
			out = append(out, central.Traced{Created: int64(binary.BigEndian.Uint64(k[len(k)-16:])), Movement: m})
		}
		return nil
	})
	return out, err
}

func (s *perMovement) Append(ctx context.Context, site, gateway string, created int64, recs []central.Stored) (central.Head, int, error) {
	lk := binary.BigEndian.AppendUint64(append([]byte(gateway), 0), uint64(created))
	mkey := func(seq uint64) []byte { return binary.BigEndian.AppendUint64(bytes.Clone(lk), seq) }
	readHead := func(tx *bolt.Tx) central.Head {
		h := central.EmptyHead(gateway, created)
		if v := tx.Bucket([]byte("ledgers")).Get(lk); v != nil {
			h.Seq, h.Hash, h.Site = binary.BigEndian.Uint64(v), [central.HashSize]byte(v[8:40]), string(v[40:])
		}
		return h
	}
	var head central.Head
	var fresh int
	err := s.db.Update(func(tx *bolt.Tx) error {
		head = readHead(tx)
		mb, ib := tx.Bucket([]byte("movements")), tx.Bucket([]byte("items"))
		var err error
		fresh, err = central.CheckAppend(head, site, recs, func(seq uint64) ([central.HashSize]byte, error) {
			_, h := record.Hashes(mb.Get(mkey(seq)))
			return h, nil
		})
		if err != nil {
			return err
		}
		mb.FillPercent = 0.95
		for i := fresh; i < len(recs); i++ {
			r := &recs[i]
			if err := mb.Put(mkey(r.Seq), r.Record); err != nil {
				return err
			}
			for _, key := range r.Keys {
				ik := append(append([]byte(key), 0), lk...)
				if err := ib.Put(binary.BigEndian.AppendUint64(ik, r.Seq), nil); err != nil {
					return err
				}
			}
		}
		last := &recs[len(recs)-1]
		head.Seq, head.Hash, head.Site = last.Seq, last.Hash, site
		v := binary.BigEndian.AppendUint64(nil, head.Seq)
		v = append(append(v, head.Hash[:]...), site...)
		return tx.Bucket([]byte("ledgers")).Put(lk, v)
	})
	return head, len(recs) - fresh, err
}
