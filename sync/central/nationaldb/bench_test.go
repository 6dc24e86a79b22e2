package nationaldb

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/udi-edge/udi-edge/agent/testkit"
	"github.com/udi-edge/udi-edge/agent/udid"
)

// benchFile is the generated UDID file shared by the benchmarks of a run.
var benchFile struct {
	once sync.Once
	dir  string
	path string
	n    int
	err  error
}

// benchUDID generates, once per run, a download part of 1,000,000
// devices (20,000 with -short) in a temporary directory removed at exit.
func benchUDID(b *testing.B) (string, int) {
	benchFile.once.Do(func() {
		n := 1_000_000
		if testing.Short() {
			n = 20_000
		}
		dir, err := os.MkdirTemp("", "nationaldb-bench-")
		if err != nil {
			benchFile.err = err
			return
		}
		benchFile.dir = dir
		path := filepath.Join(dir, "UDID_FULL_DOWNLOAD_PART1_Of_1.xml")
		f, err := os.Create(path)
		if err != nil {
			benchFile.err = err
			return
		}
		benchFile.err = udid.Generate(f, n, 1)
		if err := f.Close(); err != nil && benchFile.err == nil {
			benchFile.err = err
		}
		benchFile.path, benchFile.n = path, n
	})
	if benchFile.err != nil {
		b.Fatal(benchFile.err)
	}
	return benchFile.path, benchFile.n
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchFile.dir != "" {
		os.RemoveAll(benchFile.dir)
	}
	os.Exit(code)
}

// BenchmarkImportUDID imports a generated download part of 1,000,000
// devices (20,000 with -short) into a new index, in transactions of
// DefaultBatch and of 10,000 records, then again into the full index
// (every device replaced: a re-import), and reports records/s, the peak
// heap and the index's size per device, beside the bare udid reader over
// the same file (the ceiling).
func BenchmarkImportUDID(b *testing.B) {
	path, n := benchUDID(b)
	ctx := context.Background()
	b.Run("reader", func(b *testing.B) {
		runtime.GC()
		heap := testkit.WatchHeap()
		var recs int64
		for b.Loop() {
			st, err := udid.Open(path, func(udid.Device) error { return nil })
			if err != nil {
				b.Fatal(err)
			}
			recs += st.Records
		}
		b.ReportMetric(float64(recs)/b.Elapsed().Seconds(), "records/s")
		b.ReportMetric(heap.End(), "peak-heap-MiB")
	})
	for _, c := range []struct {
		name  string
		again bool
		batch int
	}{{"index", false, DefaultBatch}, {"index-batch10000", false, 10000}, {"reindex", true, DefaultBatch}} {
		again := c.again
		b.Run(c.name, func(b *testing.B) {
			var (
				recs     int64
				heapPeak float64
				size     int64
			)
			for b.Loop() {
				b.StopTimer()
				dir, err := os.MkdirTemp(filepath.Dir(path), "index-")
				if err != nil {
					b.Fatal(err)
				}
				db, err := Open(filepath.Join(dir, "national.db"))
				if err != nil {
					b.Fatal(err)
				}
				if again {
					if _, err := db.ImportUDID(ctx, path, Options{}); err != nil {
						b.Fatal(err)
					}
				}
				runtime.GC()
				heap := testkit.WatchHeap()
				b.StartTimer()
				st, err := db.ImportUDID(ctx, path, Options{Batch: c.batch})
				b.StopTimer()
				heapPeak = max(heapPeak, heap.End())
				if err != nil || st.Read != int64(n) || st.Bad != 0 || st.Kept+st.Unkeyed+st.Stale != int64(n) {
					b.Fatalf("%+v %v", st, err)
				}
				recs += st.Read
				in, _ := db.Info()
				size = in.Bytes / max(in.Devices, 1)
				db.Close()
				os.RemoveAll(dir)
				b.StartTimer()
			}
			b.ReportMetric(float64(recs)/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(heapPeak, "peak-heap-MiB")
			b.ReportMetric(float64(size), "file-bytes/device")
		})
	}
}
