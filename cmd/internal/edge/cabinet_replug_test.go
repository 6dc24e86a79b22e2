package edge

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/epc"
	"github.com/udi-edge/udi-edge/reader/uhfsim"
)

// TestCabinetReaderUnplugged: the reader of a stocked cabinet is
// unplugged for many of the cabinet's rounds and plugged back in, and the
// agent is restarted while the reader is away: no item is recorded taken
// out, and the cabinet still holds every item once the reader reads again.
func TestCabinetReaderUnplugged(t *testing.T) {
	if testing.Short() {
		t.Skip("streams tags over a pseudo-terminal for seconds")
	}
	dir := t.TempDir()
	_, sim, all := stockedCabinet(t, dir, 10, 300000, 0)
	slices.Sort(all)
	store := filepath.Join(dir, "ledger.db")
	out := make(chan agent.Outcome, 1024)
	a, stop := runCabinet(t, store, sim.Path(), out)
	for range all {
		select {
		case o := <-out:
			if o.Movement.Kind != agent.KindCount {
				t.Fatalf("cold start: %s %s", o.Movement.Kind, o.Movement.Item)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("cold start: the cabinet was not counted")
		}
	}
	// Twenty of the cabinet's rounds (150 ms) without the reader: more
	// than twice the eight missed rounds that mean an item was taken.
	quiet := func(when string) {
		t.Helper()
		select {
		case o := <-out:
			t.Fatalf("%s: recorded %s %s (%s)", when, o.Movement.Kind, o.Movement.Item, o.Movement.Reason)
		case <-time.After(3 * time.Second):
		}
	}
	back := func(when string) {
		t.Helper()
		checkFor(t, 20*time.Second, func() error {
			if !a.connected()["cab"] {
				return fmt.Errorf("%s: reader not reading", when)
			}
			return nil
		})
		r0 := sim.Rounds()
		checkFor(t, 20*time.Second, func() error {
			if n := sim.Rounds(); n < r0+40 {
				return fmt.Errorf("%s: reader at round %d, waiting for %d", when, n, r0+40)
			}
			return nil
		})
		quiet(when + ", back")
		if got := cabinetInventory(t, a); !slices.Equal(got, all) {
			t.Fatalf("%s: the cabinet holds %d items, not the %d on its shelves", when, len(got), len(all))
		}
	}

	sim.Unplug()
	checkFor(t, 10*time.Second, func() error {
		if a.connected()["cab"] {
			return fmt.Errorf("the agent has not seen the reader go")
		}
		return nil
	})
	quiet("reader unplugged")
	if err := sim.Replug(); err != nil {
		t.Fatal(err)
	}
	back("replugged")
	stop()

	sim.Unplug()
	a, stop = runCabinet(t, store, sim.Path(), out)
	defer stop()
	quiet("restarted without its reader")
	if err := sim.Replug(); err != nil {
		t.Fatal(err)
	}
	back("restarted, then the reader plugged in")
}

// stockedCabinet makes a simulated Mercury cabinet reader at dir/cab with
// n tagged items (serials from first on) on its two shelf antennas,
// each tag missing a share miss of the reader's rounds, and returns its
// world, the reader (closed when the test ends) and the items' keys.
func stockedCabinet(t *testing.T, dir string, n, first int, miss float64) (*uhfsim.World, *uhfsim.Mercury, []string) {
	t.Helper()
	world := uhfsim.NewWorld()
	var all []string
	for i := range n {
		e, err := epc.EncodeSGTIN96("06901234100013", fmt.Sprint(first+i), 1, 7)
		if err != nil {
			t.Fatal(err)
		}
		world.Place(1+i%2, uhfsim.Tag{EPC: e})
		all = append(all, epc.Key(e))
	}
	sim, err := uhfsim.NewMercury(uhfsim.MercuryConfig{Link: filepath.Join(dir, "cab"), World: world,
		Antennas: []int{1, 2}, Seed: 7, Miss: miss, Round: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	return world, sim, all
}

// cabinetInventory returns the items the agent's runCabinet cabinet holds
// on its two shelves now, sorted.
func cabinetInventory(t *testing.T, a *Agent) []string {
	t.Helper()
	var tags []string
	for _, z := range []string{"shelf-a", "shelf-b"} {
		got, err := a.Core().Inventory(t.Context(), z)
		if err != nil {
			t.Fatal(err)
		}
		tags = append(tags, got...)
	}
	slices.Sort(tags)
	return tags
}
