package bench

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/udi-edge/udi-edge/agent/bolt"
	"github.com/udi-edge/udi-edge/agent/station"
)

// BenchmarkPipeline measures durable ingest (scans -> parsed -> movements ->
// fsynced ledger) and prints it beside the raw bbolt ceiling of the same
// record size, measured in the same run.
func BenchmarkPipeline(b *testing.B) {
	dir := b.TempDir()
	n := max(b.N, 20000)
	sample := (&station.Ingest{Stations: benchStations}).Movement(benchRead(0))
	raw, err := bolt.BenchRawBolt(dir, n, bolt.RecordSize(sample))
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	rate, err := benchPipeline(filepath.Join(dir, "ingest.db"), n)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(rate, "scans/s")
	b.ReportMetric(raw, "ceiling-raw-puts/s")
	b.ReportMetric(rate/raw, "x-ceiling")
}

// TestBenchFigures runs a small bench and checks every figure is measured
// and compared with a ceiling from the same run.
func TestBenchFigures(t *testing.T) {
	figs, err := Run(context.Background(), t.TempDir(), Params{Scans: 3000, NaiveScans: 20, Rate: 500, LatencyFor: 200 * time.Millisecond, TraceMovements: 8000})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"raw_bbolt_ceiling", "one_tx_per_scan", "durable_ingest", "peak_heap_ingest", "latency_p50", "latency_p99", "latency_max", "peak_heap_latency",
		"rfid_reads_per_core", "peak_heap_rfid", "verify_chain", "peak_heap_verify", "decision_lookup_p99", "trace_p50", "decision_p99",
		"peak_heap_fill", "peak_heap_trace", "peak_heap_decision"}
	if len(figs) != len(want) {
		t.Fatalf("figures %+v", figs)
	}
	for i, f := range figs {
		if f.Name != want[i] || !(f.Value > 0) || f.Ceiling == "" {
			t.Errorf("figure %d: %+v", i, f)
		}
	}
	byName := map[string]Figure{}
	for _, f := range figs {
		byName[f.Name] = f
	}
	if f := byName["decision_p99"]; !strings.Contains(f.Ceiling, "8000-movement ledger") || !strings.Contains(f.Ceiling, "lookups alone") {
		t.Errorf("the decision must be compared with the lookups alone, on the trace ledger: %+v", f)
	}
	if !strings.Contains(figs[2].Ceiling, "raw bbolt") || !strings.Contains(figs[2].Ceiling, "115200-baud scanner port") || figs[2].Goal == "" {
		t.Errorf("ingest must be compared with its ceilings: %+v", figs[2])
	}
	if f := byName["latency_p99"]; !strings.Contains(f.Ceiling, "bare one-put bbolt commit") || !strings.Contains(f.Goal, "1.5x") {
		t.Errorf("the scan-to-durable p99 must be compared with a bare commit's at the same rate: %+v", f)
	}
	if f := byName["peak_heap_ingest"]; f.Unit != "MiB" || !strings.Contains(f.Goal, "flat") || !strings.Contains(f.Ceiling, "VmHWM") {
		t.Errorf("the ingest's memory must be reported with its flatness: %+v", f)
	}
}

// BenchmarkRFIDReads measures the RFID read pipeline per core beside the
// line-rate ceiling of one 115200-baud port.
func BenchmarkRFIDReads(b *testing.B) {
	rate, ceiling, err := benchRFIDReads(max(b.N, 5000))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(rate, "reads/s")
	b.ReportMetric(ceiling, "ceiling-115200-baud-reads/s")
}

// TestAllFlag: --all takes every size's default and is refused beside a
// size flag, naming it.
func TestAllFlag(t *testing.T) {
	fs := pflag.NewFlagSet("bench", pflag.ContinueOnError)
	f := RegisterFlags(fs)
	if err := fs.Parse([]string{"--all"}); err != nil {
		t.Fatal(err)
	}
	p, err := f.Params()
	if err != nil || !f.All() || p.Scans != 1_000_000 || p.TraceMovements != bolt.GoalTraceMovements {
		t.Fatalf("--all: %+v, %v", p, err)
	}
	fs = pflag.NewFlagSet("bench", pflag.ContinueOnError)
	f = RegisterFlags(fs)
	if err := fs.Parse([]string{"--all", "--trace-movements", "0"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Params(); err == nil || !strings.Contains(err.Error(), "drop --trace-movements") {
		t.Fatalf("--all beside a size: %v", err)
	}
}
