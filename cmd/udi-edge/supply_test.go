package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/cmd/internal/edge"
)

// TestSupplyCommands: a real agent with a consigned stent and a
// configured par level at OR-3 (2 to 3): receipts are the supplier's, a
// use raises one refill request, shown by `stock` with the par level;
// `stock --forecast` gives the stent's demand basis; `loan` declares a
// supplier's loan set whose item is then used as a loan; the stopped
// file answers the same stock report; a bad loan set is refused naming
// what is wrong.
func TestSupplyCommands(t *testing.T) {
	const stent = "09506000134352"
	cfg := edge.Config{Stock: edge.StockConfig{Sweep: edge.Duration(time.Second),
		ParLevels: []edge.ParConfig{{Location: "OR-3", GTIN: stent, Min: 2, Max: 3}}}}
	p := newAgentProc(t, cfg, procScanner{"desk", "OR-3", "receive"}, procScanner{"or3", "OR-3", "use"})
	cat := filepath.Join(t.TempDir(), "cat.csv")
	if err := os.WriteFile(cat, []byte("gtin,name,unit_price,supplier,consigned\n"+stent+",Stent,750.00,华东医药,是\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if c, out, errOut := p.run("import", "catalogue", cat); c != ExitOK {
		t.Fatalf("import: %d %s%s", c, out, errOut)
	}
	exp := time.Now().AddDate(1, 0, 0).Format("060102")
	for _, s := range []struct{ station, code string }{
		{"desk", label(stent, exp, "L1", "S1")},
		{"desk", label(stent, exp, "L1", "S2")},
		{"desk", label(stent, exp, "L1", "S3")},
		{"or3", label(stent, exp, "L1", "S1")},
	} {
		if b := p.scan(s.station, s.code); b != ansAccepted && b != ansWarned {
			t.Fatalf("%s scans %q: answer %#x", s.station, s.code, b)
		}
	}
	var r core.StockReport
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, out, errOut := p.run("stock", "--location", "OR-3", "--json")
		if c != ExitOK || json.Unmarshal([]byte(out), &r) != nil {
			t.Fatalf("stock --json: %d %s%s", c, out, errOut)
		}
		if len(r.Requests) > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(r.Requests) != 1 || r.Requests[0].Quantity != 1 || r.Requests[0].Urgency != agent.UrgencyRefill || r.Requests[0].Supplier != "华东医药" {
		t.Fatalf("requests %+v", r.Requests)
	}
	if len(r.Pars) != 1 || r.Pars[0].OnHand != 2 || r.Pars[0].Requested != 1 || r.Pars[0].Below {
		t.Fatalf("pars %+v", r.Pars)
	}
	if len(r.Lines) != 1 || r.Lines[0].Owner != "华东医药" {
		t.Fatalf("lines %+v", r.Lines)
	}
	c, out, _ := p.run("stock", "--location", "OR-3")
	for _, want := range []string{"consigned:华东医药", "par levels: 1", "open replenishment requests: 1", "refill"} {
		if c != ExitOK || !strings.Contains(out, want) {
			t.Errorf("stock lacks %q:\n%s", want, out)
		}
	}
	c, out, errOut := p.run("stock", "--forecast", "--json")
	var fl struct{ Lines []core.ForecastLine }
	if c != ExitOK || json.Unmarshal([]byte(out), &fl) != nil || len(fl.Lines) != 1 || fl.Lines[0].Uses != 1 || fl.Lines[0].Basis == "" {
		t.Fatalf("stock --forecast: %d %s%s", c, out, errOut)
	}
	if c, out, _ := p.run("stock", "--forecast"); c != ExitOK || !strings.Contains(out, "reorder point") {
		t.Errorf("stock --forecast:\n%s", out)
	}

	// A loan set, then a use of its item.
	loanCode := label(stent, exp, "L9", "LOAN1")
	if c, out, errOut := p.run("loan", "--supplier", "骨科器械", "--case", "C-7", "--location", "OR-3", loanCode); c != ExitOK || !strings.Contains(out, "1 item(s) declared") {
		t.Fatalf("loan: %d %s%s", c, out, errOut)
	}
	if b := p.scan("or3", loanCode); b != ansAccepted && b != ansWarned {
		t.Fatalf("loan use: %#x", b)
	}
	c, out, _ = p.run("trace", "--json", "(01)"+stent+"(21)LOAN1")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var use struct {
		Kind  string
		Flags []string
	}
	if c != ExitOK || len(lines) != 2 || json.Unmarshal([]byte(lines[1]), &use) != nil || use.Kind != "use" {
		t.Fatalf("trace: %d %s", c, out)
	}
	if !slices.Contains(use.Flags, agent.FlagLoan) || !slices.Contains(use.Flags, agent.ConsignedFlag("骨科器械")) || slices.Contains(use.Flags, "never-received") {
		t.Errorf("loan use flags %v", use.Flags)
	}
	for _, bad := range []struct {
		args []string
		says string
	}{
		{[]string{"loan", loanCode}, "--supplier"},
		{[]string{"loan", "--supplier", "S"}, "no item codes"},
		{[]string{"loan", "--supplier", "S", "]d201" + stent}, "names a product"},
		{[]string{"loan", "--supplier", "S", loanCode, "not a code\x01"}, "code 2"},
		{[]string{"loan", "--supplier", "S", "--case", "C-8", label(stent, exp, "L1", "S2")}, "on hand here"},
		{[]string{"loan", "--supplier", "骨科器械", "--case", "C-7", loanCode}, "already declared"},
		{[]string{"stock", "--location", "Typo"}, `"Typo" is not known here`},
		{[]string{"stock", "--forecast", "--location", "Typo"}, "known: OR-3"},
	} {
		if c, _, errOut := p.run(bad.args...); c == ExitOK || !strings.Contains(errOut, bad.says) {
			t.Errorf("%q: exit %d, %q (want %q)", bad.args, c, errOut, bad.says)
		}
	}

	if c, _, errOut := p.run("trace", "WARD7-BED12"); c == ExitOK || strings.Count(errOut, "not an item code") != 1 {
		t.Errorf("trace of a plain code: exit %d, %q: want \"not an item code\" once", c, errOut)
	}

	c, out, _ = p.run("stock", "--location", "OR-3", "--json")
	var running core.StockReport
	if c != ExitOK || json.Unmarshal([]byte(out), &running) != nil {
		t.Fatal(out)
	}
	p.stop()
	c, out, _ = p.run("stock", "--location", "OR-3", "--json")
	var stopped core.StockReport
	if c != ExitOK || json.Unmarshal([]byte(out), &stopped) != nil || !reflect.DeepEqual(running, stopped) {
		t.Errorf("running:\n%+v\nstopped:\n%+v", running, stopped)
	}
}
