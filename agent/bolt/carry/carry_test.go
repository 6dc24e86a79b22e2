package carry

import (
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
)

var orStart = time.Date(2025, 1, 1, 7, 0, 0, 0, time.FixedZone("CST", 8*3600))

const (
	simGTIN    = "09520123456788"
	simLotGTIN = "06901234567892"
)

func unitKey(gtin, serial string) string { return "(01)" + gtin + "(21)" + serial }

// TestNeeded names what keeps a group of movements in the ledger.
func TestNeeded(t *testing.T) {
	key := unitKey(simGTIN, "X1")
	at := func(k agent.Kind, seq uint64, flags ...string) agent.Movement {
		return agent.Movement{Seq: seq, Kind: k, Item: key, Location: "OR-3", Time: orStart, Flags: flags}
	}
	lot := "(01)" + simLotGTIN + "(10)B1"
	lotAt := func(k agent.Kind, seq uint64) agent.Movement {
		return agent.Movement{Seq: seq, Kind: k, Item: lot, Location: "OR-3", Time: orStart}
	}
	req := agent.Movement{Seq: 1, Kind: agent.KindContext, Item: simGTIN, Location: "OR-3", Flags: []string{agent.FlagReplenish},
		Reason: agent.RequestReason(agent.Request{Quantity: 2, Urgency: agent.UrgencyRoutine, Max: 2})}
	met := agent.Movement{Seq: 2, Kind: agent.KindContext, Item: simGTIN, Location: "OR-3", Flags: []string{agent.FlagMet}, Reason: agent.MetReason(1, 2)}
	for _, c := range []struct {
		name string
		ms   []agent.Movement
		want bool
	}{
		{"on hand", []agent.Movement{at(agent.KindReceive, 1)}, true},
		{"used", []agent.Movement{at(agent.KindReceive, 1), at(agent.KindUse, 2)}, false},
		{"wasted", []agent.Movement{at(agent.KindReceive, 1), at(agent.KindWaste, 2)}, false},
		{"quarantined", []agent.Movement{at(agent.KindReceive, 1), at(agent.KindQuarantine, 2)}, true},
		{"disposed", []agent.Movement{at(agent.KindReceive, 1), at(agent.KindQuarantine, 2), at(agent.KindDispose, 3)}, false},
		{"issued, not used", []agent.Movement{at(agent.KindReceive, 1), at(agent.KindIssue, 2)}, true},
		{"consigned and used (the refill is the proof's)", []agent.Movement{at(agent.KindReceive, 1, agent.ConsignedFlag("ACME")), at(agent.KindUse, 2, agent.ConsignedFlag("ACME"))}, false},
		{"tag read after its item was used", []agent.Movement{at(agent.KindReceive, 1),
			{Seq: 2, Kind: agent.KindCommission, Item: key, Tag: "urn:epc:id:sgtin:952012.345678.1", Location: "OR-3"},
			{Seq: 3, Kind: agent.KindCount, Item: "urn:epc:id:sgtin:952012.345678.1", Location: "OR-3"},
			at(agent.KindUse, 4)}, false},
		{"lot used up", []agent.Movement{lotAt(agent.KindReceive, 1), lotAt(agent.KindUse, 2)}, false},
		{"lot left", []agent.Movement{lotAt(agent.KindReceive, 1), lotAt(agent.KindReceive, 2), lotAt(agent.KindUse, 3)}, true},
		{"lot used more than received", []agent.Movement{lotAt(agent.KindUse, 1)}, true},
		{"request open", []agent.Movement{req}, true},
		{"request met and recorded", []agent.Movement{req, met}, false},
	} {
		if got := Needed(c.ms); got != c.want {
			t.Errorf("%s: Needed %v, want %v", c.name, got, c.want)
		}
	}
}
