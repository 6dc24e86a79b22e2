package core_test

import (
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent/core"
)

// sweeps counts the supplier's sweeps of every par level and expiry
// horizon (each tells the observer the stock expiring, then alerts,
// withdraws and raises): once it counts n+1, n sweeps are done.
type sweeps struct{ n atomic.Int64 }

func (s *sweeps) Decided(time.Duration, string) {}
func (s *sweeps) Expiring([]core.ExpiringUnits) { s.n.Add(1) }

// await waits until n more sweeps than done have begun: n-1 are done.
func (s *sweeps) await(t *testing.T, done int64, n int64) {
	t.Helper()
	waitFor(t, "the sweeps", func() bool { return s.n.Load() >= done+n })
}

// TestExpiryAlertsNotRepeatedByRestart: units within an expiry horizon
// are alerted once as they arrive; a restart the same day, and one the
// next day, alerts none of them again; a line crossing a nearer horizon
// while the gateway runs is alerted at it.
func TestExpiryAlertsNotRepeatedByRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	day := time.Date(2026, 12, 6, 9, 0, 0, 0, time.FixedZone("CST", 8*3600))
	var now atomic.Pointer[time.Time]
	now.Store(&day)
	clock := func() time.Time { return *now.Load() }
	alerts := func(log *syncBuffer, lot string) int {
		n := 0
		for _, line := range strings.Split(log.String(), "\n") {
			if strings.Contains(line, `msg="stock expiring"`) && strings.Contains(line, "lot="+lot+" ") {
				n++
			}
		}
		return n
	}
	var log1 syncBuffer
	g, _, stop := supplyGateway(t, path, clock, &log1)
	scan(g, "desk", gs1(stent, "270131", "L1", "S1"), day) // 56 days: within 60 since 2 December
	scan(g, "desk", gs1(stent, "270305", "L3", "S3"), day) // 89 days: within 90 since yesterday
	g.Wait()
	waitFor(t, "the alerts", func() bool { return alerts(&log1, "L1") == 1 && alerts(&log1, "L3") == 1 })
	stop()

	var log2 syncBuffer
	var sw2 sweeps
	_, _, stop = supplyGateway(t, path, clock, &log2, &sw2)
	sw2.await(t, 0, 2)
	stop()
	if n, m := alerts(&log2, "L1"), alerts(&log2, "L3"); n != 0 || m != 0 {
		t.Fatalf("a restart the same day alerted again: L1 %d, L3 %d times:\n%s", n, m, log2.String())
	}

	next := day.AddDate(0, 0, 1)
	now.Store(&next)
	var log3 syncBuffer
	var sw3 sweeps
	_, _, stop = supplyGateway(t, path, clock, &log3, &sw3)
	defer stop()
	sw3.await(t, 0, 2)
	if n, m := alerts(&log3, "L1"), alerts(&log3, "L3"); n != 0 || m != 0 {
		t.Fatalf("a restart the next day alerted again: L1 %d, L3 %d times:\n%s", n, m, log3.String())
	}
	later := day.AddDate(0, 0, 26) // L1: 30 days left
	now.Store(&later)
	waitFor(t, "L1 within 30 days", func() bool { return alerts(&log3, "L1") == 1 })
	if !strings.Contains(log3.String(), "horizon_days=30") {
		t.Errorf("L1's alert at 30 days:\n%s", log3.String())
	}
}
