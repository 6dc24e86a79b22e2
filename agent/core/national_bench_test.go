package core_test

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/udi-edge/udi-edge/agent/bolt"
	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/agent/master"
	"github.com/udi-edge/udi-edge/agent/national"
	"github.com/udi-edge/udi-edge/agent/testkit"
	"github.com/udi-edge/udi-edge/agent/udid"
	"github.com/udi-edge/udi-edge/agent/udid/udidtest"
)

// BenchmarkImportUDID imports a generated NMPA UDI download part of
// 1,000,000 devices (20,000 with -short) into a gateway whose catalogue
// holds 2,000 of them, end to end (core.ImportNational: the streaming
// reader, the join, the catalogue's import into the bbolt ledger), and
// reports records/s, the peak heap and the peak RSS of the process
// (VmHWM, reset before the run), beside a bare encoding/xml token scan of
// the same file in the same run and the goals.
func BenchmarkImportUDID(b *testing.B) {
	n := 1_000_000
	if testing.Short() {
		n = 20_000
	}
	dir := b.TempDir()
	path := filepath.Join(dir, "UDID_FULL_RELEASE_PART1_Of_1.xml")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	gen := udid.Generator{Seed: 3}
	if _, err := gen.XML(f, n); err != nil {
		b.Fatal(err)
	}
	f.Close()
	var own []master.CatalogueEntry
	for i := 0; len(own) < 2000 && i < n; i += max(n/2000, 1) {
		es, _ := national.Entries(gen.Device(i))
		if len(es) > 0 {
			e := es[0]
			e.Name, e.ChargeCode, e.UnitPrice = "本院 "+strconv.Itoa(i), "H-"+strconv.Itoa(i), 1000
			own = append(own, e)
		}
	}

	b.Run("import", func(b *testing.B) {
		var recs int64
		var peak float64
		rss := 0.0
		for b.Loop() {
			b.StopTimer()
			l, err := bolt.Open(bolt.Options{Path: filepath.Join(b.TempDir(), "ledger.db"), Gateway: "gw-1"})
			if err != nil {
				b.Fatal(err)
			}
			g, err := core.New(core.Config{}, core.Deps{Store: l, Master: l})
			if err != nil {
				b.Fatal(err)
			}
			var cat strings.Builder
			if err := master.WriteCatalogueJSON(&cat, own); err != nil {
				b.Fatal(err)
			}
			if _, err := g.Import(context.Background(), "catalogue", strings.NewReader(cat.String()), core.ImportOptions{Format: "json"}); err != nil {
				b.Fatal(err)
			}
			runtime.GC()
			testkit.ResetPeakRSS()
			w := testkit.WatchHeap()
			b.StartTimer()
			res, err := core.ImportNational(context.Background(), g, core.SourceUDID, path, core.NationalOptions{})
			b.StopTimer()
			peak = max(peak, w.End())
			rss = max(rss, testkit.PeakRSS())
			if err != nil {
				b.Fatal(err)
			}
			if res.Join.Devices != int64(n) || res.Join.Kept < int64(len(own)) {
				b.Fatalf("read %d devices, kept %d; want %d, at least %d", res.Join.Devices, res.Join.Kept, n, len(own))
			}
			recs += res.Join.Devices
			l.Close()
			b.StartTimer()
		}
		b.ReportMetric(float64(recs)/b.Elapsed().Seconds(), "records/s")
		b.ReportMetric(udidtest.GoalRecords, "goal-records/s")
		b.ReportMetric(peak, "peak-heap-MiB")
		if rss > 0 {
			b.ReportMetric(rss, "peak-RSS-MiB")
			b.ReportMetric(udidtest.GoalRSSMiB, "goal-RSS-MiB")
		}
	})
	b.Run("xml-token-scan", udidtest.TokenScan(path))
}
