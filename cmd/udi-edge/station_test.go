package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/api"
	"github.com/udi-edge/udi-edge/agent/cabinet"
	"github.com/udi-edge/udi-edge/agent/epc"
	"github.com/udi-edge/udi-edge/agent/testkit"
	"github.com/udi-edge/udi-edge/cmd/internal/edge"
	"github.com/udi-edge/udi-edge/reader/uhfsim"
)

// TestCabinetDoor checks that a door signal reaches the tracker through the
// control socket: a tag taken while the door is open is reported removed
// only after the door closes and the rescan and miss rounds pass.
func TestCabinetDoor(t *testing.T) {
	dir := t.TempDir()
	world := uhfsim.NewWorld()
	sim, err := uhfsim.NewMercury(uhfsim.MercuryConfig{Link: filepath.Join(dir, "cab"), World: world, Antennas: []int{1}, Round: 40 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	cfg := edge.DefaultConfig()
	cfg.Gateway, cfg.Store = "gw-door", filepath.Join(dir, "ledger.db")
	cfg.Readers = []edge.ReaderConfig{{ID: "cab", Type: "mercury", Device: sim.Path(), Baud: 115200, Antennas: []edge.AntennaConfig{{Port: 1, Zone: "shelf"}}}}
	cfg.Zones = []edge.ZoneConfig{{Name: "shelf", Location: "cabinet-9", Role: "cabinet", Round: edge.Duration(100 * time.Millisecond)}}
	cfg.Presence.MissRounds = 2
	cfg.Presence.LinkWithin = edge.Duration(300 * time.Millisecond)
	a := edge.NewAgent(cfg, nil)
	tags := make(chan agent.Outcome, 64)
	a.OnAnswer = func(_ string, o agent.Outcome) { tags <- o }
	runAgent(t, a)
	e, _ := epc.EncodeSGTIN96("06901234100013", "42", 1, 7)
	world.Place(1, uhfsim.Tag{EPC: e})
	waitKind := func(k agent.Kind, within time.Duration) bool {
		deadline := time.After(within)
		for {
			select {
			case o := <-tags:
				if o.Movement.Kind == k {
					return true
				}
			case <-deadline:
				return false
			}
		}
	}
	if !waitKind(agent.KindCount, 10*time.Second) {
		t.Fatal("the tag was never counted")
	}
	code, out, errOut := runMain(t, "", "inventory", "--store", cfg.Store, "shelf")
	if code != ExitOK || strings.TrimSpace(out) != epc.Key(e) || !strings.Contains(errOut, "1 item(s) present in shelf") {
		t.Fatalf("inventory: %d %q %q", code, out, errOut)
	}
	code, _, errOut = runMain(t, "", "door", "--store", cfg.Store, "shelf", "open")
	if code != ExitOK {
		t.Fatalf("door open: %d %s", code, errOut)
	}
	world.Remove(1, e)
	if waitKind(agent.KindIssue, time.Second) {
		t.Fatal("removal reported while the door was open")
	}
	if code, _, errOut := runMain(t, "", "door", "--store", cfg.Store, "nowhere", "closed"); code != ExitFailure || !strings.Contains(errOut, "nowhere") {
		t.Errorf("unknown zone: %d %s", code, errOut)
	}
	if code, _, _ := runMain(t, "", "door", "--store", cfg.Store, "shelf", "ajar"); code != ExitUsage {
		t.Errorf("bad state: exit %d", code)
	}
	if code, _, errOut := runMain(t, "", "door", "--store", cfg.Store, "shelf", "closed"); code != ExitOK {
		t.Fatalf("door closed: %d %s", code, errOut)
	}
	if !waitKind(agent.KindIssue, 10*time.Second) {
		t.Fatal("no removal after the door closed")
	}
	// Not used, returned or put back: the "removed but not linked" alert is
	// recorded against the item.
	deadline := time.After(10 * time.Second)
	for {
		select {
		case o := <-tags:
			if m := o.Movement; m.Kind == agent.KindContext {
				if m.Item != epc.Key(e) || len(m.Flags) != 1 || m.Flags[0] != cabinet.FlagRemovedNotLinked || !strings.Contains(m.Reason, "cabinet-9") {
					t.Fatalf("alert: %+v", m)
				}
				return
			}
		case <-deadline:
			t.Fatal("no removed-but-not-linked alert")
		}
	}
}

// TestCaseAtStation scans, on a real pseudo-terminal, a nurse's badge, a
// patient's wristband, a case barcode and an implant: the use is linked to
// the case, the patient and the nurse, and trace shows it.
func TestCaseAtStation(t *testing.T) {
	dir := t.TempDir()
	pt := testkit.New(t, filepath.Join(t.TempDir(), "scanner"))
	master := pt.Master
	cfg := edge.DefaultConfig()
	cfg.Gateway, cfg.Store = "gw-or", filepath.Join(dir, "ledger.db")
	cfg.Scanners = []edge.ScannerConfig{{ID: "or3", Device: pt.Link, Location: "OR-3", Kind: "use", RequireSerial: true}}
	cfg.Patterns = edge.PatternsConfig{Wristband: `^PAT(\d{6})$`, Case: `^CASE-(\S+)$`, Badge: `^BADGE-(\w+)$`,
		Commands: map[string]string{"CMD-CLOSE-CASE": "close-case"}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	a := edge.NewAgent(cfg, testLogger(t, &logs))
	outs := make(chan agent.Outcome, 16)
	a.OnAnswer = func(_ string, o agent.Outcome) { outs <- o }
	runAgent(t, a)
	checkFor(t, 10*time.Second, func() error {
		if !agentDevices(t, a)["or3"] {
			return errorf("scanner not open")
		}
		return nil
	})
	for _, code := range []string{"]C0BADGE-N042", "]C0PAT004217", "]C0CASE-2026-1124-07", "]d20109520123456788172805311021A-77\x1d2100042", "]C0CMD-CLOSE-CASE"} {
		if _, err := master.Write([]byte(code + "\r")); err != nil {
			t.Fatal(err)
		}
		select {
		case o := <-outs:
			if o.Verdict != agent.VerdictAccepted {
				t.Fatalf("%q: %s %s", code, o.Verdict, o.Movement.Reason)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%q: no answer", code)
		}
	}
	code, out, errOut := runMain(t, "", "trace", "--store", cfg.Store, "--json", "(01)09520123456788(21)00042")
	if code != ExitOK {
		t.Fatalf("trace: %d %s", code, errOut)
	}
	var m api.Movement
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatal(err)
	}
	if m.Kind != "use" || m.Case != "2026-1124-07" || m.Patient != "004217" || m.Actor != "N042" {
		t.Fatalf("use: %+v", m)
	}
	_, out, _ = runMain(t, "", "trace", "--store", cfg.Store, "(01)09520123456788(21)00042")
	if !strings.Contains(out, "2026-1124-07") || !strings.Contains(out, "004217") || !strings.Contains(out, "N042") {
		t.Fatalf("trace table lacks case, patient or actor:\n%s", out)
	}
	// EPCIS export through the running agent: one event (the use; station
	// context is not exported), no patient identifier unless asked for.
	code, out, errOut = runMain(t, "", "export", "epcis", "--store", cfg.Store)
	if code != ExitOK || !strings.Contains(errOut, "exported 1 event(s); 4 movement(s)") {
		t.Fatalf("export: %d %s", code, errOut)
	}
	var doc struct {
		Type string `json:"type"`
		Body struct {
			Events []map[string]any `json:"eventList"`
		} `json:"epcisBody"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("export is not JSON: %v\n%s", err, out)
	}
	if doc.Type != "EPCISDocument" || len(doc.Body.Events) != 1 || doc.Body.Events[0]["bizStep"] != "dispensing" {
		t.Fatalf("export: %s", out)
	}
	if strings.Contains(out, "004217") {
		t.Fatalf("patient identifier exported without --include-patient")
	}
	if _, out, _ = runMain(t, "", "export", "epcis", "--store", cfg.Store, "--include-patient"); !strings.Contains(out, "004217") {
		t.Fatalf("--include-patient: patient missing:\n%s", out)
	}
	// The patient identifier is in the ledger, never in the log.
	if l := logs.String(); strings.Contains(l, "004217") || !strings.Contains(l, "scan accepted") {
		t.Fatalf("log (must name scans, never the patient):\n%s", l)
	}
}
