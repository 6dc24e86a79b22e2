package lifecycle

import (
	"fmt"
	"time"

	"github.com/udi-edge/udi-edge/agent"
)

// unitKey is the item key of one serialised item.
const unitKey = "(01)09506000134352(21)SN0001"

// mv returns a movement of the unit item of kind k at location loc.
func mv(k agent.Kind, loc string) agent.Movement {
	return agent.Movement{
		Gateway: "gw-1", Kind: k, Item: unitKey, GTIN: "09506000134352", Serial: "SN0001",
		Location: loc, Time: time.Date(2026, 11, 20, 10, 5, 0, 0, shanghai),
	}
}

// seq applies kinds in order at loc and returns the state, numbering the
// movements from 1.
func seq(loc string, kinds ...agent.Kind) State {
	var s State
	for i, k := range kinds {
		m := mv(k, loc)
		m.Seq = uint64(i + 1)
		s, _ = Apply(s, m)
	}
	return s
}

var (
	shanghai = mustZone("Asia/Shanghai")
	newYork  = mustZone("America/New_York")
)

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		// The zone database is embedded below; this cannot fail.
		panic(err)
	}
	return loc
}

func sprintState(s State) string { return fmt.Sprintf("%+v", s) }
