package mercury

import (
	"testing"
)

// BenchmarkReadPipeline measures the driver's hot path from bytes to
// emitted events: streamed tag records (the captured T7, T7c, T7e) cut
// from 4 KiB reads, frame CRC, record parsing by the metadata flags, the
// tag's Gen2 CRC, the counters and the copy of the EPC into the TagEvent
// handed to emit, exactly as Run does it, without the serial line. It
// reports reads per second on one core beside the most one 115200-baud
// line (8N1) can carry at this record size.
func BenchmarkReadPipeline(b *testing.B) {
	const perLoop = 1000
	p, err := newBenchPipeline(perLoop)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(p.stream)))
	b.ReportAllocs()
	for b.Loop() {
		p.run()
	}
	if p.reads != perLoop*b.N {
		b.Fatalf("%d reads emitted, want %d", p.reads, perLoop*b.N)
	}
	b.ReportMetric(float64(p.reads)/b.Elapsed().Seconds(), "reads/s")
	b.ReportMetric(p.lineCeiling(), "line-ceiling-reads/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(p.reads), "ns/read")
}

// TestBenchReads runs the function the bench command calls.
func TestBenchReads(t *testing.T) {
	rate, ceiling, err := BenchReads(20000)
	if err != nil {
		t.Fatal(err)
	}
	if ceiling < 240 || ceiling > 250 {
		t.Errorf("line ceiling %.1f reads/s, want 115200/10/47 ≈ 245", ceiling)
	}
	if rate < 10*ceiling {
		t.Errorf("%.0f reads/s: not even ten times one line", rate)
	}
	t.Logf("%.0f reads/s per core; one 115200-baud line carries %.0f", rate, ceiling)
	if _, _, err := BenchReads(0); err == nil {
		t.Error("BenchReads(0) succeeded")
	}
}

// TestReadPipelineAllocations: the read path allocates only the shared
// blocks that emitted EPCs are copied into, well under one allocation per
// hundred reads.
func TestReadPipelineAllocations(t *testing.T) {
	p, err := newBenchPipeline(1000)
	if err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(20, p.run); n > 10 {
		t.Fatalf("%v allocations per thousand reads", n)
	}
}
