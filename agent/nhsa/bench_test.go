package nhsa

import (
	"bytes"
	"fmt"
	"strconv"
	"testing"

	"github.com/udi-edge/udi-edge/agent/code"
)

// benchRows is the size of the generated catalogue.
const benchRows = 100_000

// benchCeiling is the rate the benchmark is compared with: a national
// catalogue of a million rows read on a gateway within a minute.
const benchCeiling = 1_000_000 / 60.0

// catalogueFile generates a 1306 file of n rows, each with its own code,
// GTIN and version, in layout order; with a header row unless headerless.
func catalogueFile(tb testing.TB, n int, headerless bool) []byte {
	tb.Helper()
	var b bytes.Buffer
	if !headerless {
		b.WriteString(tsv("\r\n", header1306()))
	}
	for i := range n {
		di := fmt.Sprintf("0690123%06d", i)
		cd, err := code.CheckDigit(di)
		if err != nil {
			tb.Fatal(err)
		}
		b.WriteString(tsv("\r\n", row1306(map[string]string{
			"医疗目录编码":    fmt.Sprintf("C031001%03d%02d%03d%05d%07d", i%1000, i%100, i%7, 12345+i%17, i),
			"耗材名称":      "一次性使用无菌注射器 带针 " + strconv.Itoa(i),
			"医疗器械唯一标识码": di + strconv.Itoa(cd),
			"规格型号":      strconv.Itoa(1+i%50) + "ml",
			"高值耗材标志":    strconv.Itoa(i % 2),
			"唯一记录号":     "rid-" + strconv.Itoa(i),
		})))
	}
	return b.Bytes()
}

// BenchmarkReadCatalogue reads a generated catalogue of 100,000 rows and
// reports rows per second against the ceiling of a million rows a minute.
func BenchmarkReadCatalogue(b *testing.B) {
	utf8 := catalogueFile(b, benchRows, false)
	for _, bc := range []struct {
		name string
		text []byte
	}{
		{"utf8-header", utf8},
		{"gb18030-header", gb18030(b, string(utf8))},
		{"utf8-headerless", catalogueFile(b, benchRows, true)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.text)))
			b.ReportAllocs()
			for b.Loop() {
				n := 0
				sum, err := ReadCatalogue(bytes.NewReader(bc.text), "bench.txt", Options{}, func(Item) error {
					n++
					return nil
				})
				if err != nil || n != benchRows || sum.Passed != benchRows {
					b.Fatalf("%d items, %v", n, err)
				}
			}
			rate := float64(b.N*benchRows) / b.Elapsed().Seconds()
			b.ReportMetric(rate, "rows/s")
			b.ReportMetric(benchCeiling, "ceiling-rows/s")
			b.Logf("%s: %.0f rows/s, %.1f MB per %d rows; ceiling %.0f rows/s (a million rows a minute)",
				bc.name, rate, float64(len(bc.text))/1e6, benchRows, benchCeiling)
		})
	}
}
