package web

import (
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
)

func TestMaskPatient(t *testing.T) {
	for in, want := range map[string]string{
		"":                   "",
		"7":                  "•",
		"42":                 "•2",
		"004217":             "•••217",
		"P2026000123":        "•••••••0123",
		"张三丰":                "••丰",
		"110101199003071234": "••••••••••••••1234",
	} {
		if got := MaskPatient(in); got != want {
			t.Errorf("MaskPatient(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestStationFollowsItsCase: the page's view of a station's case moves
// as the station's context does: opened by a wristband, carried by a
// use, kept by a use taken from the schedule, closed by CLOSE CASE, and
// shown closed once idle past case_idle (as the station finds it at its
// next scan).
func TestStationFollowsItsCase(t *testing.T) {
	var tr tracker
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	seq := uint64(0)
	tell := func(m agent.Movement, at time.Duration) {
		seq++
		m.Seq, m.Time = seq, t0.Add(at)
		tr.update("or3", agent.OutcomeOf(m, nil))
	}
	tell(agent.Movement{Kind: agent.KindContext, Patient: "004217", Reason: "patient identified: case open"}, 0)
	if v := tr.view("or3", t0, time.Hour); !v.Open || v.Patient != "•••217" || v.Case != "" {
		t.Fatalf("after the wristband: %+v", v)
	}
	tell(agent.Movement{Kind: agent.KindUse, Item: "(01)1(21)1", Patient: "004217", Case: "C1"}, time.Minute)
	tell(agent.Movement{Kind: agent.KindUse, Item: "(01)1(21)2", Patient: "009999", Case: "C9", Flags: []string{agent.FlagScheduled}}, 2*time.Minute)
	if v := tr.view("or3", t0.Add(3*time.Minute), time.Hour); !v.Open || v.Case != "C1" || v.Patient != "•••217" {
		t.Fatalf("after the uses: %+v", v)
	}
	if v := tr.view("or3", t0.Add(2*time.Minute+time.Hour+time.Second), time.Hour); v.Open || v.Patient != "" {
		t.Fatalf("idle past case_idle: %+v", v)
	}
	tell(agent.Movement{Kind: agent.KindContext, Patient: "004217", Case: "C1", Reason: "case closed"}, 4*time.Minute)
	v := tr.view("or3", t0.Add(5*time.Minute), 0)
	if v.Open || v.Case != "" || len(v.Scans) != 4 || v.Scans[0].Reason != "case closed" {
		t.Fatalf("after CLOSE CASE: %+v", v)
	}
	for _, s := range v.Scans {
		if s.Patient == "004217" || s.Patient == "009999" {
			t.Fatalf("a scan holds a patient unmasked: %+v", s)
		}
	}
}

// TestStationKeepsLastScans: the station keeps its last MaxScans scans in
// the order recorded, those read back from the ledger after a restart
// before those told live, each once.
func TestStationKeepsLastScans(t *testing.T) {
	var tr tracker
	for i := 30; i <= 35; i++ {
		tr.update("or3", agent.OutcomeOf(agent.Movement{Seq: uint64(i), Kind: agent.KindUse, Item: "x"}, nil))
	}
	var old []agent.Movement
	for i := 1; i <= 31; i++ {
		old = append(old, agent.Movement{Seq: uint64(i), Kind: agent.KindUse, Item: "x"})
	}
	tr.seed("or3", old)
	tr.seed("or3", old[:3]) // once only
	v := tr.view("or3", time.Now(), 0)
	if len(v.Scans) != MaxScans || v.Scans[0].Seq != 35 || v.Scans[MaxScans-1].Seq != 16 {
		t.Fatalf("scans %d, newest %d, oldest %d", len(v.Scans), v.Scans[0].Seq, v.Scans[len(v.Scans)-1].Seq)
	}
	for i := 1; i < len(v.Scans); i++ {
		if v.Scans[i].Seq != v.Scans[i-1].Seq-1 {
			t.Fatalf("out of order or twice at %d: %d after %d", i, v.Scans[i].Seq, v.Scans[i-1].Seq)
		}
	}
}
