package code

import (
	"testing"
	"time"
)

// BenchmarkScan reads the GS1 DataMatrix of an implant box (GTIN, expiry,
// lot, serial). The ceiling it is compared with is a cabinet burst: a few
// hundred reads a second on one gateway.
func BenchmarkScan(b *testing.B) {
	raw := []byte(implant)
	p := Parser{Now: func() time.Time { return time.Date(2026, 6, 15, 0, 0, 0, 0, time.UTC) }}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		c, err := p.Scan(raw)
		if err != nil || c.Serial == "" {
			b.Fatal(c, err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "codes/s")
	b.ReportMetric(500, "ceiling-reads/s")
}

// BenchmarkScanHIBC reads a concatenated HIBC label with supplemental data.
func BenchmarkScanHIBC(b *testing.B) {
	raw := []byte("+A99912345/$$52001510X3/16D20111212/S77DEFG457")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := testParser.Scan(raw); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "codes/s")
}

// BenchmarkScanMA reads CHINA.md's MA vector in its dotted form (both
// check characters computed) and in its XML form, against the same
// ceiling as BenchmarkScan.
func BenchmarkScanMA(b *testing.B) {
	const dotted = "]Q1MA.156.M0.100350.01004YA10017.SLMSAGAAAC.M210628.LAY21062803.E220628.V220627.C3"
	const xml = `]Q1<UDI IAC="MA"><DI>MA.156.M0.100350.01004YA10017</DI><SN>LMSAGAAAC</SN><MFG>210628</MFG><LOT>AY21062803</LOT><EXP>220628</EXP><VAL>220627</VAL></UDI>`
	for _, f := range []struct{ name, raw string }{{"dotted", dotted}, {"XML", xml}} {
		b.Run(f.name, func(b *testing.B) {
			raw := []byte(f.raw)
			b.ReportAllocs()
			for b.Loop() {
				c, err := testParser.Scan(raw)
				if err != nil || c.Serial == "" {
					b.Fatal(c, err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "codes/s")
			b.ReportMetric(500, "ceiling-reads/s")
		})
	}
}
