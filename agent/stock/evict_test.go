package stock

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/udi-edge/udi-edge/agent"
)

// TestForgetsWhatIsGone: random lives of serial items (receipts, consigned
// or not, stocking, issues, uses, second uses, cancellations of the last
// movement, wastes, disposals, returns, tags commissioned) folded into a
// stock that forgets the items gone for good and into one that keeps
// everything: both say the same of every line, every location's units,
// the uses drawn (demand, refills owed, uses since a request) at every
// step's end, while the first holds fewer items and read some back.
func TestForgetsWhatIsGone(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	kinds := []agent.Kind{agent.KindReceive, agent.KindReceive, agent.KindStock, agent.KindIssue, agent.KindUse, agent.KindUse,
		agent.KindUse, agent.KindWaste, agent.KindDispose, agent.KindReturn, agent.KindTransfer, agent.KindAdjust, agent.KindAdjust,
		agent.KindCommission}
	locs := []string{"WH", "CAB-1", "OR-3"}
	var reads, fewer int
	for round := range 150 {
		keep, forget := New(), New()
		forget.keepGone = r.IntN(3) // 0: forgotten at once
		var ledger []agent.Movement
		forget.SetHistory(func(key string) ([]agent.Movement, error) {
			var out []agent.Movement
			for _, m := range ledger {
				if m.Item == key {
					out = append(out, m)
				}
			}
			return out, nil
		})
		last := map[string]agent.Movement{}
		for seq := uint64(1); seq <= 120; seq++ {
			key := fmt.Sprintf("(01)%s(21)S%d", gtin, r.IntN(12))
			m := agent.Movement{Gateway: "gw", Seq: seq, Time: day, Kind: kinds[r.IntN(len(kinds))], Item: key, GTIN: gtin,
				Location: locs[r.IntN(len(locs))], Lot: fmt.Sprint("L", r.IntN(2)), Expiry: "2027-06-30"}
			if (m.Kind == agent.KindReceive || m.Kind == agent.KindUse) && r.IntN(2) == 0 {
				m.Flags = []string{agent.ConsignedFlag("MedSup")}
			}
			if m.Kind == agent.KindCommission {
				m.Tag = fmt.Sprintf("urn:epc:raw:96.x%02d", r.IntN(40))
			}
			if m.Kind == agent.KindAdjust {
				if p, ok := last[key]; ok && r.IntN(5) != 0 {
					m.Reason = agent.CancelReason(p.Kind, p.Seq)
				} else {
					m.Reason = "found on the shelf"
				}
			}
			ledger = append(ledger, m)
			last[key] = m
			keep.Apply(m)
			forget.Apply(m)
			if got, want := summary(forget), summary(keep); got != want {
				t.Fatalf("round %d, after seq %d (%s %s): forgetting\n%s\nkeeping\n%s", round, seq, m.Kind, m.Item, got, want)
			}
		}
		n, _ := forget.Reloads()
		reads += n
		if forget.Items() < keep.Items() {
			fewer++
		}
	}
	if reads == 0 || fewer == 0 {
		t.Fatalf("%d reads back, %d rounds holding fewer items: the forgetting was never exercised", reads, fewer)
	}
}

// summary is what a stock says, as text: its lines, each location's
// units and lots, and the uses drawn from each location and product.
func summary(s *Stock) string {
	out := fmt.Sprintln(s.Lines(Query{}, nil))
	for _, loc := range []string{"WH", "CAB-1", "OR-3"} {
		out += fmt.Sprintln(loc, s.UnitsAt(loc), s.LotsAt(loc))
	}
	out += fmt.Sprintln("refills", s.Refills(), "demanded", s.Demanded())
	for _, p := range s.Demanded() {
		out += fmt.Sprintln(p, s.Demand(p[0], p[1], day, 3), s.usedSince(p[0], p[1]))
	}
	return out
}

// TestForgottenUnreadable: an item forgotten whose history cannot be read
// again is folded as one never seen, and the failure is counted.
func TestForgottenUnreadable(t *testing.T) {
	s := New()
	s.keepGone = 0
	broken := false
	var ledger []agent.Movement
	s.SetHistory(func(string) ([]agent.Movement, error) {
		if broken {
			return nil, errors.New("damaged page")
		}
		return slices.Clone(ledger), nil
	})
	for _, m := range []agent.Movement{
		mv(agent.KindReceive, "WH"), mv(agent.KindUse, "OR-3"),
	} {
		m.Seq = uint64(len(ledger) + 1)
		ledger = append(ledger, m)
		s.Apply(m)
	}
	if s.Items() != 0 {
		t.Fatalf("a used item still held: %d items", s.Items())
	}
	broken = true
	m := mv(agent.KindAdjust, "OR-3")
	m.Seq, m.Reason = 3, agent.CancelReason(agent.KindUse, 2)
	s.Apply(m)
	if reads, failed := s.Reloads(); reads != 1 || failed != 1 {
		t.Fatalf("reloads %d, failed %d: want 1 and 1", reads, failed)
	}
}
