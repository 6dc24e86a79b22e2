package epcis_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/epcis"
)

// countWriter counts the bytes written to it.
type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// BenchmarkWrite writes a document of 100,000 movements (the sequence's
// kinds, each item its own serial) and reports events/s and bytes/event.
func BenchmarkWrite(b *testing.B) {
	const n = 100_000
	seq := sequence()
	ms := make([]agent.Movement, 0, n)
	for i := 0; len(ms) < n; i++ {
		m := seq[i%len(seq)]
		if m.Kind == agent.KindReject || m.Kind == kindContext {
			continue
		}
		if m.Serial != "" && m.Item[0] == '(' {
			m.Item = "(01)" + gtin + "(21)" + strconv.Itoa(100000+i)
		}
		m.Seq = uint64(i + 1)
		m.Time = m.Time.Add(time.Duration(i) * time.Second)
		ms = append(ms, m)
	}
	opt := epcis.Options{Site: "hosp-1", Gateway: "gw-or-3", CreationDate: time.Now()}
	var cw countWriter
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := epcis.Write(&cw, ms, opt); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(n)*float64(b.N)/sec, "events/s")
	b.ReportMetric(float64(cw.n)/float64(n)/float64(b.N), "bytes/event")
}
