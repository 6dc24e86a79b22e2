package bolt

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
)

// The benchmarks write to files under the test's temporary directory, on
// the disk that holds it (set TMPDIR to judge another disk). Run them with
//
//	go test -run '^$' -bench . ./agent/bolt/

func BenchmarkIngest(b *testing.B) {
	record := BenchMovement()
	n := max(b.N, 1000)
	rate, err := BenchIngest(b.TempDir(), n, 64, record)
	if err != nil {
		b.Fatal(err)
	}
	// The ceiling, measured in the same run.
	ceiling, err := BenchRawBolt(b.TempDir(), n, benchRecordSize(record))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(rate, "movements/s")
	b.ReportMetric(ceiling, "raw-puts/s")
	b.ReportMetric(rate/ceiling, "of-raw")
}

// BenchmarkIngestScattered is BenchmarkIngest with serials in no order:
// the index's worst case, beside the same ceiling.
func BenchmarkIngestScattered(b *testing.B) {
	record := BenchMovement()
	n := max(b.N, 1000)
	rate, err := BenchIngestScattered(b.TempDir(), n, 64, record)
	if err != nil {
		b.Fatal(err)
	}
	ceiling, err := BenchRawBolt(b.TempDir(), n, benchRecordSize(record))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(rate, "movements/s")
	b.ReportMetric(ceiling, "raw-puts/s")
	b.ReportMetric(rate/ceiling, "of-raw")
}

func BenchmarkRawBolt(b *testing.B) {
	rate, err := BenchRawBolt(b.TempDir(), max(b.N, 1000), benchRecordSize(BenchMovement()))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(rate, "puts/s")
}

func BenchmarkTxPerMovement(b *testing.B) {
	rate, err := BenchTxPerMovement(b.TempDir(), max(b.N, 100), BenchMovement())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(rate, "movements/s")
}

// BenchmarkLatency is one paced run of 2 s, whatever b.N: its figures are
// percentiles, not a time per operation.
func BenchmarkLatency(b *testing.B) {
	p50, p99, worst, err := BenchLatency(b.TempDir(), GoalLatencyRate, 2*time.Second, BenchMovement())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(p50)/1e6, "p50-ms")
	b.ReportMetric(float64(p99)/1e6, "p99-ms")
	b.ReportMetric(float64(worst)/1e6, "max-ms")
}

// BenchmarkVerify checks the hash chain of a ledger file of b.N movements
// (at least 100 000) and prints beside it the hashing alone over the same
// records in memory, measured in the same run.
func BenchmarkVerify(b *testing.B) {
	rate, baseline, err := BenchVerify(b.TempDir(), max(b.N, 100000))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(rate, "movements/s")
	b.ReportMetric(baseline, "sha256-only-movements/s")
	b.ReportMetric(rate/baseline, "of-sha256-only")
	if rate < GoalVerify {
		b.Logf("goal %g movements/s not met", float64(GoalVerify))
	}
}

func BenchmarkEncode(b *testing.B) {
	m := BenchMovement()
	m.Gateway = "bench"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := encodeRecord(&m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	m := BenchMovement()
	m.Gateway = "bench"
	rec, err := encodeRecord(&m)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeRecord(1, rec); err != nil {
			b.Fatal(err)
		}
	}
}

func TestBenchSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("writes several files")
	}
	res, err := Bench(t.TempDir(), BenchConfig{N: 2000, NaiveN: 20, Duration: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 11 {
		t.Fatalf("%d results", len(res))
	}
	for _, r := range res {
		if r.Value <= 0 {
			t.Errorf("%s: %v", r.Name, r.Value)
		}
		t.Log(r)
	}
}

// TestBenchTrace runs the trace benchmark small: every traced item has its
// four movements, and the figures are ordered as percentiles must be.
func TestBenchTrace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "trace.db")
	items, err := BenchFillItems(path, 4000)
	if err != nil || items != 1000 {
		t.Fatalf("fill: %d items, %v", items, err)
	}
	f, err := BenchTrace(path, items, 500)
	if err != nil {
		t.Fatal(err)
	}
	if f.P50 <= 0 || f.P99 < f.P50 || f.WarmP50 <= 0 || f.WarmP99 < f.WarmP50 || f.LookupP99 <= 0 {
		t.Fatalf("figures %+v", f)
	}
	// The uses came in no particular order: an item's use is not next to
	// its receipt.
	l, err := OpenReadOnly(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	far := 0
	for i := range 100 {
		ms, err := l.Trace(context.Background(), BenchItemKey(i))
		if err != nil || len(ms) != 4 {
			t.Fatalf("item %d: %d movements, %v", i, len(ms), err)
		}
		for j, k := range []agent.Kind{agent.KindReceive, agent.KindStock, agent.KindIssue, agent.KindUse} {
			if ms[j].Kind != k {
				t.Fatalf("item %d movement %d is %s, want %s", i, j, ms[j].Kind, k)
			}
		}
		if ms[3].Seq-ms[0].Seq > 3000+1 {
			far++
		}
	}
	if far == 0 {
		t.Error("every item's use lies right after its receipt: the fill does not scatter")
	}
}

// BenchmarkCommitChecks is what the writer adds to each transaction: the
// stat that tells the file is still the path's, and the tip's pwrite.
func BenchmarkCommitChecks(b *testing.B) {
	path := filepath.Join(b.TempDir(), "ledger.db")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	tip, err := createTip(path+tipSuffix, tipState{gateway: testGateway})
	if err != nil {
		b.Fatal(err)
	}
	defer tip.close()
	b.Run("stat", func(b *testing.B) {
		for b.Loop() {
			if pathGone(fi, path) != "" {
				b.Fatal("gone")
			}
		}
	})
	b.Run("tip", func(b *testing.B) {
		var h [hashSize]byte
		for i := 0; b.Loop(); i++ {
			if err := tip.write(uint64(i), h); err != nil {
				b.Fatal(err)
			}
		}
	})
}
