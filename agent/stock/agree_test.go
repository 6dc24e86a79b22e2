package stock

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/lifecycle"
)

// TestAgreesWithLifecycle: for random lives of serial items (every kind,
// unknown kinds, blocked uses, rejects, cancellations of the last
// movement and of others, changing lots and expiries), the stock kept
// move by move equals the one read from lifecycle.Replay of each item's
// movements: the compact state decides as the full one.
func TestAgreesWithLifecycle(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	kinds := append(slices.Clone(agent.Kinds), "bogus")
	locs := []string{"WH", "CAB-1", "W5", "OR-3", ""}
	for round := range 200 {
		s := New()
		byItem := map[string][]agent.Movement{}
		last := map[string]agent.Movement{}
		for seq := uint64(1); seq <= 60; seq++ {
			key := fmt.Sprintf("(01)%s(21)S%d", gtin, r.IntN(6))
			m := agent.Movement{Gateway: "gw", Seq: seq, Kind: kinds[r.IntN(len(kinds))], Item: key, GTIN: gtin, Location: locs[r.IntN(len(locs))]}
			if r.IntN(3) == 0 {
				m.Lot = fmt.Sprint("L", r.IntN(2))
			}
			if r.IntN(3) == 0 {
				m.Expiry = fmt.Sprintf("2027-0%d-01", 1+r.IntN(3))
			}
			if r.IntN(4) == 0 {
				m.From = locs[r.IntN(len(locs))]
			}
			if m.Kind == agent.KindUse && r.IntN(4) == 0 {
				m.Decision = agent.DecisionBlocked
			}
			if m.Kind == agent.KindAdjust && r.IntN(2) == 0 {
				if p, ok := last[key]; ok && r.IntN(4) != 0 {
					m.Reason = agent.CancelReason(p.Kind, p.Seq) // the last one
				} else {
					m.Reason = agent.CancelReason(agent.KindUse, uint64(r.IntN(int(seq))+1))
				}
			}
			if !m.Kind.Valid() || m.Kind.MovesItem() {
				byItem[key] = append(byItem[key], m)
				if m.Decision != agent.DecisionBlocked {
					last[key] = m
				}
			}
			s.Apply(m)
		}
		want := map[string]int{}
		for _, ms := range byItem {
			st, _ := lifecycle.Replay(ms)
			k := fmt.Sprintf("%s %s %s %s", st.Location, gtin, st.Lot, st.Expiry)
			switch st.Status {
			case lifecycle.StatusReceived, lifecycle.StatusCommissioned, lifecycle.StatusStocked, lifecycle.StatusReturned:
				want[k+" units"]++
			case lifecycle.StatusQuarantined:
				want[k+" held"]++
			}
		}
		all := s.Lines(Query{}, nil)
		if !slices.IsSortedFunc(all, compareLines) {
			t.Fatalf("round %d: lines out of order: %+v", round, all)
		}
		for _, loc := range locs {
			at := s.Lines(Query{Location: loc}, nil)
			var want []Line
			for _, l := range all {
				if l.Location == loc {
					want = append(want, l)
				}
			}
			if loc != "" && fmt.Sprint(at) != fmt.Sprint(want) {
				t.Fatalf("round %d: %s: %+v, want %+v", round, loc, at, want)
			}
		}
		got := map[string]int{}
		for _, l := range all {
			k := fmt.Sprintf("%s %s %s %s", l.Location, l.Product, l.Lot, l.Expiry)
			if l.Units != 0 {
				got[k+" units"] = l.Units
			}
			if l.Quarantined != 0 {
				got[k+" held"] = l.Quarantined
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("round %d: stock %v, lifecycle %v", round, got, want)
		}
		// The index of each location's units holds what the lifecycle
		// places there, on hand or held.
		for _, loc := range locs {
			var keys, wantKeys []string
			for _, u := range s.UnitsAt(loc) {
				keys = append(keys, u.Key)
			}
			for key, ms := range byItem {
				st, _ := lifecycle.Replay(ms)
				switch st.Status {
				case lifecycle.StatusReceived, lifecycle.StatusCommissioned, lifecycle.StatusStocked, lifecycle.StatusReturned, lifecycle.StatusQuarantined:
					if st.Location == loc {
						wantKeys = append(wantKeys, key)
					}
				}
			}
			slices.Sort(wantKeys)
			if loc != "" && fmt.Sprint(keys) != fmt.Sprint(wantKeys) {
				t.Fatalf("round %d: units at %s %v, lifecycle %v", round, loc, keys, wantKeys)
			}
		}
	}
}
