package main

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent/testkit"
	"github.com/udi-edge/udi-edge/cmd/internal/edge"

	"github.com/udi-edge/udi-edge/agent"
)

// TestPointOfUseChecks runs an OR station on a real pseudo-terminal with
// the example catalogue and recalls imported: the station hears accept,
// warn or reject bytes, and each decision is recorded with the movement.
func TestPointOfUseChecks(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "ledger.db")
	td := "../../agent/master/testdata/"
	for _, f := range [][2]string{{"catalogue", "catalogue.csv"}, {"recalls", "recalls.csv"}} {
		if code, _, errOut := runMain(t, "", "import", "--store", store, "--gateway", "gw-or", f[0], td+f[1]); code != ExitOK {
			t.Fatalf("import %s: %s", f[0], errOut)
		}
	}
	pt := testkit.New(t, filepath.Join(t.TempDir(), "scanner"))
	master := pt.Master
	cfg := edge.DefaultConfig()
	cfg.Gateway, cfg.Store = "gw-or", store
	cfg.Scanners = []edge.ScannerConfig{{ID: "or3", Device: pt.Link, Location: "OR-3", Kind: "use", RequireSerial: true,
		Feedback: edge.FeedbackConfig{Accept: edge.HexBytes{0x06}, Warn: edge.HexBytes{0x07}, Reject: edge.HexBytes{0x15}}}}
	cfg.Patterns = edge.PatternsConfig{Wristband: `^PAT(\d{6})$`}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	a := edge.NewAgent(cfg, nil)
	outs := make(chan agent.Outcome, 16)
	a.OnAnswer = func(_ string, o agent.Outcome) { outs <- o }
	ctx := runAgent(t, a)
	beeps := make(chan byte, 16)
	go func() {
		r := bufio.NewReader(master)
		for {
			b, err := r.ReadByte()
			if err != nil {
				return
			}
			beeps <- b
		}
	}()
	checkFor(t, 10*time.Second, func() error {
		if !agentDevices(t, a)["or3"] {
			return errorf("scanner not open")
		}
		return nil
	})
	scan := func(code string) (agent.Outcome, byte) {
		t.Helper()
		if _, err := master.Write([]byte(code + "\r")); err != nil {
			t.Fatal(err)
		}
		var o agent.Outcome
		select {
		case o = <-outs:
		case <-time.After(10 * time.Second):
			t.Fatalf("%q: no answer", code)
		}
		select {
		case b := <-beeps:
			return o, b
		case <-time.After(10 * time.Second):
			t.Fatalf("%q: no feedback byte", code)
		}
		return o, 0
	}
	label := func(gtin, expiry, lot, serial string) string {
		return "]d201" + gtin + "17" + expiry + "10" + lot + "\x1d21" + serial
	}
	cases := []struct {
		name     string
		code     string
		verdict  agent.Verdict
		beep     byte
		decision string
		reason   string
	}{
		{"no case yet", label("06901234100013", "281231", "L1", "A1"), agent.VerdictWarned, 0x07, "warned", "no open case"},
		{"wristband", "]C0PAT004217", agent.VerdictAccepted, 0x06, "", "patient identified"},
		{"good use", label("06901234100013", "281231", "L1", "A2"), agent.VerdictAccepted, 0x06, "accepted", ""},
		{"used twice", label("06901234100013", "281231", "L1", "A2"), agent.VerdictBlocked, 0x15, "blocked", "already used"},
		{"expired", label("06901234100013", "250531", "L0", "A3"), agent.VerdictBlocked, 0x15, "blocked", "expired"},
		{"recalled lot", label("06901234200010", "281231", "B2309011", "S9"), agent.VerdictBlocked, 0x15, "blocked", "recalled"},
		{"unknown item", label("06901234999990", "281231", "X1", "Q1"), agent.VerdictWarned, 0x07, "warned", "catalogue"},
		{"imported item", label("06901234200027", "281231", "P1", "P7"), agent.VerdictWarned, 0x07, "pending", "justification"},
	}
	for _, tc := range cases {
		o, b := scan(tc.code)
		m := o.Movement
		if o.Verdict != tc.verdict || b != tc.beep || m.Decision != tc.decision || !strings.Contains(strings.ToLower(m.Reason), tc.reason) {
			t.Errorf("%s: verdict %s beep %#x decision %q reason %q", tc.name, o.Verdict, b, m.Decision, m.Reason)
		}
	}
	// The imported item's use is completed by a justification through the
	// local API; a second one finds nothing pending.
	code, out, errOut := runMain(t, "", "justify", "--store", store, "--actor", "N042", "(01)06901234200027(21)P7", "R03 no domestic equivalent")
	if code != ExitOK || !strings.Contains(out, "necessity justification R03 no domestic equivalent for use") {
		t.Fatalf("justify: %d %s %s", code, out, errOut)
	}
	if code, _, errOut := runMain(t, "", "justify", "--store", store, "(01)06901234200027(21)P7", "again"); code != ExitFailure || !strings.Contains(errOut, "no use") {
		t.Fatalf("second justify: %d %s", code, errOut)
	}
	// The use scanned before the wristband was held and is linked to the
	// case the wristband opened.
	held, err := a.Ledger().Trace(ctx, "(01)06901234100013(21)A1")
	if err != nil || len(held) != 2 || held[0].Kind != agent.KindUse || held[0].Patient != "" {
		t.Fatalf("held use: %+v %v", held, err)
	}
	if seq, ok := agent.Linked(held[1]); !ok || seq != held[0].Seq || held[1].Patient != "004217" {
		t.Fatalf("held use not linked: %+v", held[1])
	}
	// The blocked second use is on record and did not count as a use: the
	// item's trace shows one use and one blocked attempt.
	ms, err := a.Ledger().Trace(ctx, "(01)06901234100013(21)A2")
	if err != nil || len(ms) != 2 || ms[0].Decision != "accepted" || ms[1].Decision != "blocked" || ms[0].Case == "" && ms[0].Patient == "" {
		t.Fatalf("trace: %+v %v", ms, err)
	}
}

// TestScheduledCase: with the operating schedule imported, a use scanned
// in OR-5 with no case open takes the case scheduled there now.
func TestScheduledCase(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "ledger.db")
	now := time.Now()
	sched := filepath.Join(dir, "schedule.csv")
	csv := "case,patient,room,start,end\n" +
		"C-501,P-77,OR-5," + now.Add(-20*time.Minute).Format(time.RFC3339) + "," + now.Add(time.Hour).Format(time.RFC3339) + "\n" +
		"C-502,P-78,OR-6," + now.Add(-20*time.Minute).Format(time.RFC3339) + "," + now.Add(time.Hour).Format(time.RFC3339) + "\n"
	if err := os.WriteFile(sched, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runMain(t, "", "import", "--store", store, "--gateway", "gw-or", "schedules", sched)
	if code != ExitOK || !strings.Contains(out, "schedules: 2 row(s) imported") {
		t.Fatalf("import schedules: %d %s %s", code, out, errOut)
	}
	pt := testkit.New(t, filepath.Join(t.TempDir(), "scanner"))
	master := pt.Master
	cfg := edge.DefaultConfig()
	cfg.Gateway, cfg.Store = "gw-or", store
	cfg.Scanners = []edge.ScannerConfig{{ID: "or5", Device: pt.Link, Location: "OR-5", Kind: "use"}}
	cfg.Patterns = edge.PatternsConfig{Wristband: `^PAT(\d{6})$`}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	a := edge.NewAgent(cfg, nil)
	outs := make(chan agent.Outcome, 4)
	a.OnAnswer = func(_ string, o agent.Outcome) { outs <- o }
	runAgent(t, a)
	checkFor(t, 10*time.Second, func() error {
		if !agentDevices(t, a)["or5"] {
			return errorf("scanner not open")
		}
		return nil
	})
	go io.Copy(io.Discard, master)
	if _, err := master.Write([]byte("]d20106901234100013172812311011\x1d21S55\r")); err != nil {
		t.Fatal(err)
	}
	select {
	case o := <-outs:
		m := o.Movement
		if m.Case != "C-501" || m.Patient != "P-77" || !slices.Contains(m.Flags, agent.FlagScheduled) || slices.Contains(m.Flags, "no-case") {
			t.Fatalf("use in OR-5: case %q flags %v reason %q", m.Case, m.Flags, m.Reason)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no answer")
	}
}
