package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/bolt"
)

// TestAnomaliesAndReconcile records movements in a real ledger, imports a
// settlement file, and runs both auditor commands on the stopped file.
func TestAnomaliesAndReconcile(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "ledger.db")
	l, err := bolt.Open(bolt.Options{Path: store, Gateway: "gw-a"})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 24, 9, 0, 0, 0, time.FixedZone("CST", 8*3600))
	item := func(serial string) string { return "(01)06901234100013(21)" + serial }
	for _, m := range []agent.Movement{
		{Kind: agent.KindReceive, Item: item("1"), GTIN: "06901234100013", Serial: "1", Location: "warehouse"},
		{Kind: agent.KindUse, Item: item("1"), GTIN: "06901234100013", Serial: "1", Location: "OR-3", Case: "C1", Patient: "004217"},
		{Kind: agent.KindUse, Item: item("1"), GTIN: "06901234100013", Serial: "1", Location: "OR-3", Case: "C2", Patient: "004218"},
		{Kind: agent.KindUse, Item: item("2"), GTIN: "06901234100013", Serial: "2", Location: "OR-3", Case: "C2", Patient: "004218"},
	} {
		m.Time = at
		if _, err := l.Append(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	settlements := filepath.Join(dir, "settlements.json")
	body := `[{"id":"S1","patient":"004217","case":"C1","item":"(01)06901234100013(21)1","quantity":1,"amount":"6850.00"},
		{"id":"S9","patient":"004219","case":"C9","item":"(01)06901234100013(21)9","quantity":1,"amount":"6850.00"}]`
	if err := os.WriteFile(settlements, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runMain(t, "", "import", "--store", store, "--gateway", "gw-a", "settlements", settlements); code != ExitOK {
		t.Fatalf("import: %s", errOut)
	}
	code, out, _ := runMain(t, "", "anomalies", "--store", store)
	if code != ExitFailure {
		t.Fatalf("anomalies: exit %d\n%s", code, out)
	}
	for _, want := range []string{"used-twice", "never-received", "billed-never-scanned"} {
		if !strings.Contains(out, want) {
			t.Errorf("anomalies lack %s:\n%s", want, out)
		}
	}
	code, out, _ = runMain(t, "", "reconcile", "--store", store, "--json")
	if code != ExitFailure || strings.Count(out, `"kind":"used-not-billed"`) != 2 || !strings.Contains(out, `"settlement":"S9"`) {
		t.Fatalf("reconcile: exit %d\n%s", code, out)
	}
	if strings.Contains(out, "004217") {
		t.Fatalf("findings must not name patients:\n%s", out)
	}
	// The trace of a billed item shows the line that bills it; an item no
	// line bills shows none.
	code, out, _ = runMain(t, "", "trace", "--store", store, item("1"))
	if code != ExitOK || !strings.Contains(out, "settlement line(s): 1") || !regexp.MustCompile(`(?m)^S1 +C1 +004217 +- +\(01\)06901234100013\(21\)1 +1 +6850\.00`).MatchString(out) {
		t.Fatalf("trace of a billed item: exit %d\n%s", code, out)
	}
	code, out, _ = runMain(t, "", "trace", "--store", store, "--json", item("1"))
	if code != ExitOK || !strings.Contains(out, `{"settlement_line":{"id":"S1","case":"C1","patient":"004217","item":"(01)06901234100013(21)1","gtin":"06901234100013","quantity":1,"amount":"6850.00"}}`) {
		t.Fatalf("trace --json of a billed item: exit %d\n%s", code, out)
	}
	if code, out, _ = runMain(t, "", "trace", "--store", store, item("2")); code != ExitOK || strings.Contains(out, "settlement") {
		t.Fatalf("trace of an unbilled item: exit %d\n%s", code, out)
	}
}
