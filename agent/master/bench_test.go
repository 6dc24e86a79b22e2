package master

import (
	"bytes"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"
)

var (
	benchOnce sync.Once
	benchData *Data
)

func bigData(b *testing.B) *Data {
	benchOnce.Do(func() {
		var err error
		if benchData, err = synthetic(GoalCatalogue, GoalRecalledLots); err != nil {
			b.Fatal(err)
		}
	})
	return benchData
}

// BenchmarkDecision times the lookups of one point-of-use decision over a
// 100,000-product catalogue with 10,000 recalled lots.
func BenchmarkDecision(b *testing.B) { benchDecision(b, bigData(b)) }

// BenchmarkDecisionLoaded is BenchmarkDecision over the set as a gateway
// holds it after a restart: loaded from its stored values (LoadSets), the
// catalogue read where its value lies.
func BenchmarkDecisionLoaded(b *testing.B) {
	values, err := bigData(b).MarshalSets()
	if err != nil {
		b.Fatal(err)
	}
	for name, v := range values {
		values[name] = bytes.Clone(v) // as the ledger returns them
	}
	d, damaged := LoadSets(values, nil)
	if damaged != nil || d.Counts().Catalogue != GoalCatalogue {
		b.Fatal(damaged, d.Counts())
	}
	benchDecision(b, d)
}

// benchDecision times the decisions of queries over d.
func benchDecision(b *testing.B, d *Data) {
	qs := queries(d, 1<<16)
	b.ResetTimer()
	i, sink := 0, 0
	for b.Loop() {
		sink += decide(d, qs[i&(len(qs)-1)])
		i++
	}
	b.StopTimer()
	times := make([]time.Duration, len(qs))
	for j, q := range qs {
		t := time.Now()
		sink += decide(d, q)
		times[j] = time.Since(t)
	}
	slices.Sort(times)
	p99 := percentile(times, 0.99)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/decision")
	b.ReportMetric(float64(p99.Nanoseconds())/1e3, "p99-µs")
	b.ReportMetric(float64(GoalDecisionP99.Nanoseconds())/1e3, "goal-p99-µs")
	if sink < 0 {
		b.Log(sink)
	}
}

// BenchmarkUnmarshal times reloading a 100,000-product set from its
// encoding, indexes included.
func BenchmarkUnmarshal(b *testing.B) {
	d := bigData(b)
	enc, err := d.MarshalBinary()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(enc)))
	for b.Loop() {
		var n Data
		if err := n.UnmarshalBinary(enc); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/load")
	b.ReportMetric(float64(GoalLoad.Milliseconds()), "goal-ms/load")
	b.ReportMetric(float64(len(enc)), "bytes/set")
}

// BenchmarkLoadSets times reloading a 100,000-product set from its
// stored values, one per set, indexes included.
func BenchmarkLoadSets(b *testing.B) {
	d := bigData(b)
	values, err := d.MarshalSets()
	if err != nil {
		b.Fatal(err)
	}
	size := 0
	for _, v := range values {
		size += len(v)
	}
	b.SetBytes(int64(size))
	for b.Loop() {
		if n, damaged := LoadSets(values, nil); damaged != nil || n.Counts().Catalogue != GoalCatalogue {
			b.Fatal(damaged)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/load")
	b.ReportMetric(float64(GoalLoad.Milliseconds()), "goal-ms/load")
	b.ReportMetric(float64(size), "bytes/set")
}

// BenchmarkParseCatalogueCSV times reading a 100,000-row catalogue file,
// in UTF-8 and in GBK.
func BenchmarkParseCatalogueCSV(b *testing.B) {
	d := bigData(b)
	var buf bytes.Buffer
	buf.WriteString("gtin,name,model,manufacturer,insurance_code,charge_code,unit_price,high_value,imported,tracking\n")
	for _, e := range d.Catalogue() {
		fmt.Fprintf(&buf, "%s,%s,%s,%s,%s,%s,%s,%v,%v,%s\n", e.GTIN, e.Name, e.Model, e.Manufacturer,
			e.InsuranceCode, e.ChargeCode, e.UnitPrice, e.HighValue, e.Imported, e.Tracking)
	}
	gbk, err := simplifiedchinese.GBK.NewEncoder().Bytes(buf.Bytes())
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		in   []byte
		enc  string
	}{{"utf-8", buf.Bytes(), EncodingUTF8}, {"gbk", gbk, EncodingGB18030}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.in)))
			for b.Loop() {
				got, rep, err := ParseCatalogue(bytes.NewReader(c.in), ImportOptions{Format: FormatCSV})
				if err != nil || rep.Encoding != c.enc || len(got) != GoalCatalogue {
					b.Fatal(err, rep.Encoding, len(got))
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/file")
		})
	}
}

func TestBenchLookups(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 100,000-product set")
	}
	p50, p99, err := BenchLookups(20000)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("p50 %v, p99 %v (goal %v)", p50, p99, GoalDecisionP99)
	if p99 > GoalDecisionP99 {
		t.Errorf("p99 %v over the goal %v", p99, GoalDecisionP99)
	}
}
