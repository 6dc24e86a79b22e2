package insurance

import (
	"bytes"
	"fmt"
	"testing"
)

// feeFile returns a JSON fee-detail file of n lines: charges of one
// stent each, every tenth refunded.
func feeFile(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"infno":"2301","input":{"feedetail":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		if i%10 == 9 {
			b.WriteString(fee("feedetl_sn", fmt.Sprint(i), "init_feedetl_sn", fmt.Sprint(i-1), "cnt", "-1", "det_item_fee_sumamt", "-750.00"))
			continue
		}
		b.WriteString(fee("feedetl_sn", fmt.Sprint(i)))
	}
	b.WriteString("]}}")
	return b.Bytes()
}

// BenchmarkReadFees reads a visit's worth of fee lines many times over:
// the figure is fee lines a second. A day's inpatient fee detail of a
// large hospital is some hundred thousand lines.
func BenchmarkReadFees(b *testing.B) {
	data := feeFile(10_000)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		lines, bad, err := ReadFees(bytes.NewReader(data), "bench", FormatJSON, FeeOptions{})
		if err != nil || len(bad) > 0 || len(lines) != 10_000 {
			b.Fatalf("%d lines, %d bad, %v", len(lines), len(bad), err)
		}
	}
	b.ReportMetric(float64(b.N)*10_000/b.Elapsed().Seconds(), "lines/s")
}
