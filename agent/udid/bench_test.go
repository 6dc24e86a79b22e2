package udid

import (
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/udi-edge/udi-edge/agent/testkit"
)

// benchFile is the generated file shared by the benchmarks of one run.
var benchFile struct {
	once sync.Once
	path string
	n    int
	size int64
	err  error
}

// benchXML generates, once per run, a download part of 1,000,000 devices
// (10,000 with -short) in a temporary directory removed at exit.
func benchXML(b *testing.B) (string, int, int64) {
	benchFile.once.Do(func() {
		n := 1_000_000
		if testing.Short() {
			n = 10_000
		}
		dir, err := os.MkdirTemp("", "udid-bench-")
		if err != nil {
			benchFile.err = err
			return
		}
		path := filepath.Join(dir, "UDID_FULL_DOWNLOAD_PART1_Of_1.xml")
		f, err := os.Create(path)
		if err != nil {
			benchFile.err = err
			return
		}
		if err := Generate(f, n, 1); err != nil {
			benchFile.err = err
		}
		if err := f.Close(); err != nil && benchFile.err == nil {
			benchFile.err = err
		}
		fi, _ := os.Stat(path)
		benchFile.path, benchFile.n, benchFile.size = path, n, fi.Size()
	})
	if benchFile.err != nil {
		b.Fatal(benchFile.err)
	}
	return benchFile.path, benchFile.n, benchFile.size
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchFile.path != "" {
		os.RemoveAll(filepath.Dir(benchFile.path))
	}
	os.Exit(code)
}

// BenchmarkReadXML reads a generated download part of 1,000,000 devices
// (10,000 with -short) and reports records/s and the peak heap, beside
// a bare encoding/xml token scan of the same file (the ceiling).
func BenchmarkReadXML(b *testing.B) {
	path, n, size := benchXML(b)
	b.Run("udid", func(b *testing.B) {
		b.SetBytes(size)
		runtime.GC()
		peak := testkit.WatchHeap()
		var recs int64
		for b.Loop() {
			f, err := os.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			var r Reader
			st, err := r.ReadXML(f, path, func(Device) error { return nil })
			f.Close()
			if err != nil {
				b.Fatal(err)
			}
			if st.Records != int64(n) {
				b.Fatalf("%d records, want %d", st.Records, n)
			}
			recs += st.Records
		}
		b.ReportMetric(float64(recs)/b.Elapsed().Seconds(), "records/s")
		b.ReportMetric(peak.End(), "peak-heap-MiB")
		if rss := testkit.PeakRSS(); rss > 0 {
			b.ReportMetric(rss, "peak-RSS-MiB")
		}
	})
	b.Run("scan", func(b *testing.B) {
		// The ceiling of this reader: repair and tokenise, keep nothing.
		scanFile(b, path, n, size, func(f io.Reader) error {
			s := newScanner(Repair(f))
			for {
				k, err := s.next()
				if err != nil || k == tEOF {
					return err
				}
			}
		})
	})
	b.Run("encoding-xml", func(b *testing.B) {
		// A bare encoding/xml token scan of the same repaired input: what
		// the standard library alone would allow.
		scanFile(b, path, n, size, func(f io.Reader) error {
			_, err := TokenScan(f)
			return err
		})
	})
}

// scanFile runs scan over the file at path b.N times and reports the
// records/s and the peak heap.
func scanFile(b *testing.B, path string, n int, size int64, scan func(io.Reader) error) {
	b.SetBytes(size)
	runtime.GC()
	peak := testkit.WatchHeap()
	for b.Loop() {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		err = scan(f)
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(int64(n)*int64(b.N))/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(peak.End(), "peak-heap-MiB")
}
