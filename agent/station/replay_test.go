package station_test

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/code"
	"github.com/udi-edge/udi-edge/agent/station"
	"github.com/udi-edge/udi-edge/agent/testkit"
)

// replayRig is an ingest over a ledger of its own, with a clock the test
// moves.
type replayRig struct {
	in  *station.Ingest
	l   *testkit.MemLedger
	now time.Time
}

func newReplayRig() *replayRig {
	g := &replayRig{l: &testkit.MemLedger{}}
	g.in = &station.Ingest{Ledger: g.l, Parser: code.Parser{}, Now: func() time.Time { return g.now },
		Stations: map[string]agent.Station{
			"or1": {ID: "or1", Location: "OR-1", Kind: agent.KindUse},
			"or2": {ID: "or2", Location: "OR-2", Kind: agent.KindUse},
		},
		Patterns: &station.Patterns{
			Wristband:     regexp.MustCompile(`^PAT-(\d{6})$`),
			Case:          regexp.MustCompile(`^CASE-([A-Z0-9-]+)$`),
			Badge:         regexp.MustCompile(`^BADGE-(\w+)$`),
			Justification: regexp.MustCompile(`^JUST-(R\d{2})$`),
			Commands: map[string]agent.Command{"CMD-RETURN": agent.CmdReturn, "CMD-WASTE": agent.CmdWaste,
				"CMD-CANCEL": agent.CmdCancelLast, "CMD-CLOSE": agent.CmdCloseCase, "CMD-LOAN": agent.CmdLoan},
			CaseIdle:     2 * time.Hour,
			BadgeTimeout: 30 * time.Minute,
			HoldFor:      time.Hour,
		},
		// Uses without a case are blocked; every fifth serial needs a
		// justification.
		Decide: func(m agent.Movement, open bool) agent.Decision {
			switch {
			case m.Kind == agent.KindUse && !open:
				return agent.Decision{Outcome: agent.DecisionBlocked, Reasons: []string{"no case"}}
			case m.Kind == agent.KindUse && m.Serial[len(m.Serial)-1] == '5':
				return agent.Decision{Outcome: agent.DecisionPending, Reasons: []string{"imported"}}
			}
			return agent.Decision{Outcome: agent.DecisionAccepted}
		},
	}
	return g
}

// scan handles code at station at the rig's time, and waits for it.
func (g *replayRig) scan(station, code string) {
	r := read(station, code)
	r.Time = g.now
	g.in.Handle(r)
	g.in.Wait()
}

// randomScan draws a scan a station could see.
func randomScan(r *rand.Rand, serial *int) (string, string) {
	st := []string{"or1", "or2"}[r.IntN(2)]
	switch n := r.IntN(20); {
	case n < 2:
		return st, fmt.Sprintf("PAT-%06d", r.IntN(3))
	case n < 4:
		return st, fmt.Sprintf("CASE-C%d", r.IntN(3))
	case n < 5:
		return st, fmt.Sprintf("BADGE-n%d", r.IntN(3))
	case n < 9:
		cmds := []string{"CMD-RETURN", "CMD-WASTE", "CMD-CANCEL", "CMD-CLOSE", "CMD-LOAN", "JUST-R01"}
		return st, cmds[r.IntN(len(cmds))]
	case n < 10:
		return st, "PLAIN-NOTHING"
	default:
		*serial++
		return st, implant(fmt.Sprintf("%05d", *serial))
	}
}

// TestReplayRestoresStations: a gateway restarted after any sequence of
// scans, its stations' contexts replayed from the ledger, records the
// scans that follow exactly as the gateway that never stopped: the same
// case, patient and actor, commands waiting, CANCEL LAST, justifications
// and held uses. Replay may begin anywhere before the restart, as long
// as it covers the case idle time.
func TestReplayRestoresStations(t *testing.T) {
	for seed := range uint64(300) {
		r := rand.New(rand.NewPCG(seed, 7))
		live := newReplayRig()
		live.now = time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
		serial := 0
		step := func() {
			if r.IntN(4) == 0 {
				live.now = live.now.Add(time.Duration(r.IntN(50)) * time.Minute)
			} else {
				live.now = live.now.Add(time.Duration(r.IntN(60)) * time.Second)
			}
		}
		for range 10 + r.IntN(60) {
			step()
			live.scan(randomScan(r, &serial))
		}
		recorded := live.l.All()

		// The restart: a new ingest over the same ledger, its contexts
		// replayed from a point at least the idle time back.
		back := newReplayRig()
		back.now = live.now
		back.l.Add(recorded...)
		from := 0
		for from < len(recorded) && live.now.Sub(recorded[from].Time) > 3*time.Hour && r.IntN(3) > 0 {
			from++
		}
		for _, m := range back.l.All()[from:] {
			back.in.Replay(m)
		}
		for _, st := range []string{"or1", "or2"} {
			if a, b := live.in.Context(st), back.in.Context(st); a != b {
				t.Fatalf("seed %d: %s after the restart: %+v, want %+v", seed, st, b, a)
			}
		}

		// The scans that follow are recorded the same.
		n := len(recorded)
		for range 20 {
			step()
			st, c := randomScan(r, &serial)
			back.now = live.now
			live.scan(st, c)
			back.scan(st, c)
		}
		a, b := live.l.All()[n:], back.l.All()[n:]
		if len(a) != len(b) {
			t.Fatalf("seed %d: %d movements after the restart, want %d", seed, len(b), len(a))
		}
		for i := range a {
			if !sameRecord(a[i], b[i]) {
				t.Fatalf("seed %d: movement %d after the restart:\n%+v\nwant\n%+v", seed, a[i].Seq, b[i], a[i])
			}
		}
	}
}

// sameRecord compares what a station's scan records.
func sameRecord(a, b agent.Movement) bool {
	return a.Seq == b.Seq && a.Kind == b.Kind && a.Item == b.Item && a.Case == b.Case && a.Patient == b.Patient &&
		a.Actor == b.Actor && a.Reason == b.Reason && a.Decision == b.Decision && slices.Equal(a.Flags, b.Flags) && a.Station == b.Station
}

// TestReplayIgnoresOthers: movements that did not come from a station's
// scan change no context.
func TestReplayIgnoresOthers(t *testing.T) {
	g := newReplayRig()
	at := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	g.now = at
	for _, m := range []agent.Movement{
		{Station: "or1", Kind: agent.KindUse, Case: "TAG", Patient: "x", Symbology: agent.SymbologyEPC, Raw: []byte{1}, Time: at},
		{Station: "or1", Kind: agent.KindContext, Case: "LINK", Flags: []string{agent.FlagCaseLink}, Raw: []byte("PAT-000001"), Time: at},
		{Station: "or1", Kind: agent.KindContext, Flags: []string{agent.FlagCountStart}, Raw: []byte("PAT-000002"), Time: at},
		{Station: "or1", Kind: agent.KindReject, Raw: []byte("PAT-000003"), Time: at},
		{Station: "ghost", Kind: agent.KindContext, Patient: "000004", Raw: []byte("PAT-000004"), Time: at},
		{Station: "or1", Kind: agent.KindUse, Case: "NORAW", Time: at},
	} {
		g.in.Replay(m)
	}
	if c := g.in.Context("or1"); c.Open() || c.Actor != "" {
		t.Fatalf("or1: %+v, want nothing open", c)
	}
	// A wristband read before the idle time is gone again.
	g.in.Replay(agent.Movement{Station: "or1", Kind: agent.KindContext, Patient: "000005", Raw: []byte("PAT-000005"), Time: at})
	if c := g.in.Context("or1"); c.Patient != "000005" {
		t.Fatalf("or1: %+v, want patient 000005", c)
	}
	g.now = at.Add(3 * time.Hour)
	if c := g.in.Context("or1"); c.Open() {
		t.Fatalf("or1 three hours later: %+v, want the case closed by time", c)
	}
}

// TestReplayFromMidCase: replay that begins after the case was opened
// (the wristband older than the window read back) finds the case in what
// the uses and the badge recorded.
func TestReplayFromMidCase(t *testing.T) {
	live := newReplayRig()
	live.now = time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	live.scan("or1", "PAT-000042")
	live.scan("or1", "CASE-C9")
	live.now = live.now.Add(time.Minute)
	live.scan("or1", implant("00001"))
	live.scan("or2", "PAT-000043")
	live.now = live.now.Add(time.Minute)
	live.scan("or2", "BADGE-nurse")
	for _, skip := range []int{2, 3} {
		back := newReplayRig()
		back.now = live.now
		for _, m := range live.l.All()[skip:] {
			back.in.Replay(m)
		}
		for _, st := range []string{"or1", "or2"} {
			want := live.in.Context(st)
			if skip == 3 && st == "or1" {
				want = station.Context{} // its only movements were skipped
			}
			if got := back.in.Context(st); got != want {
				t.Errorf("replayed from movement %d: %s is %+v, want %+v", skip+1, st, got, want)
			}
		}
	}
}
