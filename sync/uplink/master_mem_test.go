package uplink

import (
	"context"
	"log/slog"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/sync/internal/mastertest"
	"github.com/udi-edge/udi-edge/sync/internal/mosquitto"
	"github.com/udi-edge/udi-edge/sync/wire"
)

// memRows is the size of the catalogue the memory is measured with.
const memRows = 100_000

// applyMemory is what receiving and applying one set cost in memory.
type applyMemory struct {
	size    int    // bytes of the set
	peak    uint64 // the highest HeapInuse seen above idle
	alloc   uint64 // bytes allocated meanwhile (TotalAlloc)
	kept    uint64 // HeapAlloc above idle after a GC
	elapsed time.Duration
}

// measureApply publishes a memRows-row catalogue retained in parts to a
// real Mosquitto with the shipped packet limit, then starts an uplink of a
// gateway holding nothing and measures, from idle (after a GC), the heap
// until the set is applied: with apply nil, the uplink's own share
// (receiving and reassembling; the set is dropped), otherwise through
// core.Gateway.ApplyCentral on a real ledger (agent/master Import, the
// ledger's write).
//
// gcPercent, unless 0, is the GOGC of the measurement: with a low one the
// peak is close to the live heap, with the default (100) it holds what
// garbage the collector let grow meanwhile, as in a gateway.
func measureApply(tb testing.TB, throughCore bool, gcPercent int) applyMemory {
	tb.Helper()
	b := mosquitto.Start(tb, mosquitto.Config{Extra: "max_packet_size 1050000"})
	m := applyMemory{size: publishRetained(tb, b)}

	l := openLedger(tb, filepath.Join(tb.TempDir(), "ledger.db"))
	done := make(chan error, 1)
	apply := func(string, string, []byte, uint64) error { return nil }
	if throughCore {
		g, err := core.New(core.Config{}, core.Deps{Store: l, Master: l})
		if err != nil {
			tb.Fatal(err)
		}
		apply = g.ApplyCentral
	}
	cfg := Config{
		Site: testSite, Gateway: testGateway, Logger: slog.New(slog.DiscardHandler),
		Apply: func(set, format string, data []byte, version uint64) error {
			err := apply(set, format, data, version)
			done <- err
			return err
		},
	}
	conn, err := NewMQTT(MQTTConfig{Brokers: []string{b.Addr()}, ClientID: wire.ClientID(testSite, testGateway)})
	if err != nil {
		tb.Fatal(err)
	}
	u, err := New(cfg, l, conn)
	if err != nil {
		tb.Fatal(err)
	}

	if gcPercent != 0 {
		defer debug.SetGCPercent(debug.SetGCPercent(gcPercent))
	}
	var idle, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&idle)
	peak := sampleHeap()
	began := time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- u.Run(ctx) }()
	select {
	case err := <-done:
		if err != nil {
			tb.Fatal(err)
		}
	case <-time.After(time.Minute):
		tb.Fatal("the set was not applied")
	}
	m.elapsed = time.Since(began)
	m.peak = peak() - idle.HeapInuse
	runtime.ReadMemStats(&after)
	m.alloc = after.TotalAlloc - idle.TotalAlloc
	runtime.GC()
	runtime.ReadMemStats(&after)
	m.kept = after.HeapAlloc - min(after.HeapAlloc, idle.HeapAlloc)
	cancel()
	if err := <-stopped; err != nil {
		tb.Fatal(err)
	}
	return m
}

// publishRetained publishes a memRows-row catalogue, retained, in parts
// that fit the shipped packet limit, and returns its size; nothing of it
// stays referenced.
func publishRetained(tb testing.TB, b *mosquitto.Broker) int {
	tb.Helper()
	data := mastertest.Catalogue(memRows, "m")
	parts, err := wire.SplitMaster(wire.SetCatalogue, uint64(time.Now().UnixMilli()), wire.FormatCSV, data, 1_000_000)
	if err != nil {
		tb.Fatal(err)
	}
	c := paho.NewClient(paho.NewClientOptions().AddBroker(b.Addr()).SetClientID("centre"))
	if tok := c.Connect(); !tok.WaitTimeout(wait) || tok.Error() != nil {
		tb.Fatalf("connect: %v", tok.Error())
	}
	defer c.Disconnect(0)
	for i := range parts {
		p, err := wire.AppendMasterPart(nil, &parts[i])
		if err != nil {
			tb.Fatal(err)
		}
		if tok := c.Publish(wire.MasterPartTopic(testSite, wire.SetCatalogue, i), 1, true, p); !tok.WaitTimeout(wait) || tok.Error() != nil {
			tb.Fatalf("publish: %v", tok.Error())
		}
	}
	return len(data)
}

// sampleHeap samples HeapInuse every millisecond until the function it
// returns is called, which returns the highest seen.
func sampleHeap() func() uint64 {
	var (
		mu   sync.Mutex
		high uint64
		stop = make(chan struct{})
		done = make(chan struct{})
	)
	go func() {
		defer close(done)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			mu.Lock()
			high = max(high, ms.HeapInuse)
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(stop)
		<-done
		mu.Lock()
		defer mu.Unlock()
		return high
	}
}

// TestMasterReassemblyMemory: receiving a 100,000-row catalogue (8.1 MiB
// in 9 parts) from a real broker and reassembling it takes the set's own
// size and little more: one buffer of the set, and the few parts paho is
// reading (it holds each as the packet read and a copy of its payload),
// measured with GOGC 10, so that the peak is close to the live heap.
// The figures of the whole apply through agent/master are logged (see
// BenchmarkMasterApply for them as metrics).
func TestMasterReassemblyMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("publishes 8.5 MB through a broker")
	}
	m := measureApply(t, false, 10)
	t.Logf("reassembly of %d bytes (GOGC 10): peak %.1f MiB above idle, %.1f MiB allocated, in %v", m.size, mib(m.peak), mib(m.alloc), m.elapsed)
	if limit := uint64(m.size) + 8<<20; m.peak > limit {
		t.Errorf("reassembling %d bytes took a heap of %.1f MiB above idle, want at most %.1f", m.size, mib(m.peak), mib(limit))
	}
	for _, gc := range []int{100, 10} {
		full := measureApply(t, true, gc)
		t.Logf("apply through core of %d bytes (GOGC %d): peak %.1f MiB above idle, %.1f MiB allocated, %.1f MiB kept, in %v",
			full.size, gc, mib(full.peak), mib(full.alloc), mib(full.kept), full.elapsed)
	}
}

// BenchmarkMasterApply reports the memory of receiving and applying a
// 100,000-row catalogue: the uplink's share alone, and through
// core.Gateway.ApplyCentral, with the default GOGC (100) and with 10.
func BenchmarkMasterApply(b *testing.B) {
	for _, c := range []struct {
		name string
		core bool
		gc   int
	}{{"uplink/gogc100", false, 100}, {"uplink/gogc10", false, 10}, {"core/gogc100", true, 100}, {"core/gogc10", true, 10}} {
		b.Run(c.name, func(b *testing.B) {
			var m applyMemory
			for range b.N {
				m = measureApply(b, c.core, c.gc)
			}
			b.ReportMetric(mib(m.peak), "peak-MiB")
			b.ReportMetric(mib(m.alloc), "alloc-MiB")
			b.ReportMetric(mib(m.kept), "kept-MiB")
			b.ReportMetric(float64(m.size)/(1<<20), "set-MiB")
		})
	}
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }
