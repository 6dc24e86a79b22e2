package web

import (
	"testing"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/station"
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

// TestViewMasksTheStationsCase: the view shows the station's own
// context (from the core) with its patient masked, and no scan holds a
// patient unmasked.
func TestViewMasksTheStationsCase(t *testing.T) {
	var tr tracker
	tr.update("or3", agent.OutcomeOf(agent.Movement{Seq: 1, Kind: agent.KindUse, Item: "(01)1(21)1", Patient: "004217", Case: "C1"}, nil))
	v := tr.view("or3", station.Context{Patient: "004217", Case: "C1", Actor: "N042"})
	if !v.Open || v.Patient != "•••217" || v.Case != "C1" || v.Actor != "N042" || len(v.Scans) != 1 || v.Scans[0].Patient != "•••217" {
		t.Fatalf("view: %+v", v)
	}
	if v := tr.view("or3", station.Context{}); v.Open || v.Patient != "" {
		t.Fatalf("no case: %+v", v)
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
	v := tr.view("or3", station.Context{})
	if len(v.Scans) != MaxScans || v.Scans[0].Seq != 35 || v.Scans[MaxScans-1].Seq != 16 {
		t.Fatalf("scans %d, newest %d, oldest %d", len(v.Scans), v.Scans[0].Seq, v.Scans[len(v.Scans)-1].Seq)
	}
	for i := 1; i < len(v.Scans); i++ {
		if v.Scans[i].Seq != v.Scans[i-1].Seq-1 {
			t.Fatalf("out of order or twice at %d: %d after %d", i, v.Scans[i].Seq, v.Scans[i-1].Seq)
		}
	}
}
