package lifecycle

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
)

// prefixes bring an item at location "WH" to each status.
var prefixes = map[Status][]agent.Kind{
	StatusNone:         nil,
	StatusReceived:     {agent.KindReceive},
	StatusCommissioned: {agent.KindReceive, agent.KindCommission},
	StatusStocked:      {agent.KindReceive, agent.KindStock},
	StatusIssued:       {agent.KindReceive, agent.KindStock, agent.KindIssue},
	StatusUsed:         {agent.KindReceive, agent.KindStock, agent.KindIssue, agent.KindUse},
	StatusReturned:     {agent.KindReceive, agent.KindStock, agent.KindIssue, agent.KindReturn},
	StatusWasted:       {agent.KindReceive, agent.KindWaste},
	StatusQuarantined:  {agent.KindReceive, agent.KindStock, agent.KindQuarantine},
	StatusDisposed:     {agent.KindReceive, agent.KindDispose},
}

// transitions is the full transition table: from the status a prefix
// reaches at "WH", a movement of each kind at "OR-3" (no From) leads to
// the status, with the flags. firmware-notes/lifecycle.md shows the same
// table.
const transitions = `
none          receive     received
none          commission  commissioned
none          stock       stocked       never-received
none          issue       issued        never-received
none          transfer    stocked       never-received
none          use         used          never-received
none          return      returned      never-received
none          waste       wasted        never-received
none          quarantine  quarantined   never-received
none          dispose     disposed      never-received
none          count       none          never-received
none          adjust      stocked       never-received

received      receive     received      received-twice
received      commission  commissioned
received      stock       stocked
received      issue       issued
received      transfer    received
received      use         used
received      return      returned
received      waste       wasted
received      quarantine  quarantined
received      dispose     disposed
received      count       received      counted-elsewhere
received      adjust      stocked

commissioned  receive     received      received-twice
commissioned  commission  commissioned
commissioned  stock       stocked
commissioned  issue       issued
commissioned  transfer    commissioned
commissioned  use         used
commissioned  return      returned
commissioned  waste       wasted
commissioned  quarantine  quarantined
commissioned  dispose     disposed
commissioned  count       commissioned  counted-elsewhere
commissioned  adjust      stocked

stocked       receive     received      received-twice
stocked       commission  stocked
stocked       stock       stocked
stocked       issue       issued
stocked       transfer    stocked
stocked       use         used
stocked       return      returned
stocked       waste       wasted
stocked       quarantine  quarantined
stocked       dispose     disposed
stocked       count       stocked       counted-elsewhere
stocked       adjust      stocked

issued        receive     received      received-twice
issued        commission  issued
issued        stock       stocked
issued        issue       issued        issued-twice
issued        transfer    issued
issued        use         used
issued        return      returned
issued        waste       wasted
issued        quarantine  quarantined
issued        dispose     disposed
issued        count       issued        counted-elsewhere
issued        adjust      stocked

used          receive     received      received-twice moved-after-use
used          commission  used          moved-after-use
used          stock       stocked       moved-after-use
used          issue       issued        moved-after-use
used          transfer    used          moved-after-use
used          use         used          used-twice
used          return      returned      returned-after-use
used          waste       wasted        moved-after-use
used          quarantine  quarantined   moved-after-use
used          dispose     disposed      moved-after-use
used          count       used          counted-elsewhere seen-after-use
used          adjust      stocked       moved-after-use

returned      receive     received      received-twice
returned      commission  returned
returned      stock       stocked
returned      issue       issued
returned      transfer    returned
returned      use         used
returned      return      returned
returned      waste       wasted
returned      quarantine  quarantined
returned      dispose     disposed
returned      count       returned      counted-elsewhere
returned      adjust      stocked

wasted        receive     received      received-twice moved-after-waste
wasted        commission  wasted        moved-after-waste
wasted        stock       stocked       moved-after-waste
wasted        issue       issued        moved-after-waste
wasted        transfer    wasted        moved-after-waste
wasted        use         used          used-after-waste
wasted        return      returned      moved-after-waste
wasted        waste       wasted        moved-after-waste
wasted        quarantine  quarantined   moved-after-waste
wasted        dispose     disposed
wasted        count       wasted        counted-elsewhere seen-after-waste
wasted        adjust      stocked       moved-after-waste

quarantined   receive     quarantined   received-twice moved-while-quarantined
quarantined   commission  quarantined
quarantined   stock       quarantined   moved-while-quarantined
quarantined   issue       quarantined   moved-while-quarantined
quarantined   transfer    quarantined   moved-while-quarantined
quarantined   use         used          used-while-quarantined
quarantined   return      quarantined   moved-while-quarantined
quarantined   waste       wasted
quarantined   quarantine  quarantined
quarantined   dispose     disposed
quarantined   count       quarantined   counted-elsewhere
quarantined   adjust      stocked

disposed      receive     received      received-twice moved-after-disposal
disposed      commission  disposed      moved-after-disposal
disposed      stock       stocked       moved-after-disposal
disposed      issue       issued        moved-after-disposal
disposed      transfer    disposed      moved-after-disposal
disposed      use         used          used-after-disposal
disposed      return      returned      moved-after-disposal
disposed      waste       wasted        moved-after-disposal
disposed      quarantine  quarantined   moved-after-disposal
disposed      dispose     disposed      moved-after-disposal
disposed      count       disposed      counted-elsewhere seen-after-disposal
disposed      adjust      stocked       moved-after-disposal
`

func parseStatus(t *testing.T, s string) Status {
	t.Helper()
	for _, x := range Statuses {
		if x.String() == s {
			return x
		}
	}
	t.Fatalf("no status %q", s)
	return StatusNone
}

func TestTransitions(t *testing.T) {
	seen := make(map[string]bool)
	for line := range strings.SplitSeq(transitions, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		from, kind, to := parseStatus(t, f[0]), agent.Kind(f[1]), parseStatus(t, f[2])
		want := f[3:]
		seen[f[0]+" "+f[1]] = true
		t.Run(f[0]+"/"+f[1], func(t *testing.T) {
			prev := seq("WH", prefixes[from]...)
			if prev.Status != from {
				t.Fatalf("prefix reaches %v, want %v", prev.Status, from)
			}
			m := mv(kind, "OR-3")
			m.Seq = 99
			next, flags := Apply(prev, m)
			if next.Status != to {
				t.Errorf("status %v, want %v", next.Status, to)
			}
			if !slices.Equal(flags, want) && !(len(flags) == 0 && len(want) == 0) {
				t.Errorf("flags %q, want %q", flags, want)
			}
			if next.Location != "OR-3" {
				t.Errorf("location %q, want OR-3", next.Location)
			}
			if next.LastSeq != 99 || next.LastKind != kind || next.Movements != prev.Movements+1 {
				t.Errorf("last movement %v #%d (%d movements)", next.LastKind, next.LastSeq, next.Movements)
			}
		})
	}
	// Every status and every kind but reject is in the table.
	for _, s := range Statuses {
		for _, k := range agent.Kinds {
			if k.MovesItem() && !seen[s.String()+" "+string(k)] {
				t.Errorf("no transition for %v %v", s, k)
			}
		}
	}
}

func TestRejectIgnored(t *testing.T) {
	for s, p := range prefixes {
		prev := seq("WH", p...)
		next, flags := Apply(prev, agent.Movement{Kind: agent.KindReject, Seq: 77, Reason: "bad check digit", Raw: []byte("]C1garbage")})
		if next != prev || flags != nil {
			t.Errorf("%v: reject changed the state to %+v, flags %q", s, next, flags)
		}
	}
}

func TestContextIgnored(t *testing.T) {
	prev := seq("WH", agent.KindReceive)
	ctx := agent.Movement{Kind: agent.KindContext, Seq: 5, Case: "C-17", Patient: "P-1", Reason: "case opened"}
	if next, flags := Apply(prev, ctx); next != prev || flags != nil {
		t.Errorf("context scan changed the state: %+v %q", next, flags)
	}
}

// CANCEL LAST at a station records an adjustment that undoes the item's
// last movement: a cancelled use is no use, and the next use is not used
// twice.
func TestCancelLast(t *testing.T) {
	s := seq("WH", agent.KindReceive, agent.KindStock) // seq 1, 2
	before := s
	use := mv(agent.KindUse, "OR-3")
	use.Seq, use.Case = 3, "C-17"
	s, _ = Apply(s, use)
	cancel := mv(agent.KindAdjust, "OR-3")
	cancel.Seq, cancel.Reason = 4, "cancels use movement 3"
	s, flags := Apply(s, cancel)
	if flags != nil || s.Life != before.Life || s.Uses != 0 || s.LastSeq != 4 || s.Movements != 4 {
		t.Fatalf("after cancel: %+v %q", s, flags)
	}
	again := mv(agent.KindUse, "OR-3")
	again.Seq, again.Case = 5, "C-18"
	s, flags = Apply(s, again)
	if flags != nil || s.Uses != 1 || s.UseCase != "C-18" {
		t.Errorf("use after cancel: %+v %q", s, flags)
	}

	// A cancel of a movement that is not the item's last is an ordinary
	// adjustment, flagged.
	stale := mv(agent.KindAdjust, "OR-3")
	stale.Seq, stale.Reason = 6, "cancels use movement 3"
	s, flags = Apply(s, stale)
	if want := []string{FlagCancelNotLast, FlagMovedAfterUse}; !slices.Equal(flags, want) || s.Status != StatusStocked || s.Uses != 1 {
		t.Errorf("stale cancel: %v %q", s.Status, flags)
	}

	for reason, ok := range map[string]bool{
		"cancels use movement 3": true, "cancels issue movement 18446744073709551615": true,
		"cancels teleport movement 3": false, "cancels use movement x": false, "found in cabinet": false, "": false,
	} {
		_, _, got := Cancels(agent.Movement{Kind: agent.KindAdjust, Reason: reason})
		if got != ok {
			t.Errorf("Cancels(%q) = %v", reason, got)
		}
	}
	if _, _, ok := Cancels(agent.Movement{Kind: agent.KindCount, Reason: "cancels use movement 3"}); ok {
		t.Error("a count cancels nothing")
	}
}

func TestUnknownKind(t *testing.T) {
	prev := seq("WH", agent.KindReceive, agent.KindStock)
	m := mv("teleport", "OR-9")
	next, flags := Apply(prev, m)
	if !slices.Equal(flags, []string{FlagUnknownKind}) {
		t.Errorf("flags %q", flags)
	}
	if next.Status != StatusStocked || next.Location != "WH" || next.Movements != 3 || next.LastKind != "teleport" {
		t.Errorf("state %+v", next)
	}
}

func TestFromMismatch(t *testing.T) {
	for _, k := range []agent.Kind{agent.KindStock, agent.KindIssue, agent.KindTransfer, agent.KindReturn} {
		prev := seq("WH", agent.KindReceive)
		m := mv(k, "OR-3")
		m.From = "CAB-2"
		if _, flags := Apply(prev, m); !slices.Equal(flags, []string{FlagFromMismatch}) {
			t.Errorf("%v from another location: flags %q", k, flags)
		}
		m.From = "WH"
		if _, flags := Apply(prev, m); flags != nil {
			t.Errorf("%v from its location: flags %q", k, flags)
		}
	}
	// A use names no From worth checking.
	prev := seq("WH", agent.KindReceive)
	m := mv(agent.KindUse, "OR-3")
	m.From = "CAB-2"
	if _, flags := Apply(prev, m); flags != nil {
		t.Errorf("use: flags %q", flags)
	}
}

func TestUsedTwiceKeepsFirstUse(t *testing.T) {
	s := seq("WH", agent.KindReceive, agent.KindStock)
	first := mv(agent.KindUse, "OR-3")
	first.Case, first.Patient, first.Seq = "C-17", "PATIENT-SECRET", 3
	s, flags := Apply(s, first)
	if flags != nil {
		t.Fatalf("first use flagged %q", flags)
	}
	second := mv(agent.KindUse, "OR-5")
	second.Case, second.Seq = "C-40", 4
	second.Time = second.Time.Add(72 * time.Hour)
	s, flags = Apply(s, second)
	if !slices.Equal(flags, []string{FlagUsedTwice}) {
		t.Errorf("second use flags %q", flags)
	}
	if s.Uses != 2 || s.UseCase != "C-17" || s.UseSeq != 3 || !s.UseTime.Equal(first.Time) {
		t.Errorf("state %+v", s)
	}
	if strings.Contains(stateString(s), "PATIENT-SECRET") {
		t.Error("the state holds the patient identifier")
	}
}

// stateString renders every field of s.
func stateString(s State) string { return strings.Join(strings.Fields(sprintState(s)), " ") }

func TestNotUnitKeys(t *testing.T) {
	// A lot key names many items: using it again is no anomaly, but a lot
	// never received still is.
	for _, key := range []string{"(01)09506000134352(10)L2405A", "+A123BJC5D61/$L2405A", "(01)09506000134352"} {
		var s State
		var all []string
		for _, k := range []agent.Kind{agent.KindUse, agent.KindUse, agent.KindReturn, agent.KindIssue, agent.KindIssue} {
			var flags []string
			s, flags = Apply(s, agent.Movement{Kind: k, Item: key, Location: "OR-3"})
			for _, f := range flags {
				if f != FlagNeverReceived {
					all = append(all, f)
				}
			}
		}
		if len(all) != 0 || s.Uses != 2 {
			t.Errorf("%s: flags %q, %d uses", key, all, s.Uses)
		}
	}
	for key, want := range map[string]bool{
		"(01)09506000134352(21)1": true, "+A123BJC5D61/S77": true, "E2801160600002": true,
		"(01)09506000134352(10)L": false, "+A123BJC5D61/$L": false, "": false,
	} {
		if Unit(key) != want {
			t.Errorf("Unit(%q) = %v", key, !want)
		}
	}
}

func TestCarriesLotExpiryTag(t *testing.T) {
	var s State
	rcv := mv(agent.KindReceive, "WH")
	rcv.Lot, rcv.Expiry = "L2405A", "2026-11-24"
	s, _ = Apply(s, rcv)
	com := mv(agent.KindCommission, "WH")
	com.Tag = "E28011606000020C"
	s, _ = Apply(s, com)
	// A tag read carries neither lot nor expiry.
	rd := mv(agent.KindStock, "CAB-1")
	rd.Lot, rd.Expiry, rd.Tag = "", "", ""
	s, _ = Apply(s, rd)
	if s.Lot != "L2405A" || s.Expiry != "2026-11-24" || s.Tag != "E28011606000020C" {
		t.Errorf("state %+v", s)
	}
}

// Receiving and commissioning may be scanned in either order.
func TestReceiveCommissionOrder(t *testing.T) {
	a := seq("WH", agent.KindReceive, agent.KindCommission, agent.KindStock)
	b := seq("WH", agent.KindCommission, agent.KindReceive, agent.KindStock)
	a.LastSeq, b.LastSeq = 0, 0
	if a.Status != StatusStocked || a != b {
		t.Errorf("receive then commission %+v\ncommission then receive %+v", a, b)
	}
	for _, kinds := range [][]agent.Kind{
		{agent.KindReceive, agent.KindCommission}, {agent.KindCommission, agent.KindReceive},
	} {
		var s State
		for _, k := range kinds {
			var flags []string
			s, flags = Apply(s, mv(k, "WH"))
			if flags != nil {
				t.Errorf("%v: %v flagged %q", kinds, k, flags)
			}
		}
		if s.Status != StatusCommissioned || !s.Received || !s.Commissioned {
			t.Errorf("%v: state %+v", kinds, s)
		}
	}
}

// A count at the item's location observes: inserted anywhere in a life, it
// changes neither the statuses nor the flags of the other movements.
func TestCountObserves(t *testing.T) {
	life := []agent.Kind{agent.KindReceive, agent.KindStock, agent.KindIssue, agent.KindReturn,
		agent.KindStock, agent.KindQuarantine, agent.KindAdjust, agent.KindIssue, agent.KindUse}
	var plain []State
	var plainFlags [][]string
	var s State
	for _, k := range life {
		var f []string
		s, f = Apply(s, mv(k, "WH"))
		plain, plainFlags = append(plain, s), append(plainFlags, f)
	}
	for at := 1; at < len(life); at++ {
		var s State
		j := 0
		for i, k := range life {
			if i == at {
				var f []string
				s, f = Apply(s, mv(agent.KindCount, "WH"))
				if f != nil {
					t.Errorf("count after %v flagged %q", life[i-1], f)
				}
			}
			var f []string
			s, f = Apply(s, mv(k, "WH"))
			if s.Status != plain[j].Status || !slices.Equal(f, plainFlags[j]) {
				t.Errorf("count before movement %d: %v flags %q, want %v %q", i, s.Status, f, plain[j].Status, plainFlags[j])
			}
			j++
		}
	}
}

// The flags of a later use do not depend on the order of earlier end
// events: used-after-waste and used-after-disposal both hold whichever
// came first.
func TestEndFlagsOrder(t *testing.T) {
	for _, kinds := range [][]agent.Kind{
		{agent.KindReceive, agent.KindWaste, agent.KindDispose, agent.KindUse},
		{agent.KindReceive, agent.KindDispose, agent.KindWaste, agent.KindUse},
	} {
		var s State
		var flags []string
		for _, k := range kinds {
			s, flags = Apply(s, mv(k, "WH"))
		}
		if want := []string{FlagUsedAfterWaste, FlagUsedAfterDisposal}; !slices.Equal(flags, want) {
			t.Errorf("%v: flags %q, want %q", kinds, flags, want)
		}
	}
}

func TestQuarantineHoldUntilAdjust(t *testing.T) {
	s := seq("WH", agent.KindReceive, agent.KindStock, agent.KindQuarantine)
	for _, k := range []agent.Kind{agent.KindTransfer, agent.KindStock, agent.KindIssue} {
		var flags []string
		s, flags = Apply(s, mv(k, "Q-ROOM"))
		if s.Status != StatusQuarantined || !slices.Equal(flags, []string{FlagMovedWhileQuarantined}) {
			t.Fatalf("%v: %v %q", k, s.Status, flags)
		}
	}
	s, flags := Apply(s, mv(agent.KindAdjust, "CAB-1"))
	if s.Status != StatusStocked || flags != nil {
		t.Fatalf("adjust: %v %q", s.Status, flags)
	}
	if _, flags = Apply(s, mv(agent.KindIssue, "OR-3")); flags != nil {
		t.Errorf("issue after release: %q", flags)
	}
}

func TestReplay(t *testing.T) {
	ms := []agent.Movement{mv(agent.KindReceive, "WH"), mv(agent.KindReject, ""), mv(agent.KindStock, "CAB-1"), mv(agent.KindUse, "OR-3"), mv(agent.KindUse, "OR-3")}
	s, flags := Replay(ms)
	if s.Uses != 2 || s.Movements != 4 || len(flags) != 5 || !slices.Equal(flags[4], []string{FlagUsedTwice}) || flags[1] != nil {
		t.Errorf("state %+v flags %q", s, flags)
	}
}

func TestLifecycleFlagsDistinct(t *testing.T) {
	if len(flagBit) != len(LifecycleFlags) || len(LifecycleFlags) > 32 {
		t.Fatalf("%d flags, %d distinct", len(LifecycleFlags), len(flagBit))
	}
}
