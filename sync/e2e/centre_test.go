package e2e_test

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/sync/central/boltstore"
)

// centreHead reads a stopped centre's head of gateway from its store.
func centreHead(t testing.TB, c *centre, gateway string) uint64 {
	t.Helper()
	st, err := boltstore.OpenReadOnly(c.store, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	heads, err := st.Ledgers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range heads {
		if h.Gateway == gateway {
			return h.Seq
		}
	}
	return 0
}

// TestCentreRestartedMidStream: udi-central stops (SIGTERM) or dies
// (SIGKILL) while a gateway drains a backlog of 40,000 and scans keep
// arriving, and starts again on the same store with the same client id
// (its persistent session kept by the broker).
func TestCentreRestartedMidStream(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		t.Run(map[syscall.Signal]string{syscall.SIGTERM: "SIGTERM", syscall.SIGKILL: "SIGKILL"}[sig], func(t *testing.T) {
			start := time.Now()
			const site, backlog = "site-centre", 40000
			s := newScenario(t, start, site, "gw-d", backlog, true)
			c, sc, g := s.c, s.sc, s.g
			g.start()
			scans := sc.keepScanning("D", 15*time.Millisecond)

			acked, last := g.waitMidDrain(backlog / 4)
			if sig == syscall.SIGTERM {
				c.stop()
			} else {
				c.kill()
			}
			held := centreHead(t, c, g.id)
			logf(t, start, "centre stopped by %v at gateway acked %d of %d; its store holds up to %d", sig, acked, last, held)
			// What the gateway holds as acknowledged, the centre's store
			// holds: nothing was acknowledged before it was durable.
			a, _, err := g.acked()
			if err != nil {
				t.Fatal(err)
			}
			if a > held || held == 0 || held >= uint64(backlog) {
				t.Fatalf("gateway acked %d, centre's store holds up to %d of at least %d", a, held, backlog)
			}
			// The gateway goes on without the centre: scans are recorded,
			// nothing more is acknowledged.
			waitFor(t, startWait, "scans while the centre is away", func() error {
				a2, l2, err := g.acked()
				switch {
				case err != nil:
					return err
				case a2 > held:
					return failNowf("acked %d with the centre away, holding %d", a2, held)
				case l2 < last+10:
					return fmt.Errorf("last %d", l2)
				}
				return nil
			})

			c.start()
			logf(t, start, "centre restarted")
			waitFor(t, drainWait, "the cursor to move past what the centre held", func() error {
				a, _, err := g.acked()
				if err == nil && a <= held {
					err = fmt.Errorf("acked %d", a)
				}
				return err
			})
			// The counters are the store's: every movement held, those
			// stored before the restart too.
			n := uint64(backlog + scans.halt(t))
			s.finish(t, n, n)
		})
	}
}
