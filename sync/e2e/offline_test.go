package e2e_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/sync/internal/mosquitto"
)

// TestOfflineFirst: a gateway with a backlog of 20,000 movements starts
// while the broker is down, records scans offline, and delivers all of it
// once the broker comes up.
func TestOfflineFirst(t *testing.T) {
	start := time.Now()
	const site, backlog = "site-offline", 20000
	broker := mosquitto.Start(t, mosquitto.Config{})
	broker.Kill() // the port is the broker's; nobody listens on it yet

	c := startCentre(t, site, broker.Addr())
	sc := newScanner(t, "dock")
	g := newGateway(t, site, "gw-offline", broker.Addr(), sc, gatewayConfig{})
	fillLedger(t, g, backlog, nil)
	logf(t, start, "ledger filled with %d movements", backlog)
	g.start()

	// Offline: scans are recorded and answered, nothing is acknowledged,
	// and the uplink keeps trying.
	for range 10 {
		sc.mustScan("OFF")
	}
	waitFor(t, startWait, "the uplink to fail to connect", func() error {
		if !strings.Contains(g.output(), "uplink: connection ended; reconnecting") {
			return fmt.Errorf("no reconnect line yet")
		}
		return nil
	})
	acked, last, err := g.acked()
	if err != nil || acked != 0 || last != backlog+10 {
		t.Fatalf("offline: acked %d, last %d, err %v; want 0 and %d", acked, last, err, backlog+10)
	}
	logf(t, start, "offline: %d movements, none acknowledged", last)

	broker.Restart()
	logf(t, start, "broker up")
	scans := sc.keepScanning("ON", 20*time.Millisecond)
	waitFor(t, drainWait, "the backlog to start flowing", func() error {
		a, _, err := g.acked()
		if err == nil && a == 0 {
			err = fmt.Errorf("nothing acknowledged yet")
		}
		return err
	})
	logf(t, start, "first ack")
	n := scans.halt(t)
	last = waitDrained(t, c, g, uint64(backlog+10+n))
	logf(t, start, "drained: %d movements (%d scans online)", last, n)
	if last != uint64(backlog+10+n) {
		t.Fatalf("the ledger holds %d movements, want %d", last, backlog+10+n)
	}

	gs, err := c.gateways()
	if err != nil {
		t.Fatal(err)
	}
	if got := gs[g.id].Counters.Stored; got != last {
		t.Errorf("the centre counts %d movements stored, want %d: one was stored twice or not at all", got, last)
	}
	g.stop()
	c.stop()
	verifyDelivered(t, c, g)
	logf(t, start, "verified")
}
