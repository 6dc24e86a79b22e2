package e2e_test

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// TestBrokerKilledMidStream: the broker dies (SIGKILL: no persistence, no
// retained ack survives) while a gateway drains a backlog of 50,000 and
// scans keep arriving; it comes back on the same port and everything
// arrives, each movement stored once.
func TestBrokerKilledMidStream(t *testing.T) {
	start := time.Now()
	const site, backlog = "site-broker", 50000
	s := newScenario(t, start, site, "gw-b", backlog, true)
	broker, sc, g := s.broker, s.sc, s.g
	g.start()
	scans := sc.keepScanning("B", 15*time.Millisecond)

	for round := 1; round <= 2; round++ {
		acked, last := g.waitMidDrain(uint64(round-1) * backlog / 3)
		broker.Kill()
		logf(t, start, "broker killed at acked %d of %d", acked, last)
		waitFor(t, startWait, "the gateway to notice", func() error {
			st, err := g.status()
			if err == nil && st.Sync.Connected {
				err = errors.New("still connected")
			}
			return err
		})
		// Scans go on being recorded and answered while the broker is
		// down; nothing is acknowledged.
		downAcked, downLast, err := g.acked()
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, startWait, "scans to be recorded offline", func() error {
			a, l, err := g.acked()
			switch {
			case err != nil:
				return err
			case a != downAcked:
				return failNowf("the cursor moved from %d to %d with the broker down", downAcked, a)
			case l < downLast+5:
				return fmt.Errorf("last movement %d, was %d", l, downLast)
			}
			return nil
		})
		broker.Restart()
		logf(t, start, "broker restarted (gateway acked %d)", downAcked)
		waitFor(t, drainWait, "the cursor to move again", func() error {
			a, _, err := g.acked()
			if err == nil && a <= downAcked {
				err = fmt.Errorf("acked %d", a)
			}
			return err
		})
	}
	n := uint64(backlog + scans.halt(t))
	s.finish(t, n, n)
}
