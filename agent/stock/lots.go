package stock

import (
	"strings"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/lifecycle"
)

// lot is the state of a key that names many items (a lot, a product):
// its lifecycle state, kept as for an item (so that a cancellation is
// told as lifecycle.CancelsLast tells it), how many units it has at each
// location, and what its last movement counted, which a cancellation
// undoes.
type lot struct {
	u    unit
	at   map[uint32]int
	undo []delta
}

// delta is n units more (or less) at a location.
type delta struct {
	loc uint32
	n   int
}

// applyLot folds m into the counts of key, which names many items (see
// Apply for the rule).
func (s *Stock) applyLot(key string, m agent.Movement) {
	l := s.lots[key]
	created := l == nil
	if created {
		l = &lot{at: map[uint32]int{}}
	}
	prev := s.state(key, &l.u)
	cancel := lifecycle.CancelsLast(prev, m)
	next, _ := lifecycle.Apply(prev, m)
	if next.Movements == prev.Movements {
		return // not applied (blocked, rejected, context)
	}
	if created {
		s.lots[strings.Clone(key)] = l
	}
	old := l.u.id
	l.u = s.record(next)
	l.u.id = s.identOf(old, key, m)
	if old != nil && old != l.u.id {
		// A later scan gave the lot its expiry: its counts move to it.
		for loc, n := range l.at {
			s.add(loc, old, -n, 0)
			s.add(loc, l.u.id, n, 0)
		}
	}
	if cancel {
		for _, d := range l.undo {
			s.countLot(l, d.loc, -d.n)
			if prev.LastKind == agent.KindUse && d.n < 0 {
				s.used(m, d.loc, -1, l.u.id.owner != "")
			}
		}
		l.undo = l.undo[:0]
		return
	}
	l.undo = s.lotMoves(l, m, l.undo[:0])
	for _, d := range l.undo {
		s.countLot(l, d.loc, d.n)
		if d.n > 0 && arrives(m.Kind) {
			s.arrived(d.loc, l.u.id.product, d.n)
		}
		if d.n < 0 && m.Kind == agent.KindUse {
			s.used(m, d.loc, 1, owedRefill(m))
		}
	}
}

// countLot counts n units more of l at loc.
func (s *Stock) countLot(l *lot, loc uint32, n int) {
	if l.at[loc] += n; l.at[loc] == 0 {
		delete(l.at, loc)
	}
	s.add(loc, l.u.id, n, 0)
}

// lotMoves appends to out what m counts for l (see Apply).
func (s *Stock) lotMoves(l *lot, m agent.Movement, out []delta) []delta {
	loc := s.names.id(m.Location)
	from, hasFrom := uint32(0), m.From != ""
	if hasFrom {
		from = s.names.id(m.From)
	}
	switch m.Kind {
	case agent.KindReceive, agent.KindReturn:
		return append(out, delta{loc, 1})
	case agent.KindUse, agent.KindWaste, agent.KindDispose, agent.KindIssue:
		src := from
		if !hasFrom {
			src = loc
			if l.at[loc] <= 0 {
				if f, ok := s.fullest(l, loc, false); ok {
					src = f
				}
			}
		}
		return append(out, delta{src, -1})
	case agent.KindStock, agent.KindTransfer:
		if hasFrom && from != loc {
			return append(out, delta{from, -1}, delta{loc, 1})
		}
		if !hasFrom {
			if f, ok := s.fullest(l, loc, true); ok {
				return append(out, delta{f, -1}, delta{loc, 1})
			}
		}
		if l.at[loc] > 0 {
			return out
		}
		return append(out, delta{loc, 1})
	}
	return out
}

// fullest returns the location where l has the most units (the first by
// name of those with as many), leaving out `except` when skip is set;
// false when no location has any.
func (s *Stock) fullest(l *lot, except uint32, skip bool) (uint32, bool) {
	best, most := uint32(0), 0
	for loc, n := range l.at {
		if n <= 0 || skip && loc == except {
			continue
		}
		if n > most || n == most && s.names.name(loc) < s.names.name(best) {
			best, most = loc, n
		}
	}
	return best, most > 0
}
