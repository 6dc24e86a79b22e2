package e2e_test

import (
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent/bolt"
)

// connectedRE finds the uplink's "connected" line, with the cursor it
// starts from.
var connectedRE = regexp.MustCompile(`msg="uplink: connected".* acked=(\d+) last_seq=(\d+)`)

// cursorAt reads a stopped gateway's sync cursor and last movement.
func cursorAt(t testing.TB, g *gateway) (cursor, last uint64) {
	t.Helper()
	l, err := bolt.OpenReadOnly(g.store, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cursor, err = l.SyncCursor()
	if err != nil {
		t.Fatal(err)
	}
	return cursor, l.LastSeq()
}

// TestGatewayKilledMidDrain: the gateway dies of SIGKILL in the middle of
// draining a backlog of 50,000 and starts again on the same ledger: its
// cursor survives, it resumes from it, and the centre ends with every
// movement once although some batches reached it twice.
func TestGatewayKilledMidDrain(t *testing.T) {
	start := time.Now()
	const site, backlog = "site-gwkill", 50000
	s := newScenario(t, start, site, "gw-c", backlog, true)
	c, sc, g := s.c, s.sc, s.g
	g.start()
	scans := 0
	for range 20 {
		sc.mustScan("C")
		scans++
	}

	acked, last := g.waitMidDrain(backlog / 4)
	g.kill()
	cursor, fileLast := cursorAt(t, g)
	logf(t, start, "gateway killed at acked %d of %d; the file's cursor is %d of %d", acked, last, cursor, fileLast)
	if cursor < acked || cursor == 0 || cursor >= fileLast || fileLast != uint64(backlog+scans) {
		t.Fatalf("after the kill: cursor %d (acked %d before), last %d; want 0 < cursor < last = %d", cursor, acked, fileLast, backlog+scans)
	}
	// The centre never acknowledges what it does not hold: it holds at
	// least what the gateway's cursor says.
	if h, err := c.head(g.id); err != nil || h < cursor {
		t.Fatalf("centre head %d (%v) below the gateway's cursor %d", h, err, cursor)
	}

	g.start()
	m := connectedRE.FindStringSubmatch(g.output())
	if m == nil {
		waitFor(t, startWait, "the restarted uplink to connect", func() error {
			if m = connectedRE.FindStringSubmatch(g.output()); m == nil {
				return errNotYet
			}
			return nil
		})
	}
	if resumed, _ := strconv.ParseUint(m[1], 10, 64); resumed != cursor {
		t.Fatalf("the restarted uplink starts from cursor %d, the file's is %d", resumed, cursor)
	}
	for range 20 {
		sc.mustScan("C")
		scans++
	}
	n := uint64(backlog + scans)
	s.finish(t, n, n)
}
