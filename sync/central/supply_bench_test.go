package central_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/record"
	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/central/boltstore"
	"github.com/udi-edge/udi-edge/sync/central/internal/testkit"
)

// BenchmarkSupplyExport reads a 31-day window of consumption records
// (every page) from a bbolt store of 200,000 movements over 62 days, one
// in ten a consigned use, beside a Trace of one item (the index lookup
// each hour of the window costs).
func BenchmarkSupplyExport(b *testing.B) {
	st, err := boltstore.Open(filepath.Join(b.TempDir(), "central.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	const n, days = 200_000, 62
	l := testkit.NewLedger(site, "or-3", created)
	acme := agent.ConsignedFlag("ACME")
	var recs []central.Stored
	for i := range n {
		kind, flags := agent.KindStock, []string(nil)
		if i%10 == 0 {
			kind, flags = agent.KindUse, []string{acme}
		}
		m := supplyMovement(kind, gtinStent, fmt.Sprint("S", i), "OR-3", 0, flags...)
		m.Time = day0.Add(time.Duration(i) * (days * 24 * time.Hour / n))
		seq := l.Add(b, m)
		prev, hash := record.Hashes(l.Records[seq-1])
		recs = append(recs, central.NewStored(seq, prev, hash, &m, l.Records[seq-1]))
		if len(recs) == 5000 {
			if _, _, err := st.Append(ctx, site, "or-3", created, recs); err != nil {
				b.Fatal(err)
			}
			recs = recs[:0]
		}
	}
	q := central.SupplyQuery{Since: day0.AddDate(0, 0, 15), Until: day0.AddDate(0, 0, 46), Limit: central.MaxSupplyLimit}
	b.ResetTimer()
	got := 0
	for b.Loop() {
		got = 0
		for q.Offset = 0; ; {
			rs, more, err := central.Consumption(ctx, st, nil, q)
			if err != nil {
				b.Fatal(err)
			}
			got += len(rs)
			q.Offset += len(rs)
			if !more {
				break
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(got), "records")
	start := time.Now()
	for range 1000 {
		if _, err := st.Trace(ctx, "(01)"+gtinStent+"(21)S5"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/1000, "trace_µs")
}
