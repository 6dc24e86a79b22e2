package lifecycle

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
)

// movements decodes fuzz input into a sequence of movements of one item:
// each three bytes give a kind (or an unknown one), a location, a From, a
// case and a cancellation of the previous movement.
func movements(data []byte) []agent.Movement {
	locs := []string{"", "WH", "CAB-1", "OR-3", "Q"}
	var ms []agent.Movement
	t0 := time.Date(2026, 11, 1, 8, 0, 0, 0, shanghai)
	for i := 0; i+2 < len(data); i += 3 {
		a, b, c := data[i], data[i+1], data[i+2]
		seq := uint64(len(ms) + 1)
		m := agent.Movement{
			Gateway: "gw-1", Seq: seq, Time: t0.Add(time.Duration(seq) * time.Minute),
			Item: unitKey, Location: locs[int(b)%len(locs)], From: locs[int(b>>4)%len(locs)],
		}
		kinds := len(agent.Kinds)
		switch k := int(a) % (kinds + 2); {
		case k < kinds:
			m.Kind = agent.Kinds[k]
		case k == kinds:
			m.Kind = "teleport"
		default:
			m.Kind = agent.KindAdjust
			m.Reason = "cancels " + string(agent.Kinds[int(c)%kinds]) + " movement " + strconv.Itoa(int(seq)-1-int(c>>6))
		}
		if c&1 != 0 {
			m.Case = "C-" + strconv.Itoa(int(c))
		}
		if c&2 != 0 {
			m.Lot, m.Expiry = "L"+strconv.Itoa(int(c>>2)), "2026-12-"+strconv.Itoa(10+int(c)%18)
		}
		if a&0x80 != 0 {
			m.Item = "(01)09506000134352(10)L1" // a lot key
		}
		ms = append(ms, m)
	}
	return ms
}

// FuzzApply folds random movement sequences: Apply never panics, is
// deterministic, and the state after any prefix, continued, equals the
// replay of the whole sequence from scratch. A History fed the same
// movements keeps as many uses as the state counts, and has the same
// state.
func FuzzApply(f *testing.F) {
	f.Add([]byte{0, 1, 0, 1, 1, 0, 2, 2, 0, 5, 3, 1, 5, 3, 1})
	f.Add([]byte{5, 3, 1, 6, 1, 0, 5, 3, 3})
	f.Add([]byte{0, 1, 0, 8, 4, 0, 3, 3, 0, 11, 2, 0})
	f.Add([]byte{0, 1, 0, 2, 2, 0, 5, 3, 1, 15, 3, 5, 5, 3, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		// A life of a few hundred movements is already long; longer inputs
		// only slow the search down.
		if len(data) > 3*400 {
			data = data[:3*400]
		}
		ms := movements(data)
		var s State
		var uses int
		var h History
		for i, m := range ms {
			keep := m
			next, flags := Apply(s, m)
			again, flags2 := Apply(s, m)
			if next != again || !slices.Equal(flags, flags2) {
				t.Fatalf("movement %d: Apply is not deterministic", i)
			}
			if m.Kind != keep.Kind || m.Reason != keep.Reason {
				t.Fatalf("movement %d rewritten", i)
			}
			if !slices.Contains(Statuses, next.Status) {
				t.Fatalf("movement %d: status %q", i, next.Status)
			}
			last := -1
			for _, fl := range flags {
				j := slices.Index(LifecycleFlags, fl)
				if j <= last {
					t.Fatalf("movement %d: flags %q out of order or unknown", i, flags)
				}
				last = j
			}
			if m.Kind == agent.KindReject || m.Kind == agent.KindContext {
				if next != s || flags != nil {
					t.Fatalf("movement %d: %v changed the state", i, m.Kind)
				}
			} else if next.LastSeq != m.Seq || next.Movements != s.Movements+1 {
				t.Fatalf("movement %d not recorded as the last", i)
			}
			if m.Kind == agent.KindUse {
				uses++
			}
			if next.Uses > uses || next.Uses < 0 {
				t.Fatalf("movement %d: %d uses out of %d", i, next.Uses, uses)
			}
			s = next
			if h.Add(m); h.State != s || len(h.Uses) != s.Uses {
				t.Fatalf("movement %d: history keeps %d uses, the state counts %d", i, len(h.Uses), s.Uses)
			}
		}
		replayed, _ := Replay(ms)
		if replayed != s {
			t.Fatalf("replay %+v\nincremental %+v", replayed, s)
		}
		step := max(1, len(ms)/8)
		for cut := 0; cut < len(ms); cut += step {
			p, _ := Replay(ms[:cut])
			for _, m := range ms[cut:] {
				p, _ = Apply(p, m)
			}
			if p != s {
				t.Fatalf("continuing after %d movements differs", cut)
			}
		}
	})
}
