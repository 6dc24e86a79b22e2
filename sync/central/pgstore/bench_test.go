package pgstore_test

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/central/pgstore"
	"github.com/udi-edge/udi-edge/sync/central/storetest"
	"github.com/udi-edge/udi-edge/sync/internal/postgres"
)

var benchHeld = flag.Int("held", 100_000, "movements a store holds before BenchmarkAppend's clock starts")

// traceMovements is how many movements BenchmarkTrace's store holds:
// 1,000,000, or UDI_BENCH_TRACE_MOVEMENTS (10000000 for the large run).
func traceMovements(b *testing.B) int {
	n := 1_000_000
	if v := os.Getenv("UDI_BENCH_TRACE_MOVEMENTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 4 {
			b.Fatalf("UDI_BENCH_TRACE_MOVEMENTS=%q: want a number of movements", v)
		}
	}
	return n
}

// filled is a store filled once per process, appended to across the runs
// of a sub-benchmark (the testing package runs it with b.N = 1 first).
type filled struct {
	url string
	st  *pgstore.Store
	gen *storetest.Gen
	raw *storetest.Gen // the raw copy's rows, of a ledger of their own
}

var fills = map[string]*filled{}

// fill returns the store name, filled with n movements of one gateway in
// batches of 3,800 (a 1 MiB batch on the wire).
func fill(b *testing.B, name string, n int) *filled {
	b.Helper()
	if f := fills[name]; f != nil {
		return f
	}
	srv := postgres.Shared(b)
	f := &filled{url: srv.NewDatabase(b), gen: storetest.NewGen("bench", max(n/4, 1)), raw: storetest.NewGen("raw", max(n/4, 1))}
	st, err := pgstore.Open(ctx, f.url)
	if err != nil {
		b.Fatal(err)
	}
	f.st = st
	start := time.Now()
	for held := 0; held < n; {
		k := min(3800, n-held)
		if _, _, err := st.Append(ctx, "st-marys", f.gen.Gateway, f.gen.Created, f.gen.Batch(b, k)); err != nil {
			b.Fatal(err)
		}
		held += k
	}
	if err := srv.Exec(ctx, dbOf(f.url), "VACUUM ANALYZE"); err != nil { // as autovacuum would have by then
		b.Fatal(err)
	}
	b.Logf("%s: filled with %d movements in %v", name, n, time.Since(start).Round(time.Millisecond))
	fills[name] = f
	return f
}

func dbOf(url string) string { return url[lastSlash(url)+1 : indexQ(url)] }

// BenchmarkAppend measures Append of batches of movements (of random
// items) into a store already holding *benchHeld, in movements per
// second, with the server's fsync on: the store as it runs (COPY from 64
// movements, a multi-row INSERT below), each method forced, and, as the
// ceiling, a raw COPY of the same rows into the same tables in one
// transaction per batch (no lock, no check, no head).
//
//	go test -run '^$' -bench Append -benchtime 40x ./sync/central/pgstore [-args -held 1000000]
func BenchmarkAppend(b *testing.B) {
	for _, batch := range []int{3800, 500, 10} {
		for _, d := range []struct {
			name     string
			copyFrom int
		}{{"store", 0}, {"store-insert", 1 << 30}, {"store-copy", 1}, {"raw-copy", -1}} {
			b.Run(fmt.Sprintf("%s/batch=%d", d.name, batch), func(b *testing.B) {
				if d.copyFrom > 0 {
					defer pgstore.SetCopyFrom(d.copyFrom)()
				}
				f := fill(b, "append", *benchHeld)
				gen := f.gen
				if d.copyFrom < 0 {
					gen = f.raw
				}
				batches := make([][]central.Stored, b.N)
				for i := range batches {
					batches[i] = gen.Batch(b, batch)
				}
				var conn *pgx.Conn
				if d.copyFrom < 0 {
					var err error
					if conn, err = pgx.Connect(ctx, f.url); err != nil {
						b.Fatal(err)
					}
					defer conn.Close(ctx)
				}
				b.ResetTimer()
				for _, recs := range batches {
					if conn != nil {
						rawCopy(b, conn, recs)
						continue
					}
					if _, added, err := f.st.Append(ctx, "st-marys", f.gen.Gateway, f.gen.Created, recs); err != nil || added != len(recs) {
						b.Fatalf("append: %d added, %v", added, err)
					}
				}
				b.StopTimer()
				b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "movements/s")
				b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/batch")
				b.ReportMetric(0, "ns/op")
			})
		}
	}
}

// rawCopy copies the rows of recs into movements and trace_keys in one
// transaction, as the ceiling of what Append can do.
func rawCopy(b *testing.B, c *pgx.Conn, recs []central.Stored) {
	err := pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"movements"}, []string{"ledger", "seq", "prev_hash", "hash", "record"},
			pgx.CopyFromSlice(len(recs), func(i int) ([]any, error) {
				r := &recs[i]
				return []any{int64(1_000_000), int64(r.Seq), r.PrevHash[:], r.Hash[:], r.Record}, nil
			}))
		if err != nil {
			return err
		}
		var rows [][]any
		for i := range recs {
			for _, k := range recs[i].Keys {
				rows = append(rows, []any{[]byte(k), int64(1_000_000), int64(recs[i].Seq)})
			}
		}
		_, err = tx.CopyFrom(ctx, pgx.Identifier{"trace_keys"}, []string{"key", "ledger", "seq"}, pgx.CopyFromRows(rows))
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkTrace measures traces of random items (four movements each) in
// a store of traceMovements movements, p50 and p99, with a warm cache,
// beside the bare lookup of the same keys in the index (the ceiling: a
// query of trace_keys alone, answered from the btree).
//
//	go test -run '^$' -bench Trace -benchtime 2000x ./sync/central/pgstore
//	UDI_BENCH_TRACE_MOVEMENTS=10000000 go test -run '^$' -bench Trace -benchtime 2000x -timeout 60m ./sync/central/pgstore
func BenchmarkTrace(b *testing.B) {
	n := traceMovements(b)
	for _, d := range []string{"store", "index-lookup"} {
		b.Run(d, func(b *testing.B) {
			f := fill(b, "trace", n)
			c, err := pgx.Connect(ctx, f.url)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close(ctx)
			r := rand.New(rand.NewPCG(5, 6))
			times := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for range b.N {
				key := f.gen.ItemKey(r.IntN(f.gen.Items))
				start := time.Now()
				found := 0
				if d == "store" {
					ts, err := f.st.Trace(ctx, key)
					if err != nil {
						b.Fatal(err)
					}
					found = len(ts)
				} else {
					rows, _ := c.Query(ctx, "SELECT ledger, seq FROM trace_keys WHERE key = $1", []byte(key))
					for rows.Next() {
						found++
					}
					if err := rows.Err(); err != nil {
						b.Fatal(err)
					}
				}
				times = append(times, time.Since(start))
				if found < min(4, n/f.gen.Items) {
					b.Fatalf("trace of %s: %d movements", key, found)
				}
			}
			b.StopTimer()
			slices.Sort(times)
			b.ReportMetric(float64(times[len(times)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(times[len(times)*99/100].Microseconds()), "p99-µs")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// BenchmarkReceivedProducts measures ReceivedProducts of a site in the
// store of BenchmarkTrace (traceMovements movements, a quarter of them
// receives; filled when it has not run) to which a warehouse's receives
// of 2,000 products are added, and, in the same run, the full scan of the
// movements it replaced (storetest.ScanReceived), whose figure is the
// baseline: ns/op of each and their ratio.
//
//	go test -run '^$' -bench ReceivedProducts -benchtime 200x -timeout 30m ./sync/central/pgstore
func BenchmarkReceivedProducts(b *testing.B) {
	f := fill(b, "trace", traceMovements(b))
	if h, err := f.st.Head(ctx, "bench-wh", storetest.Created); err != nil || h.Seq == 0 {
		storetest.ReceiveProducts(b, f.st, "st-marys", "bench-wh", 2000)
	}
	storetest.BenchReceivedProducts(b, f.st, "st-marys")
}

// TestTraceReadsTheIndex: the plan of a trace's query reads the btree of
// trace_keys, never a sequential scan, once the tables hold enough rows
// for the planner to tell.
func TestTraceReadsTheIndex(t *testing.T) {
	url := newDB(t)
	st := open(t, url)
	g := storetest.NewGen("gw", 5000)
	for range 10 {
		if _, _, err := st.Append(ctx, "st-marys", g.Gateway, g.Created, g.Batch(t, 2000)); err != nil {
			t.Fatal(err)
		}
	}
	exec(t, url, "ANALYZE")
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	rows, err := c.Query(ctx, "EXPLAIN "+pgstore.TraceQuery, []byte(g.ItemKey(7)))
	if err != nil {
		t.Fatal(err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	plan := fmt.Sprint(lines)
	if !strings.Contains(plan, "trace_keys_pkey") || !strings.Contains(plan, "movements_pkey") || strings.Contains(plan, "Seq Scan") {
		t.Fatalf("the trace's plan does not read the indexes:\n%s", plan)
	}
}
