package api_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/api"
	"github.com/udi-edge/udi-edge/agent/bolt"
	"github.com/udi-edge/udi-edge/agent/core"
)

// BenchmarkConcurrentTraces asks a running agent's API for fifty traces of
// a product of 100,000 items at once, while a scan is recorded every 10
// ms: the server's bounds (four requests at a time, 10,000 movements a
// page) keep the heap flat and the scans answered. It reports the peak
// heap beside the ceiling it is compared with, measured in the same run:
// the memory fifty unbounded traces of the whole product would hold at
// once; and the scans' p99 (the nurse's answer) beside the p99 of the
// same scans with no trace running, measured first.
func BenchmarkConcurrentTraces(b *testing.B) {
	const items, clients = 100_000, 50
	dir := b.TempDir()
	l, err := bolt.Open(bolt.Options{Path: filepath.Join(dir, "ledger.db"), Gateway: "gw-bench"})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	at := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	for i := range items {
		wg.Add(1)
		l.Submit(agent.Movement{Time: at, Kind: agent.KindReceive, Item: fmt.Sprintf("(01)09520123456788(21)C%06d", i), Location: "warehouse"},
			func(agent.Movement, error) { wg.Done() })
	}
	wg.Wait()
	g, err := core.New(core.Config{}, core.Deps{Store: l, Master: l})
	if err != nil {
		b.Fatal(err)
	}
	// The ceiling: what one unbounded trace of the whole product holds.
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	all, err := l.TracePrefix(context.Background(), "(01)09520123456788(", 0)
	if err != nil || len(all) != items {
		b.Fatal(len(all), err)
	}
	runtime.ReadMemStats(&after)
	unbounded := float64(after.TotalAlloc-before.TotalAlloc) * clients / (1 << 20)
	all = nil

	// The clients read the answers without decoding them: a client is
	// another process, its work is not the agent's.
	hc := serveCore(b, g, api.Limits{Wait: time.Minute}).httpClient()

	// A scan every 10 ms for a second with nothing else to do: the
	// floor the scans under the traces are compared with.
	var idle []time.Duration
	for i := range 100 {
		start := time.Now()
		if _, err := l.Append(context.Background(), agent.Movement{Time: start, Kind: agent.KindUse, Item: fmt.Sprintf("(01)06901234100013(21)I%d", i), Location: "OR-3"}); err != nil {
			b.Fatal(err)
		}
		idle = append(idle, time.Since(start))
		time.Sleep(10 * time.Millisecond)
	}
	slices.Sort(idle)

	var peak atomic.Uint64
	var scans []time.Duration
	b.ResetTimer()
	for range b.N {
		stop := make(chan struct{})
		var bg sync.WaitGroup
		bg.Add(2)
		go func() { // the heap, sampled
			defer bg.Done()
			var ms runtime.MemStats
			for {
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peak.Load() {
					peak.Store(ms.HeapInuse)
				}
				select {
				case <-stop:
					return
				case <-time.After(5 * time.Millisecond):
				}
			}
		}()
		go func() { // a scan every 10 ms
			defer bg.Done()
			for i := 0; ; i++ {
				start := time.Now()
				if _, err := l.Append(context.Background(), agent.Movement{Time: start, Kind: agent.KindUse, Item: fmt.Sprintf("(01)06901234100013(21)U%d", i), Location: "OR-3"}); err != nil {
					b.Error(err)
					return
				}
				scans = append(scans, time.Since(start))
				select {
				case <-stop:
					return
				case <-time.After(10 * time.Millisecond):
				}
			}
		}()
		var cw sync.WaitGroup
		for range clients {
			cw.Add(1)
			go func() {
				defer cw.Done()
				resp, err := hc.Get(fmt.Sprintf("http://agent/v1/trace?code=09520123456788&limit=%d", core.MaxTraceLimit))
				if err != nil {
					b.Error(err)
					return
				}
				n, _ := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || n < core.MaxTraceLimit*100 {
					b.Errorf("trace: %s, %d bytes", resp.Status, n)
				}
			}()
		}
		cw.Wait()
		close(stop)
		bg.Wait()
	}
	b.StopTimer()
	slices.Sort(scans)
	p99 := scans[min(len(scans)-1, len(scans)*99/100)]
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
	b.ReportMetric(unbounded, "ceiling-unbounded-MiB")
	b.ReportMetric(float64(p99)/float64(time.Millisecond), "scan-p99-ms")
	b.ReportMetric(float64(idle[98])/float64(time.Millisecond), "idle-scan-p99-ms")
}
