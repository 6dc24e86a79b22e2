package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/api"
	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/agent/epc"
	"github.com/udi-edge/udi-edge/agent/testkit"
	"github.com/udi-edge/udi-edge/cmd/internal/edge"
	"github.com/udi-edge/udi-edge/reader/uhfsim"
)

// countDiffs prints a report's differences as "kind item counted/expected action".
func countDiffs(r core.CountReport) []string {
	var out []string
	for _, d := range r.Differences {
		out = append(out, fmt.Sprintf("%s %s %d/%d %s", d.Kind, d.Item, d.Counted, d.Expected, d.Action))
	}
	return out
}

// TestCountCommand: a barcode cycle count through the real binary: a
// running agent records receipts and a use; `udi-edge count start` makes
// the handheld scanner (a real pty) count at the warehouse; the agent is
// restarted mid-count and the scanner goes on counting; `count end`
// reports the item missing, the one the ledger has used, the code never
// received and the lot short, and the agent logs the alerts by item key,
// no patient; `count adjust` shows, then writes, the adjustments and the
// stock follows them; on the stopped agent's file the report is the same,
// an adjustment confirmed by item is written, and a count started there
// is counted by the agent once it runs.
func TestCountCommand(t *testing.T) {
	cfg := edge.Config{Patterns: edge.PatternsConfig{Wristband: `^PAT(\d{6})$`}}
	p := newAgentProc(t, cfg, procScanner{"desk", "WH", "receive"}, procScanner{"hand", "WH", "stock"}, procScanner{"or3", "OR-3", "use"})
	exp := time.Now().AddDate(1, 0, 0).Format("060102")
	const stem, gauze = "09520123456788", "06901234100013"
	item := func(serial string) string { return "(01)" + stem + "(21)" + serial }
	gauzeLot := "]d201" + gauze + "17" + exp + "10G1"
	for _, s := range []struct{ station, code string }{
		{"desk", label(stem, exp, "L7", "S1")},
		{"desk", label(stem, exp, "L7", "S2")},
		{"desk", label(stem, exp, "L7", "S3")},
		{"desk", label(stem, exp, "L7", "S4")},
		{"desk", gauzeLot}, {"desk", gauzeLot}, {"desk", gauzeLot},
		{"or3", "]C0PAT004217"},
		{"or3", label(stem, exp, "L7", "S4")},
	} {
		if b := p.scan(s.station, s.code); b != ansAccepted && b != ansWarned {
			t.Fatalf("%s scans %q: answer %#x", s.station, s.code, b)
		}
	}
	c, out, errOut := p.run("count", "start", "--station", "hand", "--actor", "badge-9", "--json")
	var s core.CountSession
	if c != ExitOK || json.Unmarshal([]byte(out), &s) != nil || s.Location != "WH" || s.ID == 0 {
		t.Fatalf("count start: exit %d %s %s", c, out, errOut)
	}
	id := fmt.Sprint(s.ID)
	for _, code := range []string{label(stem, exp, "L7", "S1"), label(stem, exp, "L7", "S4"), label(stem, exp, "L7", "S9"), gauzeLot, gauzeLot} {
		if b := p.scan("hand", code); b != ansAccepted && b != ansWarned {
			t.Fatalf("count scan %q: answer %#x", code, b)
		}
	}
	p.stop()
	p.start()
	if b := p.scan("hand", label(stem, exp, "L7", "S3")); b != ansAccepted && b != ansWarned {
		t.Fatalf("count scan after the restart: answer %#x", b)
	}
	c, out, _ = p.run("count", "show", id)
	if c != ExitOK || !strings.Contains(out, "counting") || !strings.Contains(out, "6 scan(s) found 5 key(s)") {
		t.Errorf("count show while counting: exit %d\n%s", c, out)
	}
	c, out, errOut = p.run("count", "end", id, "--json")
	var r core.CountReport
	if c != ExitOK || json.Unmarshal([]byte(out), &r) != nil {
		t.Fatalf("count end: exit %d %s %s", c, out, errOut)
	}
	want := []string{
		"missing " + item("S2") + " 0/1 write-off",
		"used " + item("S4") + " 1/0 investigate",
		"unknown " + item("S9") + " 1/0 commission",
		"lot (01)" + gauze + "(10)G1 2/3 write-off",
	}
	if got := countDiffs(r); !reflect.DeepEqual(got, want) || r.Matched != 2 || r.Alerts != 2 || r.Session.Open() {
		t.Fatalf("count end: %q matched %d alerts %d, want %q", got, r.Matched, r.Alerts, want)
	}
	if b := p.scan("hand", label(stem, exp, "L7", "S1")); b != ansAccepted {
		t.Errorf("after the count the station stocks again: answer %#x", b)
	}
	logs := p.logs.String()
	if !strings.Contains(logs, "item missing, possible loss") || !strings.Contains(logs, item("S2")) || !strings.Contains(logs, "item present that the ledger has used") {
		t.Errorf("the agent's log lacks the alerts:\n%s", logs)
	}
	if strings.Contains(logs, "004217") {
		t.Error("a patient identifier in the agent's log")
	}
	c, out, _ = p.run("count", "list")
	if c != ExitOK || !strings.Contains(out, id+"  ") || !strings.Contains(out, "hand") {
		t.Errorf("count list: exit %d\n%s", c, out)
	}
	c, out, _ = p.run("count", "adjust", id)
	if c != ExitOK || !strings.Contains(out, "2 movement(s) to write") || !strings.Contains(out, "not found at WH: written off as lost") {
		t.Errorf("count adjust (a plan): exit %d\n%s", c, out)
	}
	c, out, errOut = p.run("count", "adjust", id, "--apply", "--actor", "badge-9", "--json")
	var adj api.CountAdjustResponse
	if c != ExitOK || json.Unmarshal([]byte(out), &adj) != nil || !adj.Applied || adj.Total != 2 || adj.Movements[0].Kind != "dispose" || adj.Movements[0].Seq == 0 {
		t.Fatalf("count adjust --apply: exit %d %s %s", c, out, errOut)
	}
	stockAt := func(where string) []string {
		t.Helper()
		c, out, _ := p.run("stock", "--location", "WH", "--json")
		var sr core.StockReport
		if c != ExitOK || json.Unmarshal([]byte(out), &sr) != nil {
			t.Fatalf("%s stock: exit %d %s", where, c, out)
		}
		var got []string
		for _, l := range sr.Lines {
			got = append(got, fmt.Sprintf("%s %s %d", l.Product, l.Lot, l.Units))
		}
		return got
	}
	// S1 and S3 of the stems (S2 written off, S4 used), 2 of the gauze.
	if got := stockAt("running:"); !reflect.DeepEqual(got, []string{gauze + " G1 2", stem + " L7 2"}) {
		t.Errorf("stock after the adjustments: %q", got)
	}
	c, running, _ := p.run("count", "show", id, "--json")
	p.stop()
	c2, stopped, _ := p.run("count", "show", id, "--json")
	if c != ExitOK || c2 != ExitOK || running != stopped || !strings.Contains(stopped, `"action":"adjusted"`) {
		t.Errorf("count show: running agent (exit %d)\n%s\nstopped file (exit %d)\n%s", c, running, c2, stopped)
	}
	c, out, errOut = p.run("count", "adjust", id, "--item", item("S4"), "--apply")
	if c != ExitOK || !strings.Contains(out, "1 movement(s) written") || !strings.Contains(out, "while the ledger has it used: back on hand") {
		t.Errorf("count adjust --item on the stopped file: exit %d %s %s", c, out, errOut)
	}
	if got := stockAt("stopped:"); !reflect.DeepEqual(got, []string{gauze + " G1 2", stem + " L7 3"}) {
		t.Errorf("stock after the used item was restocked: %q", got)
	}
	c, out, errOut = p.run("count", "start", "--station", "hand", "--json")
	var s2 core.CountSession
	if c != ExitOK || json.Unmarshal([]byte(out), &s2) != nil || s2.Location != "WH" {
		t.Fatalf("count start on the stopped file: exit %d %s %s", c, out, errOut)
	}
	p.start()
	if b := p.scan("hand", label(stem, exp, "L7", "S1")); b != ansAccepted && b != ansWarned {
		t.Fatalf("count scan: answer %#x", b)
	}
	c, out, _ = p.run("count", "end", fmt.Sprint(s2.ID), "--json")
	if c != ExitOK || json.Unmarshal([]byte(out), &r) != nil || r.Scans != 1 || r.Matched != 1 {
		t.Errorf("the count started on the file, ended by the agent: exit %d %s", c, out)
	}

	for _, tc := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"count", "end", "999"}, ExitFailure, "no cycle count 999"},
		{[]string{"count", "end", id}, ExitFailure, "ended"},
		{[]string{"count", "start"}, ExitUsage, "--station"},
		{[]string{"count", "start", "--station", "nowhere"}, ExitFailure, "nowhere"},
		{[]string{"count", "adjust", "abc"}, ExitUsage, "abc"},
		{[]string{"count"}, ExitUsage, "--location"},
		{[]string{"count", "--location", "WH"}, ExitFailure, "no RFID zones"},
	} {
		if c, _, errOut := p.run(tc.args...); c != tc.code || !strings.Contains(errOut, tc.says) {
			t.Errorf("%q: exit %d %s, want %d saying %q", tc.args, c, errOut, tc.code, tc.says)
		}
	}
}

// TestCountCabinetCommand: the RFID snapshot of a cabinet through the
// real command against a running agent whose cabinet is a simulated
// reader on a pseudo-terminal: an item the ledger moved into the cabinet
// that the cabinet does not hold is missing (an alert, logged by item
// key), an item the ledger has used put back in it is an alert too, an
// unknown tag is to commission, an item never tagged is not missing but
// to count by barcode; the missing item written off leaves the stock.
func TestCountCabinetCommand(t *testing.T) {
	dir := t.TempDir()
	world := uhfsim.NewWorld()
	sim, err := uhfsim.NewMercury(uhfsim.MercuryConfig{Link: filepath.Join(dir, "cab"), World: world, Antennas: []int{1, 2}, Round: 40 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	cfg := edge.DefaultConfig()
	cfg.Gateway, cfg.Store = "gw-cab", filepath.Join(dir, "ledger.db")
	cfg.Readers = []edge.ReaderConfig{{ID: "cab", Type: "mercury", Device: sim.Path(), Baud: 115200,
		Antennas: []edge.AntennaConfig{{Port: 1, Zone: "shelf"}, {Port: 2, Zone: "other"}}}}
	cfg.Zones = []edge.ZoneConfig{
		{Name: "shelf", Location: "cabinet-9", Role: "cabinet", Round: edge.Duration(100 * time.Millisecond)},
		{Name: "other", Location: "cabinet-8", Role: "cabinet", Round: edge.Duration(100 * time.Millisecond)},
	}
	cfg.Presence.MissRounds = 2
	scanners := map[string]*testkit.Device{}
	for _, s := range []struct{ id, location, kind string }{{"desk", "cabinet-9", "receive"}, {"ward", "cabinet-9", "transfer"}, {"or3", "OR-3", "use"}} {
		dev := testkit.New(t, filepath.Join(dir, s.id))
		scanners[s.id] = dev
		cfg.Scanners = append(cfg.Scanners, edge.ScannerConfig{ID: s.id, Device: dev.Link, Location: s.location, Kind: s.kind})
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	a := edge.NewAgent(cfg, testLogger(t, &logs))
	outs := make(chan agent.Outcome, 256)
	a.OnAnswer = func(_ string, o agent.Outcome) { outs <- o }
	runAgent(t, a)
	checkFor(t, 10*time.Second, func() error {
		devs := agentDevices(t, a)
		for id := range scanners {
			if !devs[id] {
				return errorf("scanner %s not open", id)
			}
		}
		return nil
	})
	// await waits for a movement of kind k of item, recorded (a tag placed
	// in a cabinet's first rounds is counted present, not stocked).
	await := func(k agent.Kind, item string) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case o := <-outs:
				if m := o.Movement; (m.Kind == k || k == agent.KindStock && m.Kind == agent.KindCount) && m.Item == item && m.Seq != 0 {
					return
				}
			case <-deadline:
				t.Fatalf("no %s movement of %s", k, item)
			}
		}
	}
	const gtin = "06901234100013"
	exp := time.Now().AddDate(1, 0, 0).Format("060102")
	scanAt := func(id, serial string, k agent.Kind) {
		t.Helper()
		if err := scanners[id].Send([]byte(label(gtin, exp, "L1", serial) + "\r")); err != nil {
			t.Fatal(err)
		}
		await(k, "(01)"+gtin+"(21)"+serial)
	}
	tag := func(serial string) []byte {
		e, err := epc.EncodeSGTIN96(gtin, serial, 1, 7)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	for _, serial := range []string{"1001", "1002", "1003", "1004"} {
		scanAt("desk", serial, agent.KindReceive)
	}
	scanAt("or3", "1002", agent.KindUse)
	world.Place(2, uhfsim.Tag{EPC: tag("1003")}) // in the other cabinet...
	await(agent.KindStock, epc.Key(tag("1003")))
	scanAt("ward", "1003", agent.KindTransfer) // ...which the ledger says went to cabinet 9
	raw := []byte{0xE2, 0x80, 0x11, 0x60, 0x60, 0x00, 0x02, 0x05, 0x4C, 0xC2, 0x09, 0x6F}
	world.Place(1, uhfsim.Tag{EPC: tag("1001")}, uhfsim.Tag{EPC: tag("1002")}, uhfsim.Tag{EPC: raw})
	await(agent.KindStock, epc.Key(tag("1001")))
	await(agent.KindStock, epc.Key(tag("1002")))
	await(agent.KindStock, epc.Key(raw))

	code, out, errOut := runMain(t, "", "count", "--store", cfg.Store, "--location", "cabinet-9", "--actor", "badge-3", "--json")
	var r core.CountReport
	if code != ExitOK || json.Unmarshal([]byte(out), &r) != nil {
		t.Fatalf("count --location: exit %d %s %s", code, out, errOut)
	}
	key := func(serial string) string { return "(01)" + gtin + "(21)" + serial }
	want := []string{
		"missing " + key("1003") + " 0/1 write-off",
		"used " + key("1002") + " 1/0 investigate",
		"unknown " + epc.Key(raw) + " 1/0 commission",
		"untagged " + key("1004") + " 0/1 count-by-barcode",
	}
	if got := countDiffs(r); !reflect.DeepEqual(got, want) || r.Matched != 1 || r.Alerts != 2 || r.Scans != 3 ||
		!reflect.DeepEqual(r.Session.Zones, []string{"shelf"}) || r.Session.Open() {
		t.Fatalf("snapshot: %q matched %d alerts %d scans %d session %+v, want %q", got, r.Matched, r.Alerts, r.Scans, r.Session, want)
	}
	if l := logs.String(); !strings.Contains(l, "item missing, possible loss") || !strings.Contains(l, "item="+key("1003")) {
		t.Errorf("no alert logged for the missing item:\n%s", l)
	}
	code, out, _ = runMain(t, "", "count", "--store", cfg.Store, "--zone", "shelf")
	if code != ExitOK || !strings.Contains(out, "by RFID shelf") || !strings.Contains(out, "MISSING") {
		t.Errorf("count --zone: exit %d\n%s", code, out)
	}
	units := func() int {
		t.Helper()
		code, out, _ := runMain(t, "", "stock", "--store", cfg.Store, "--location", "cabinet-9", "--json")
		var sr core.StockReport
		if code != ExitOK || json.Unmarshal([]byte(out), &sr) != nil || len(sr.Locations) != 1 {
			t.Fatalf("stock at cabinet 9: exit %d %s", code, out)
		}
		return sr.Locations[0].Units
	}
	before := units()
	code, out, _ = runMain(t, "", "count", "--store", cfg.Store, "adjust", fmt.Sprint(r.Session.ID), "--apply")
	if code != ExitOK || !strings.Contains(out, "1 movement(s) written") || !strings.Contains(out, "dispose") || !strings.Contains(out, key("1003")) {
		t.Fatalf("count adjust --apply: exit %d\n%s", code, out)
	}
	if after := units(); after != before-1 {
		t.Errorf("units at cabinet 9: %d before the write-off, %d after", before, after)
	}
	for _, tc := range []struct {
		args []string
		says string
	}{
		{[]string{"--location", "nowhere"}, "no cabinet zone is at nowhere"},
		{[]string{"--zone", "nowhere"}, `"nowhere" is not a cabinet zone`},
	} {
		if code, _, errOut := runMain(t, "", append([]string{"count", "--store", cfg.Store}, tc.args...)...); code != ExitFailure || !strings.Contains(errOut, tc.says) {
			t.Errorf("%q: exit %d %s", tc.args, code, errOut)
		}
	}
}
