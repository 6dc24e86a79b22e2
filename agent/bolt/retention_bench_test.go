package bolt

import (
	"context"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// bytesInUse returns the bytes of the ledger's file bbolt uses for data:
// its high water mark less the pages it holds free.
func bytesInUse(b testing.TB, l *Ledger) int64 {
	b.Helper()
	var n int64
	err := l.view(func(tx *bolt.Tx) error {
		st := l.db.Stats()
		n = tx.Size() - int64(st.FreePageN+st.PendingPageN)*int64(l.db.Info().PageSize)
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// diskBytes returns the bytes the file at path takes on disk (its
// allocated blocks: bbolt grows a file ahead by truncating it, which
// allocates nothing until written).
func diskBytes(b testing.TB, path string) int64 {
	b.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		b.Fatal(err)
	}
	return int64(st.Blocks) * 512
}

// BenchmarkBytesPerMovement writes 200,000 movements (BenchMovement,
// consecutive serials) as the agent does, compacts the file, and reports
// the bytes on disk per movement, after the writes and after the
// compaction, beside the record's encoded size: the goal is at most 1.5
// times it.
//
//	go test -run '^$' -bench BytesPerMovement -benchtime 1x ./agent/bolt/
func BenchmarkBytesPerMovement(b *testing.B) {
	const n = 200000
	for range b.N {
		path := filepath.Join(b.TempDir(), "ledger.db")
		l, err := Open(Options{Path: path, Gateway: testGateway})
		if err != nil {
			b.Fatal(err)
		}
		var recBytes int64
		o := newOutcomes()
		for i := range n {
			m := BenchMovement()
			m.Serial = fmt.Sprintf("SN%010d", i)
			m.Item = "(01)" + m.GTIN + "(21)" + m.Serial
			m.Gateway = testGateway
			recBytes += int64(RecordSize(m))
			m.Gateway = ""
			l.Submit(m, o.done(i))
		}
		o.wg.Wait()
		rec := float64(recBytes) / n
		written, writtenUse, writtenDisk := float64(fileSize(b, path))/n, float64(bytesInUse(b, l))/n, float64(diskBytes(b, path))/n
		if _, err := l.Compact(context.Background(), CompactOptions{}); err != nil {
			b.Fatal(err)
		}
		compacted, compactedUse, compactedDisk := float64(fileSize(b, path))/n, float64(bytesInUse(b, l))/n, float64(diskBytes(b, path))/n
		b.ReportMetric(rec, "record_B")
		b.ReportMetric(written, "file_B/movement_written")
		b.ReportMetric(writtenUse, "used_B/movement_written")
		b.ReportMetric(compacted, "file_B/movement_compacted")
		b.ReportMetric(compactedUse, "used_B/movement_compacted")
		b.ReportMetric(writtenDisk, "disk_B/movement_written")
		b.ReportMetric(compactedDisk, "disk_B/movement_compacted")
		b.ReportMetric(compacted/rec, "x_record_compacted")
		b.ReportMetric(1.5, "goal_x_record")
		if err := l.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBusyORYears runs two years of a busy operating room's
// gateway (orSim: 300 units received a day, about a thousand movements a
// day with the lots, tags, requests, cases and rejects) at the default
// retention (400 days), the centre acknowledging each day's movements
// but the last 200, the ledger's maintenance looking once a day. It
// reports the file's size after one year (nothing is old enough to
// leave yet) and at the end of the second (the bound retention keeps
// it at), beside the disk budget's default on a 32-bit gateway.
//
//	go test -run '^$' -bench BusyORYears -benchtime 1x -timeout 30m ./agent/bolt/
func BenchmarkBusyORYears(b *testing.B) {
	for range b.N {
		var now time.Time
		path := filepath.Join(b.TempDir(), "ledger.db")
		r := Retention{Horizon: DefaultRetention, Every: time.Hour, Folds: stockFolds, Now: func() time.Time { return now }}
		l, err := Open(Options{Path: path, Gateway: testGateway, Retention: &r})
		if err != nil {
			b.Fatal(err)
		}
		sim := newORSim(b, l, 300)
		var year1, year1Movements float64
		var cuts int
		var took time.Duration
		for day := range 730 {
			sim.runDays(1)
			now = orStart.AddDate(0, 0, day+1)
			if last := l.LastSeq(); last > 200 {
				if err := l.SetSyncCursor(last - 200); err != nil {
					b.Fatal(err)
				}
			}
			rep, err := l.Maintain(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			if rep.Compacted != nil {
				cuts++
				took += rep.Compacted.Took
			}
			if day == 364 {
				year1, year1Movements = float64(fileSize(b, path)), float64(l.LastSeq())
			}
		}
		first, _ := l.FirstSeq()
		a, _, _ := l.Anchor()
		end := float64(fileSize(b, path))
		b.ReportMetric(year1Movements/365, "movements/day")
		b.ReportMetric(year1/(1<<20), "MiB_after_1y")
		b.ReportMetric(end/(1<<20), "MiB_after_2y")
		b.ReportMetric(float64(l.LastSeq()-first+1+a.Carried), "movements_kept_2y")
		b.ReportMetric(float64(a.Carried), "carried_2y")
		b.ReportMetric(float64(cuts), "compactions")
		if cuts > 0 {
			b.ReportMetric(took.Seconds()/float64(cuts), "s/compaction")
		}
		b.ReportMetric(float64(DefaultMaxBytes32)/(1<<20), "MiB_budget_32bit")
		if err := l.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
