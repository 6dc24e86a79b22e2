package core_test

import (
	"context"
	"errors"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/bolt"
	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/agent/station"
)

// TestCloseCaseAndRecent: CloseCase closes a station's case as its
// close-case barcode does (the next use has no case); it refuses an
// unknown station and a gateway with no close-case barcode. Recent
// returns a station's last movements, oldest first.
func TestCloseCaseAndRecent(t *testing.T) {
	l, err := bolt.Open(bolt.Options{Path: filepath.Join(t.TempDir(), "ledger.db"), Gateway: "gw-1"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	stations := map[string]agent.Station{"or": {ID: "or", Location: "OR-3", Kind: agent.KindUse}, "or5": {ID: "or5", Location: "OR-5", Kind: agent.KindUse}}
	patterns := &station.Patterns{Wristband: regexp.MustCompile(`^PAT(\d{6})$`), Commands: map[string]agent.Command{"CMD-X": agent.CmdCloseCase}}
	g, err := core.New(core.Config{Stations: stations, Patterns: patterns, Live: true, Now: func() time.Time { return now }}, core.Deps{Store: l, Master: l})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var outs []agent.Outcome
	g.OnAnswer = func(_ string, o agent.Outcome) { outs = append(outs, o) }
	scan(g, "or", "]C0PAT004217", now)
	scan(g, "or5", "]C0PAT000001", now)
	g.Wait()
	if !g.CanCloseCase() {
		t.Fatal("a close-case barcode is configured")
	}
	if err := g.CloseCase("or9"); !errors.Is(err, core.ErrNoStation) {
		t.Errorf("an unknown station: %v", err)
	}
	if err := g.CloseCase("or"); err != nil {
		t.Fatal(err)
	}
	g.Wait()
	scan(g, "or", gs1("06901234100013", "281231", "L1", "A1"), now)
	g.Wait()
	closed, use := outs[2].Movement, outs[3].Movement
	if closed.Reason != "case closed" || closed.Patient != "004217" || closed.Station != "or" || use.Patient != "" {
		t.Fatalf("closed %+v, then use %+v", closed, use)
	}
	rec, err := g.Recent(ctx, "or", 2)
	if err != nil || len(rec) != 2 || rec[0].Seq != closed.Seq || rec[1].Seq != use.Seq {
		t.Fatalf("recent: %+v %v", rec, err)
	}
	if rec, _ := g.Recent(ctx, "or5", 10); len(rec) != 1 || rec[0].Patient != "000001" {
		t.Fatalf("recent at or5: %+v", rec)
	}

	g2, err := core.New(core.Config{Stations: stations}, core.Deps{Store: l, Master: l})
	if err != nil {
		t.Fatal(err)
	}
	if g2.CanCloseCase() || !errors.Is(g2.CloseCase("or"), core.ErrNoCloseCase) {
		t.Errorf("no close-case barcode: %v", g2.CloseCase("or"))
	}
}
