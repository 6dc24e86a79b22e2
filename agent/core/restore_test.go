package core_test

import (
	"fmt"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/bolt"
	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/agent/station"
)

// TestStationsAfterRestart: a gateway restarted in the middle of an
// operation goes on with what each station had open: the next implant
// is used in the case, a command scanned before the restart applies to
// the next scan. A case idle past its time before the restart is not
// brought back, and thousands of movements at other stations since the
// case opened do not hide it.
func TestStationsAfterRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	stations := map[string]agent.Station{
		"or3":  {ID: "or3", Location: "OR-3", Kind: agent.KindUse},
		"or5":  {ID: "or5", Location: "OR-5", Kind: agent.KindUse},
		"desk": {ID: "desk", Location: "warehouse", Kind: agent.KindReceive},
	}
	patterns := &station.Patterns{
		Wristband: regexp.MustCompile(`^PAT(\d{6})$`), Case: regexp.MustCompile(`^CASE-(\S+)$`), Badge: regexp.MustCompile(`^BADGE-(\w+)$`),
		Commands: map[string]agent.Command{"CMD-RETURN": agent.CmdReturn},
		CaseIdle: 4 * time.Hour, BadgeTimeout: 30 * time.Minute,
	}
	open := func() (*bolt.Ledger, *core.Gateway, *[]agent.Outcome) {
		l, g := openLive(t, path, stations, patterns, &now)
		var outs []agent.Outcome
		g.OnAnswer = func(_ string, o agent.Outcome) { outs = append(outs, o) }
		return l, g, &outs
	}

	l, g, _ := open()
	scan(g, "or5", "]C0PAT000005", now) // idle for five hours by the restart
	now = now.Add(5 * time.Hour)
	scan(g, "or3", "]C0PAT004217", now)
	scan(g, "or3", "]C0CASE-2026-1201-7", now)
	scan(g, "or3", "]C0BADGE-nurse7", now)
	scan(g, "or3", gs1("06901234100013", "281231", "L1", "S1"), now)
	for i := range 3000 {
		scan(g, "desk", gs1("06901234100013", "281231", "L1", fmt.Sprintf("R%d", i)), now.Add(time.Duration(i)*time.Second))
	}
	now = now.Add(time.Hour)
	scan(g, "or3", "]C0CMD-RETURN", now)
	g.Wait()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	now = now.Add(10 * time.Minute)
	l, g, outs := open()
	defer l.Close()
	for st, want := range map[string]station.Context{
		"or3": {Patient: "004217", Case: "2026-1201-7"}, // the badge timed out
		"or5": {},
	} {
		if got, err := g.StationContext(st); err != nil || got != want {
			t.Errorf("%s after the restart: %+v, %v; want %+v", st, got, err, want)
		}
	}
	scan(g, "or3", gs1("06901234100013", "281231", "L1", "S1"), now)
	scan(g, "or3", gs1("06901234100013", "281231", "L1", "S2"), now)
	g.Wait()
	if len(*outs) != 2 {
		t.Fatalf("%d outcomes", len(*outs))
	}
	ret, use := (*outs)[0].Movement, (*outs)[1].Movement
	if ret.Kind != agent.KindReturn || ret.Case != "2026-1201-7" || use.Kind != agent.KindUse || use.Case != "2026-1201-7" || use.Patient != "004217" {
		t.Fatalf("after the restart: %s in case %q, then %s in case %q (patient %q)", ret.Kind, ret.Case, use.Kind, use.Case, use.Patient)
	}
}

// TestStationsRestoredWithinADay: where cases never time out, what is read
// back is the last day: a case whose scans are all older is not opened
// again at the restart, though the movements read back reach it.
func TestStationsRestoredWithinADay(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	stations := map[string]agent.Station{
		"or3": {ID: "or3", Location: "OR-3", Kind: agent.KindUse},
		"or5": {ID: "or5", Location: "OR-5", Kind: agent.KindUse},
	}
	patterns := &station.Patterns{Wristband: regexp.MustCompile(`^PAT(\d{6})$`)} // no idle time
	open := func() (*bolt.Ledger, *core.Gateway) { return openLive(t, path, stations, patterns, &now) }
	l, g := open()
	scan(g, "or5", "]C0PAT000005", now) // 25 hours before the restart
	now = now.Add(2 * time.Hour)
	scan(g, "or3", "]C0PAT004217", now) // 23 hours before
	g.Wait()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	now = now.Add(23 * time.Hour)
	l, g = open()
	defer l.Close()
	for st, want := range map[string]string{"or3": "004217", "or5": ""} {
		if got, err := g.StationContext(st); err != nil || got.Patient != want {
			t.Errorf("%s after the restart: %+v, %v; want patient %q", st, got, err, want)
		}
	}
}

// openLive opens the ledger at path and a live core over it with
// stations and patterns, its clock reading *now.
func openLive(t *testing.T, path string, stations map[string]agent.Station, patterns *station.Patterns, now *time.Time) (*bolt.Ledger, *core.Gateway) {
	t.Helper()
	l, err := bolt.Open(bolt.Options{Path: path, Gateway: "gw-1"})
	if err != nil {
		t.Fatal(err)
	}
	g, err := core.New(core.Config{Stations: stations, Patterns: patterns, Live: true, Now: func() time.Time { return *now }}, core.Deps{Store: l, Master: l})
	if err != nil {
		t.Fatal(err)
	}
	return l, g
}
