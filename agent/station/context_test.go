package station_test

import (
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/station"
	"github.com/udi-edge/udi-edge/agent/testkit"
)

func stationIngest(t *testing.T) (*station.Ingest, *testkit.MemLedger, *time.Time, func() []agent.Outcome) {
	t.Helper()
	l := &testkit.MemLedger{}
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	var outs []agent.Outcome
	in := &station.Ingest{Ledger: l, Stations: stations, Now: func() time.Time { return now },
		Patterns: &station.Patterns{
			Wristband:    regexp.MustCompile(`^PAT-(\d{6})$`),
			Case:         regexp.MustCompile(`^CASE-([A-Z0-9-]+)$`),
			Badge:        regexp.MustCompile(`^BADGE-(\w+)$`),
			Commands:     map[string]agent.Command{"CMD-RETURN": agent.CmdReturn, "CMD-WASTE": agent.CmdWaste, "CMD-CANCEL": agent.CmdCancelLast, "CMD-CLOSE": agent.CmdCloseCase, "CMD-LOAN": agent.CmdLoan},
			CaseIdle:     2 * time.Hour,
			BadgeTimeout: 30 * time.Minute,
		},
		Answer: func(_ string, o agent.Outcome) {
			mu.Lock()
			outs = append(outs, o)
			mu.Unlock()
		}}
	return in, l, &now, func() []agent.Outcome {
		in.Wait()
		mu.Lock()
		defer mu.Unlock()
		o := outs
		outs = nil
		return o
	}
}

func implant(serial string) string {
	return "]d20109520123456788172805311021A-77\x1d21" + serial
}

func TestStationContext(t *testing.T) {
	in, l, now, outcomes := stationIngest(t)
	scan := func(code string) agent.Outcome {
		t.Helper()
		in.Handle(read("or1", code))
		o := outcomes()
		if len(o) != 1 {
			t.Fatalf("%q: %d outcomes", code, len(o))
		}
		return o[0]
	}
	if o := scan("BADGE-N042"); o.Movement.Kind != agent.KindContext || o.Movement.Actor != "N042" || o.Verdict != agent.VerdictAccepted {
		t.Fatalf("badge: %+v", o)
	}
	o := scan("PAT-123456")
	if o.Movement.Kind != agent.KindContext || o.Movement.Patient != "123456" || o.Movement.Item != "" {
		t.Fatalf("wristband: %+v", o.Movement)
	}
	scan("CASE-OR1-0007")
	u := scan(implant("1"))
	if u.Movement.Kind != agent.KindUse || u.Movement.Case != "OR1-0007" || u.Movement.Patient != "123456" || u.Movement.Actor != "N042" {
		t.Fatalf("use in case: %+v", u.Movement)
	}
	// RETURN switches the next scan only.
	scan("CMD-RETURN")
	if r := scan(implant("2")); r.Movement.Kind != agent.KindReturn {
		t.Fatalf("after RETURN: %s", r.Movement.Kind)
	}
	if u2 := scan(implant("3")); u2.Movement.Kind != agent.KindUse {
		t.Fatalf("RETURN must apply to one scan: %s", u2.Movement.Kind)
	}
	// CANCEL LAST records an adjustment naming the cancelled movement;
	// nothing is rewritten.
	before := l.Len()
	c := scan("CMD-CANCEL")
	if c.Movement.Kind != agent.KindAdjust || c.Movement.Item != "(01)09520123456788(21)3" || !strings.Contains(c.Movement.Reason, "cancels use movement") {
		t.Fatalf("cancel last: %+v", c.Movement)
	}
	if l.Len() != before+1 || l.All()[before-1].Kind != agent.KindUse {
		t.Fatalf("cancel must append, not rewrite")
	}
	if again := scan("CMD-CANCEL"); again.Movement.Kind != agent.KindContext || !strings.Contains(again.Movement.Reason, "nothing to cancel") {
		t.Fatalf("second cancel: %+v", again.Movement)
	}
	// CLOSE CASE ends the link to the patient.
	if cl := scan("CMD-CLOSE"); cl.Movement.Case != "OR1-0007" || cl.Movement.Reason != "case closed" {
		t.Fatalf("close: %+v", cl.Movement)
	}
	if u3 := scan(implant("4")); u3.Movement.Case != "" || u3.Movement.Patient != "" {
		t.Fatalf("use after close: %+v", u3.Movement)
	}
	// A new wristband and then idle time: the case closes by itself, the
	// badge times out.
	scan("PAT-654321")
	*now = now.Add(3 * time.Hour)
	if u4 := scan(implant("5")); u4.Movement.Patient != "" || u4.Movement.Actor != "" {
		t.Fatalf("after idle: %+v", u4.Movement)
	}
	// A plain code no pattern claims is still a recorded rejection.
	if rj := scan("]C0WARD7-BED12"); rj.Verdict != agent.VerdictRejected {
		t.Fatalf("unclaimed plain code: %+v", rj)
	}
	// Contexts are per station: the desk is unaffected.
	in.Handle(read("desk", implant("6")))
	if o := outcomes(); o[0].Movement.Kind != agent.KindReceive || o[0].Movement.Actor != "" {
		t.Fatalf("desk: %+v", o[0].Movement)
	}
}

func TestJustificationCompletesPendingUse(t *testing.T) {
	in, _, _, outcomes := stationIngest(t)
	in.Patterns.Justification = regexp.MustCompile(`^JUST-(\w+)$`)
	in.Decide = func(m agent.Movement, openCase bool) agent.Decision {
		if m.Serial == "imp" {
			return agent.Decision{Outcome: agent.DecisionPending, Reasons: []string{"imported item: scan a justification"}}
		}
		return agent.Decision{Outcome: agent.DecisionAccepted}
	}
	scan := func(code string) agent.Outcome {
		t.Helper()
		in.Handle(read("or1", code))
		return outcomes()[0]
	}
	if o := scan("JUST-R01"); o.Movement.Item != "" || !strings.Contains(o.Movement.Reason, "no use at this station is pending") {
		t.Fatalf("justification with nothing pending: %+v", o.Movement)
	}
	u := scan(implant("imp"))
	if u.Verdict != agent.VerdictWarned || u.Movement.Decision != agent.DecisionPending {
		t.Fatalf("imported use: %+v", u)
	}
	j := scan("JUST-R01")
	if j.Movement.Kind != agent.KindContext || j.Movement.Item != u.Movement.Item || j.Movement.Flags[0] != agent.FlagJustification ||
		!strings.Contains(j.Movement.Reason, "R01") || !strings.Contains(j.Movement.Reason, "use ") {
		t.Fatalf("justification: %+v", j.Movement)
	}
	if again := scan("JUST-R02"); again.Movement.Item != "" {
		t.Fatalf("a second justification must find nothing pending: %+v", again.Movement)
	}
}

// TestDecisionAddsToReason: the point-of-use decision adds its reasons and
// flags to what a station command recorded; the cancel stays recognisable.
func TestDecisionAddsToReason(t *testing.T) {
	in, _, _, outcomes := stationIngest(t)
	in.Decide = func(m agent.Movement, openCase bool) agent.Decision {
		return agent.Decision{Outcome: agent.DecisionAccepted, Reasons: []string{"never received"}, Flags: []string{"never-received"}}
	}
	in.Handle(read("or1", implant("1")))
	u := outcomes()[0].Movement
	in.Handle(read("or1", "CMD-CANCEL"))
	c := outcomes()[0].Movement
	k, seq, ok := agent.Cancelled(c)
	if !ok || k != agent.KindUse || seq != u.Seq || !strings.Contains(c.Reason, "never received") || c.Flags[len(c.Flags)-1] != "never-received" {
		t.Fatalf("cancel with a decision: %+v (cancelled %v %d %v)", c, k, seq, ok)
	}
}

// TestHeldUseLinked: a use scanned with no case open is held at its
// station; the case opened there next is linked to it by a movement of
// its own, while a use held longer than HoldFor is not linked.
func TestHeldUseLinked(t *testing.T) {
	in, l, now, outcomes := stationIngest(t)
	in.Patterns.HoldFor = 20 * time.Minute
	scan := func(code string) {
		t.Helper()
		r := read("or1", code)
		r.Time = *now
		in.Handle(r)
		if o := outcomes(); len(o) != 1 {
			t.Fatalf("%q: %d outcomes", code, len(o))
		}
	}
	scan(implant("old"))
	*now = now.Add(25 * time.Minute)
	scan(implant("7"))
	*now = now.Add(5 * time.Minute)
	scan("PAT-123456")
	in.Wait()
	ms := l.All()
	if len(ms) != 4 {
		t.Fatalf("%d movements, want 2 uses, the wristband and one link", len(ms))
	}
	var old, used, link agent.Movement
	for _, m := range ms {
		switch {
		case m.Kind == agent.KindUse && m.Serial == "old":
			old = m
		case m.Kind == agent.KindUse && m.Serial == "7":
			used = m
		case m.Kind == agent.KindContext && m.Item != "":
			if link.Seq != 0 {
				t.Fatalf("two links: %+v and %+v", link, m)
			}
			link = m
		}
	}
	if used.Case != "" || used.Patient != "" || old.Seq == 0 {
		t.Fatalf("uses before the case: %+v %+v", old, used)
	}
	seq, ok := agent.Linked(link)
	if !ok || seq != used.Seq || link.Item != used.Item || link.Patient != "123456" {
		t.Fatalf("link %+v: names use %d (%v); want use %d", link, seq, ok, used.Seq)
	}
	if link.Seq <= used.Seq {
		t.Errorf("link recorded before the wristband scan")
	}
	// The held use is linked once: a second case does not take it again.
	scan("CASE-OR1-9")
	in.Wait()
	if n := len(l.All()); n != len(ms)+1 {
		t.Errorf("%d movements after the second case, want %d", n, len(ms)+1)
	}
}

// TestScheduledCaseLink: with no case open, a use takes the case the
// schedule has in the station's room at the scan's time.
func TestScheduledCaseLink(t *testing.T) {
	in, _, _, outcomes := stationIngest(t)
	var asked string
	in.Schedule = func(room string, at time.Time) (string, string, bool) {
		asked = room
		if at.Hour() == 10 {
			return "C-101", "P-2", true
		}
		return "", "", false
	}
	r := read("or1", implant("9"))
	r.Time = time.Date(2026, 11, 25, 10, 5, 0, 0, time.UTC)
	in.Handle(r)
	o := outcomes()
	if len(o) != 1 {
		t.Fatalf("%d outcomes", len(o))
	}
	m := o[0].Movement
	if m.Case != "C-101" || m.Patient != "P-2" || !slices.Contains(m.Flags, agent.FlagScheduled) || asked != stations["or1"].Location {
		t.Fatalf("use %+v (room asked %q)", m, asked)
	}
	r.Time = r.Time.Add(3 * time.Hour)
	in.Handle(r)
	if o := outcomes(); o[0].Movement.Case != "" || slices.Contains(o[0].Movement.Flags, agent.FlagScheduled) {
		t.Fatalf("use outside the schedule: %+v", o[0].Movement)
	}
}

// TestLoanCommand: LOAN confirms the station's next use as a loan item's;
// only that one use.
func TestLoanCommand(t *testing.T) {
	in, _, _, outcomes := stationIngest(t)
	scan := func(code string) agent.Movement {
		t.Helper()
		in.Handle(read("or1", code))
		o := outcomes()
		if len(o) != 1 {
			t.Fatalf("%q: %d outcomes", code, len(o))
		}
		return o[0].Movement
	}
	if m := scan("CMD-LOAN"); m.Kind != agent.KindContext || !strings.Contains(m.Reason, "loan item") {
		t.Fatalf("LOAN: %+v", m)
	}
	if m := scan(implant("L1")); m.Kind != agent.KindUse || !slices.Contains(m.Flags, agent.FlagLoan) {
		t.Fatalf("use after LOAN: %s %v", m.Kind, m.Flags)
	}
	if m := scan(implant("L2")); slices.Contains(m.Flags, agent.FlagLoan) {
		t.Fatalf("LOAN must apply to one use: %v", m.Flags)
	}
}

// TestContextAsNextScanFindsIt: Context tells what the station's next
// scan would find: the case a wristband and a case barcode open, the
// badge, the case kept by a use the schedule placed elsewhere, CLOSE
// CASE, and a case or badge idle past its timeout gone, without the
// question changing the context.
func TestContextAsNextScanFindsIt(t *testing.T) {
	in, _, now, outcomes := stationIngest(t)
	scan := func(code string) {
		t.Helper()
		in.Handle(read("or1", code))
		if o := outcomes(); len(o) != 1 {
			t.Fatalf("%q: %d outcomes", code, len(o))
		}
	}
	if c := in.Context("or1"); c.Open() || c != (station.Context{}) {
		t.Fatalf("before any scan: %+v", c)
	}
	scan("BADGE-N042")
	scan("PAT-123456")
	scan("CASE-OR1-0007")
	scan(implant("1"))
	if c := in.Context("or1"); !c.Open() || c.Patient != "123456" || c.Case != "OR1-0007" || c.Actor != "N042" {
		t.Fatalf("in a case: %+v", c)
	}
	if c := in.Context("or2"); c.Open() {
		t.Fatalf("another station: %+v", c)
	}
	// Past the badge's timeout the actor is gone; the case stays.
	*now = now.Add(31 * time.Minute)
	if c := in.Context("or1"); c.Actor != "" || c.Case != "OR1-0007" {
		t.Fatalf("badge idle: %+v", c)
	}
	// Past case_idle the case is gone too; asking changed nothing, so
	// going back in time shows it again.
	*now = now.Add(2 * time.Hour)
	if c := in.Context("or1"); c.Open() {
		t.Fatalf("case idle: %+v", c)
	}
	*now = now.Add(-2 * time.Hour)
	if c := in.Context("or1"); c.Case != "OR1-0007" {
		t.Fatalf("Context must not change the context: %+v", c)
	}
	scan("CMD-CLOSE")
	if c := in.Context("or1"); c.Open() {
		t.Fatalf("after CLOSE CASE: %+v", c)
	}
}
