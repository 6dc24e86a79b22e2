package presence_test

import (
	"fmt"
	"time"

	"github.com/udi-edge/udi-edge/agent/presence"
)

// A cabinet read in rounds, with a door, and a tag taken out.
func Example() {
	tr, err := presence.New(presence.Config{
		MissRounds: 2,
		Zones: map[string]presence.ZoneConfig{
			"cabinet-3": {Role: presence.RoleCabinet},
		},
	}, func(ev presence.Event) {
		fmt.Printf("%s %s in %s (baseline %v)\n", ev.Kind, ev.Tag, ev.Zone, ev.Baseline)
	})
	if err != nil {
		panic(err)
	}
	start := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	round := func(n int, tags ...string) {
		for _, tag := range tags {
			tr.Observe(presence.Read{Tag: tag, Reader: "cab3", Antenna: 1, Zone: "cabinet-3", RSSI: -58,
				Time: start.Add(time.Duration(n)*time.Second - 500*time.Millisecond)})
		}
		tr.EndRound("cabinet-3", start.Add(time.Duration(n)*time.Second))
	}
	round(1, "(01)09506000134352(21)A1", "(01)09506000134352(21)A2")
	tr.DoorOpened("cabinet-3", start.Add(1100*time.Millisecond))
	round(2) // door open: does not count
	tr.DoorClosed("cabinet-3", start.Add(2500*time.Millisecond))
	round(3, "(01)09506000134352(21)A1") // the round in which the door closed
	round(4, "(01)09506000134352(21)A1") // rescan
	round(5, "(01)09506000134352(21)A1")
	round(6, "(01)09506000134352(21)A1")
	inventory, _ := tr.Snapshot("cabinet-3")
	fmt.Println(inventory)
	// Output:
	// placed (01)09506000134352(21)A1 in cabinet-3 (baseline true)
	// placed (01)09506000134352(21)A2 in cabinet-3 (baseline true)
	// removed (01)09506000134352(21)A2 in cabinet-3 (baseline false)
	// [(01)09506000134352(21)A1]
}
