package mercury

import (
	"testing"
)

// tagStream returns n streamed tag record frames (the captured T7, T7c and
// T7e in turn) back to back, and the length of one frame.
func tagStream(b testing.TB, n int) ([]byte, int) {
	var recs [][]byte
	for _, v := range loadVectors(b) {
		if v.ID == "T7" || v.ID == "T7c" || v.ID == "T7e" {
			recs = append(recs, v.Bytes)
		}
	}
	var out []byte
	for i := range n {
		out = append(out, recs[i%len(recs)]...)
	}
	return out, len(recs[0])
}

// BenchmarkMercuryTagRecords measures the hot path of continuous reading:
// cut streamed tag records from 4 KiB reads, parse each record by its
// metadata flags and check both CRCs. It reports reads per second next to
// the most one 115200-baud port (8N1, 10 bits a byte) can deliver at this
// frame size.
func BenchmarkMercuryTagRecords(b *testing.B) {
	const perLoop = 1000
	stream, frameLen := tagStream(b, perLoop)
	d := NewDecoder()
	var ev Event
	reads := 0
	emit := func(f Frame) {
		if err := ParseEvent(f, &ev); err != nil || ev.Kind != KindTag || !ev.Tag.CRCValid {
			b.Fatalf("event %v: %v", ev.Kind, err)
		}
		reads++
	}
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for p := stream; len(p) > 0; {
			n := min(4096, len(p))
			d.Feed(p[:n], emit)
			p = p[n:]
		}
	}
	b.StopTimer()
	if reads%perLoop != 0 {
		b.Fatalf("%d reads", reads)
	}
	b.ReportMetric(float64(reads)/b.Elapsed().Seconds(), "reads/s")
	b.ReportMetric(115200.0/10/float64(frameLen), "line-reads/s")
}

// TestHotPathAllocations: cutting and parsing tag records allocates
// nothing.
func TestHotPathAllocations(t *testing.T) {
	stream, _ := tagStream(t, 30)
	d := NewDecoder()
	var ev Event
	emit := func(f Frame) {
		if err := ParseEvent(f, &ev); err != nil {
			t.Fatal(err)
		}
	}
	if n := testing.AllocsPerRun(100, func() { d.Feed(stream, emit) }); n != 0 {
		t.Fatalf("%v allocations per run", n)
	}
}
