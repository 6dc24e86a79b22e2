package edge

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/epc"
)

// runCabinet starts an agent on a simulated 500-tag cabinet and returns it
// with a stop function. Movements' outcomes go to out.
func runCabinet(t *testing.T, store, device string, out chan<- agent.Outcome) (*Agent, func()) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Gateway, cfg.Store = "gw-cab", store
	cfg.Readers = []ReaderConfig{{ID: "cab", Type: "mercury", Device: device, Baud: 115200,
		Antennas: []AntennaConfig{{Port: 1, Zone: "shelf-a"}, {Port: 2, Zone: "shelf-b"}}}}
	cfg.Zones = []ZoneConfig{
		{Name: "shelf-a", Location: "cabinet-7", Role: "cabinet", Round: Duration(150 * time.Millisecond)},
		{Name: "shelf-b", Location: "cabinet-7", Role: "cabinet", Round: Duration(150 * time.Millisecond)},
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	a := NewAgent(cfg, nil)
	a.OnAnswer = func(_ string, o agent.Outcome) {
		select {
		case out <- o:
		default:
			t.Error("outcome channel full")
		}
	}
	if err := a.Open(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	return a, func() {
		cancel()
		<-done
		if err := a.Close(); err != nil {
			t.Error(err)
		}
	}
}

// TestCabinetRestart stocks a simulated cabinet of 500 tagged items whose
// tags each miss 10 % of the reader's rounds, lets the agent count them,
// then restarts the agent on the same ledger: the restarted agent knows the
// exact inventory from its first round (restored from the ledger), records
// nothing new while nothing changes, and records a removal when an item is
// taken.
func TestCabinetRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 500 tags over a pseudo-terminal")
	}
	dir := t.TempDir()
	world, sim, all := stockedCabinet(t, dir, 500, 200000, 0.1)
	store := filepath.Join(dir, "ledger.db")

	out := make(chan agent.Outcome, 2048)
	a, stop := runCabinet(t, store, sim.Path(), out)
	counted := map[string]bool{}
	deadline := time.After(30 * time.Second)
	for len(counted) < 500 {
		select {
		case o := <-out:
			if o.Movement.Kind != agent.KindCount || o.Verdict != agent.VerdictAccepted {
				t.Fatalf("cold start: unexpected %s %s %s", o.Verdict, o.Movement.Kind, o.Movement.Item)
			}
			counted[o.Movement.Item] = true
		case <-deadline:
			t.Fatalf("cold start counted %d of 500", len(counted))
		}
	}
	stop()

	// Restart on the same ledger.
	out = make(chan agent.Outcome, 2048)
	a, stop = runCabinet(t, store, sim.Path(), out)
	defer stop()
	slices.Sort(all)
	sameAsPlaced := func(when string) {
		t.Helper()
		if got := cabinetInventory(t, a); !slices.Equal(got, all) {
			t.Fatalf("%s: inventory holds %d tags, not the 500 placed", when, len(got))
		}
	}
	sameAsPlaced("restored")
	last := a.Ledger().LastSeq()
	checkFor(t, 10*time.Second, func() error {
		if st := a.connected(); !st["cab"] {
			return fmt.Errorf("reader not reading")
		}
		return nil
	})
	// Twenty of the tracker's rounds (sixty of the reader's) of a steady
	// cabinet: nothing to record.
	r0 := sim.Rounds()
	checkFor(t, 20*time.Second, func() error {
		if n := sim.Rounds(); n < r0+60 {
			return fmt.Errorf("reader at round %d, waiting for %d", n, r0+60)
		}
		return nil
	})
	if n := a.Ledger().LastSeq(); n != last {
		ms, _ := a.Ledger().TracePrefix(context.Background(), "(01)", 10)
		t.Fatalf("a steady cabinet recorded %d movements after restart: %+v", n-last, ms)
	}
	sameAsPlaced("after 20 rounds")
	// Take one item out: a removal after MissRounds (8) rounds of 150 ms;
	// the deadline leaves room for a loaded machine.
	taken, _ := epc.EncodeSGTIN96("06901234100013", "200123", 1, 7)
	world.Remove(2, taken)
	select {
	case o := <-out:
		if o.Movement.Kind != agent.KindIssue || o.Movement.Item != epc.Key(taken) {
			t.Fatalf("after taking an item: %s %s", o.Movement.Kind, o.Movement.Item)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no removal")
	}
}
