package core_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/bolt"
	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/agent/lifecycle"
)

// TestProcurementCheckOnStock: in OR 3 a stent not selected in
// volume-based procurement is pending a justification while a selected
// stent of the same generic name is on hand there, and accepted once the
// selected ones are used up; a selected stent is never held.
func TestProcurementCheckOnStock(t *testing.T) {
	l, err := bolt.Open(bolt.Options{Path: filepath.Join(t.TempDir(), "ledger.db"), Gateway: "gw-1"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.FixedZone("CST", 8*3600))
	stations := map[string]agent.Station{
		"desk": {ID: "desk", Location: "OR-3", Kind: agent.KindReceive},
		"or":   {ID: "or", Location: "OR-3", Kind: agent.KindUse},
	}
	var answers []agent.Outcome
	g, err := core.New(core.Config{Stations: stations, Live: true, Now: func() time.Time { return now }}, core.Deps{Store: l, Master: l})
	if err != nil {
		t.Fatal(err)
	}
	g.OnAnswer = func(_ string, o agent.Outcome) { answers = append(answers, o) }
	ctx := context.Background()
	const selected, other = "06901234100013", "06901234100020"
	cat := "gtin,name,unit_price,generic_name,procurement,agreed_volume\n" +
		selected + ",stent A,750.00,冠脉支架,true,100\n" + other + ",stent B,900.00,冠脉支架,,\n"
	if _, err := g.Import(ctx, "catalogue", strings.NewReader(cat), core.ImportOptions{Format: "csv"}); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Stock(ctx, core.StockQuery{}); err != nil { // built
		t.Fatal(err)
	}
	step := func(station, raw string) agent.Movement {
		t.Helper()
		n := len(answers)
		scan(g, station, raw, now)
		g.Wait()
		if len(answers) != n+1 {
			t.Fatalf("%d answers", len(answers)-n)
		}
		return answers[n].Movement
	}
	for _, s := range []string{"A1", "B1", "B2"} {
		g := selected
		if s[0] == 'B' {
			g = other
		}
		step("desk", gs1(g, "281231", "L1", s))
	}
	m := step("or", gs1(other, "281231", "L1", "B1"))
	if m.Decision != agent.DecisionPending || !slices.Contains(m.Flags, string(lifecycle.CheckProcurement)) ||
		!strings.Contains(m.Reason, selected+" (冠脉支架) is in stock here") {
		t.Fatalf("B used while A is on hand: %s %v %q", m.Decision, m.Flags, m.Reason)
	}
	if m := step("or", gs1(selected, "281231", "L1", "A1")); slices.Contains(m.Flags, string(lifecycle.CheckProcurement)) || m.Decision != agent.DecisionAccepted {
		t.Fatalf("A used: %s %v", m.Decision, m.Flags)
	}
	if m := step("or", gs1(other, "281231", "L1", "B2")); slices.Contains(m.Flags, string(lifecycle.CheckProcurement)) {
		t.Fatalf("B used with no A left: %s %v %q", m.Decision, m.Flags, m.Reason)
	}
}
