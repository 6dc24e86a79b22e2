package barcode_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/testkit"
	"github.com/udi-edge/udi-edge/reader"
	"github.com/udi-edge/udi-edge/reader/barcode"
)

// replugGoal is the longest a replugged scanner may take to be read
// again: the nurse who replugs it scans at once.
const replugGoal = time.Second

// BenchmarkReplug unplugs a scanner (a real pty through go.bug.st/serial)
// and plugs it back in at the same by-id link 10 times, each time 50ms
// later, with the default backoff, and reports the median and the longest
// time from a replug to the first read delivered, beside the goal.
func BenchmarkReplug(b *testing.B) {
	const replugs = 10
	const away = 50 * time.Millisecond
	link := filepath.Join(b.TempDir(), "usb-Acme_2D_Scanner_0042-if00")
	var took []time.Duration
	for b.Loop() {
		dev := testkit.New(b, link)
		sc := barcode.New(barcode.Config{ID: "bench", Serial: reader.Settings{Device: link}}, nil)
		reads := make(chan agent.Read, 16)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- sc.Run(ctx, func(rd agent.Read) { reads <- rd }) }()
		testkit.Eventually(b, wait, "the scanner to connect", sc.Connected)
		for range replugs {
			dev.Unplug()
			testkit.Eventually(b, wait, "the scanner to see the unplug", func() bool { return !sc.Connected() })
			time.Sleep(away) // the device away: the time being measured is after it
			dev = testkit.New(b, link)
			plugged := time.Now()
			testkit.Eventually(b, 30*time.Second, "the scanner to reopen", sc.Connected)
			if err := dev.Send([]byte("]E02112345678900\r")); err != nil {
				b.Fatal(err)
			}
			select {
			case <-reads:
				took = append(took, time.Since(plugged))
			case <-time.After(wait):
				b.Fatal("no read after the replug")
			}
		}
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		dev.Unplug()
	}
	slices.Sort(took)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(took[len(took)/2]), "replug-to-read-median-ms")
	b.ReportMetric(ms(took[len(took)-1]), "replug-to-read-max-ms")
	b.ReportMetric(ms(replugGoal), "goal-ms")
	b.ReportMetric(0, "ns/op")
}
