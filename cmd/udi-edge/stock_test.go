package main

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/cmd/internal/edge"
)

// TestStockCommand: a real agent records receipts at the warehouse (three
// hip stems by serial, two boxes of gauze by lot), a transfer to a ward,
// uses in the operating room (one cancelled and one of gauze scanned away
// from where it was counted); `udi-edge stock` shows what is on hand, per
// location, what expires within 30 days, and the same as JSON, on the
// running agent and then on its stopped file.
func TestStockCommand(t *testing.T) {
	cfg := edge.Config{Patterns: edge.PatternsConfig{Wristband: `^PAT(\d{6})$`, Commands: map[string]string{"CMD-CANCEL": "cancel-last"}}}
	p := newAgentProc(t, cfg, procScanner{"desk", "WH", "receive"}, procScanner{"ward", "W5", "transfer"}, procScanner{"or3", "OR-3", "use"})
	now := time.Now()
	later, soon := now.AddDate(1, 0, 0), now.AddDate(0, 0, 10)
	yymmdd := func(t time.Time) string { return t.Format("060102") }
	iso := func(t time.Time) string { return t.Format("2006-01-02") }
	const stem, gauze = "09520123456788", "06901234100013"
	gauzeLot := "]d201" + gauze + "17" + yymmdd(later) + "10G1"
	for _, s := range []struct{ station, code string }{
		{"desk", label(stem, yymmdd(later), "L7", "S1")},
		{"desk", label(stem, yymmdd(later), "L7", "S2")},
		{"desk", label(stem, yymmdd(soon), "L6", "S3")},
		{"desk", gauzeLot},
		{"desk", gauzeLot},
		{"ward", label(stem, yymmdd(later), "L7", "S1")},
		{"or3", "]C0PAT004217"},
		{"or3", label(stem, yymmdd(later), "L7", "S2")},
		{"or3", label(stem, yymmdd(soon), "L6", "S3")}, // expiring soon: warned
		{"or3", "]C0CMD-CANCEL"},                       // S3 back where it was
		{"or3", gauzeLot},                              // none counted in OR-3: one less at WH
	} {
		if b := p.scan(s.station, s.code); b != ansAccepted && b != ansWarned {
			t.Fatalf("%s scans %q: answer %#x", s.station, s.code, b)
		}
	}
	rows := func(out string) []string {
		var got []string
		for _, line := range strings.Split(out, "\n") {
			if f := strings.Fields(line); len(f) == 9 && f[0] != "LOCATION" && !strings.HasSuffix(f[0], ":") {
				got = append(got, strings.Join([]string{f[0], f[1], f[3], f[4], f[5], f[6]}, " "))
			}
		}
		return got
	}
	left := func(t time.Time) string { // days from today, as the agent counts them
		day := func(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC) }
		return strconv.Itoa(int(day(t).Sub(day(now)).Hours() / 24))
	}
	want := []string{
		"W5 " + stem + " L7 " + iso(later) + " " + left(later) + " 1",
		"WH " + gauze + " G1 " + iso(later) + " " + left(later) + " 1",
		"WH " + stem + " L6 " + iso(soon) + " " + left(soon) + " 1",
	}
	var reports []core.StockReport
	check := func(where string) {
		t.Helper()
		c, out, errOut := p.run("stock")
		if c != ExitOK || !reflect.DeepEqual(rows(out), want) || !strings.Contains(out, "WH: 2 unit(s) on hand in 2 line(s)") ||
			!strings.Contains(out, "W5: 1 unit(s) on hand in 1 line(s)") {
			t.Fatalf("%s stock: exit %d, rows %q, want %q\n%s%s", where, c, rows(out), want, out, errOut)
		}
		c, out, _ = p.run("stock", "--expiring", "30")
		if c != ExitOK || !reflect.DeepEqual(rows(out), want[2:]) || !strings.Contains(out, "expiring within 30 days") {
			t.Errorf("%s stock --expiring 30: exit %d\n%s", where, c, out)
		}
		c, out, _ = p.run("stock", "--location", "W5", "--product", stem)
		if c != ExitOK || !reflect.DeepEqual(rows(out), want[:1]) {
			t.Errorf("%s stock --location W5: exit %d\n%s", where, c, out)
		}
		c, out, _ = p.run("stock", "--json")
		var r core.StockReport
		if c != ExitOK || json.Unmarshal([]byte(out), &r) != nil || r.Total != 3 || r.Lines[2].Units != 1 || r.Lines[2].Expiry != iso(soon) {
			t.Fatalf("%s stock --json: exit %d\n%s", where, c, out)
		}
		reports = append(reports, r)
	}
	check("running agent:")
	p.stop()
	check("stopped agent's file:")
	if !reflect.DeepEqual(reports[0], reports[1]) {
		t.Errorf("the stock kept by the running agent\n%+v\ndiffers from the one rebuilt from its file\n%+v", reports[0], reports[1])
	}
	if c, _, errOut := p.run("stock", "--expiring", "0"); c != ExitUsage || !strings.Contains(errOut, "--expiring") {
		t.Errorf("--expiring 0: exit %d %s", c, errOut)
	}
}
