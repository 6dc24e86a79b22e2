package nationaldb

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"

	"github.com/udi-edge/udi-edge/agent/testkit"
	"github.com/udi-edge/udi-edge/agent/udid"
	"github.com/udi-edge/udi-edge/agent/udid/udidtest"
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

// newerFile is benchFile with every device one version later.
var newerFile struct {
	once sync.Once
	path string
	err  error
}

// benchNewer writes, once per run, the benchmark's file with each
// versionNumber one more: every device a later version of itself.
func benchNewer(b *testing.B) string {
	path, _ := benchUDID(b)
	newerFile.once.Do(func() {
		newerFile.path = filepath.Join(filepath.Dir(path), "UDID_UPDATE_PART1_Of_1.xml")
		newerFile.err = laterVersions(path, newerFile.path)
	})
	if newerFile.err != nil {
		b.Fatal(newerFile.err)
	}
	return newerFile.path
}

// laterVersions copies the XML part from to to, adding one to each
// versionNumber (the generator writes each field on a line of its own).
func laterVersions(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	r, w := bufio.NewReaderSize(in, 1<<20), bufio.NewWriterSize(out, 1<<20)
	open, end := []byte("<versionNumber>"), []byte("</versionNumber>")
	for {
		line, err := r.ReadSlice('\n')
		if v, ok := bytes.CutPrefix(line, open); ok {
			if i := bytes.Index(v, end); i > 0 {
				n, cerr := strconv.Atoi(string(v[:i]))
				if cerr != nil {
					return fmt.Errorf("%s: %w", from, cerr)
				}
				line = fmt.Appendf(nil, "%s%d%s", open, n+1, v[i:])
			}
		}
		w.Write(line)
		if err == io.EOF {
			break
		}
		if err != nil {
			out.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchFile.dir != "" {
		os.RemoveAll(benchFile.dir)
	}
	os.Exit(code)
}

// BenchmarkImportUDID imports a generated download part of 1,000,000
// devices (20,000 with -short) into a new index (index: a first import),
// then into the full index the same file again (again: every device
// unchanged) and the same devices each one version later (update: every
// device replaced), and reports records/s, the peak heap, the peak RSS of
// the process (VmHWM, reset before the index is opened for the import)
// and the index's size per device, with the goals, beside a bare encoding/xml token scan of the
// same file and the udid reader alone (the ceilings), in the same run.
func BenchmarkImportUDID(b *testing.B) {
	path, n := benchUDID(b)
	ctx := context.Background()
	b.Run("xml-token-scan", udidtest.TokenScan(path))
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
		first bool // import path into a new index first
		file  func(*testing.B) string
	}{
		{"index", false, func(*testing.B) string { return path }},
		{"again", true, func(*testing.B) string { return path }},
		{"update", true, benchNewer},
	} {
		b.Run(c.name, func(b *testing.B) {
			var (
				recs          int64
				heapPeak, rss float64
				size          int64
			)
			file := c.file(b)
			for b.Loop() {
				b.StopTimer()
				dir, err := os.MkdirTemp(filepath.Dir(path), "index-")
				if err != nil {
					b.Fatal(err)
				}
				index := filepath.Join(dir, "national.db")
				if c.first {
					db, err := Open(index)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := db.ImportUDID(ctx, path, Options{}); err != nil {
						b.Fatal(err)
					}
					db.Close()
				}
				// As `udi-central import udid` does: open, then import.
				runtime.GC()
				testkit.ResetPeakRSS()
				heap := testkit.WatchHeap()
				b.StartTimer()
				db, err := Open(index)
				if err != nil {
					b.Fatal(err)
				}
				st, err := db.ImportUDID(ctx, file, Options{})
				b.StopTimer()
				heapPeak = max(heapPeak, heap.End())
				rss = max(rss, testkit.PeakRSS())
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
			b.ReportMetric(udidtest.GoalRecords, "goal-records/s")
			b.ReportMetric(heapPeak, "peak-heap-MiB")
			if rss > 0 {
				b.ReportMetric(rss, "peak-RSS-MiB")
				b.ReportMetric(udidtest.GoalRSSMiB, "goal-RSS-MiB")
			}
			b.ReportMetric(float64(size), "file-bytes/device")
		})
	}
}
