package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/audit"
	"github.com/udi-edge/udi-edge/agent/bolt"
	"github.com/udi-edge/udi-edge/agent/testkit"
)

// TestCostAndImplants runs `cost` and `implants` on a stopped agent's
// file: an MA-labelled implant and a box of gauze used in a scheduled
// case with its DRG group, the cost against the payment standard, and the
// implant record with the schedule's record number and surgeon, as JSON
// and CSV.
func TestCostAndImplants(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "ledger.db")
	l, err := bolt.Open(bolt.Options{Path: store, Gateway: "gw-c"})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 25, 9, 0, 0, 0, time.FixedZone("CST", 8*3600))
	const stent = "MA.156.M0.100350.01004YA10017"
	for _, m := range []agent.Movement{
		{Kind: agent.KindUse, Item: stent + ".S88", Serial: "88", Lot: "2405", Expiry: "2028-05-31", Location: "OR-3", Case: "C-7", Patient: "P-4711"},
		{Kind: agent.KindUse, Item: "(01)16901234100027(10)G1", GTIN: "16901234100027", Lot: "G1", Location: "OR-3", Case: "C-7", Patient: "P-4711"},
	} {
		m.Time = at
		if _, err := l.Append(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	cat := testkit.WriteFile(t, "catalogue.csv", "di,name,unit_price,implant,registration,manufacturer,supplier,package_of,package_quantity,insurance_code,generic_name,procurement,agreed_volume\n"+
		stent+",冠脉支架,750.00,true,国械注准20213130999,某某医疗,华东医药,,,C09100100000000211790000049,冠脉支架,true,120\n"+
		"06901234100020,纱布,2.50,,,,,,,,,,\n"+
		"16901234100027,纱布 盒,25.00,,,,,06901234100020,10,,,,\n")
	sched := testkit.WriteFile(t, "schedules.csv", "case,patient,room,start,end,procedure,group,payment_standard,surgeon,record_no\n"+
		"C-7,P-4711,OR-3,2026-11-25T08:00:00+08:00,2026-11-25T12:00:00+08:00,PCI,FM19,30000.00,李医生,BA-77\n")
	for set, f := range map[string]string{"catalogue": cat, "schedules": sched} {
		if code, _, errOut := runMain(t, "", "import", "--store", store, "--gateway", "gw-c", set, f); code != ExitOK {
			t.Fatalf("import %s: %s", set, errOut)
		}
	}
	code, out, errOut := runMain(t, "", "cost", "--store", store, "C-7")
	if code != ExitOK || !strings.Contains(out, "materials inside the case payment: 775.00 yuan") ||
		!strings.Contains(out, "group FM19, payment standard 30000.00 yuan: materials are 2.6% of it") || !strings.Contains(out, "冠脉支架") {
		t.Fatalf("cost: %d\n%s\n%s", code, out, errOut)
	}
	code, out, _ = runMain(t, "", "cost", "--store", store, "--json", "C-7")
	var c audit.CaseCost
	if code != ExitOK || json.Unmarshal([]byte(out), &c) != nil || len(c.Lines) != 2 || c.Lines[1].Quantity != 10 || c.Total != 77500 {
		t.Fatalf("cost --json: %d %s", code, out)
	}

	code, out, _ = runMain(t, "", "implants", "--store", store, "--patient", "P-4711", "--format", "json")
	var rs []audit.ImplantRecord
	if code != ExitOK || json.Unmarshal([]byte(out), &rs) != nil || len(rs) != 1 {
		t.Fatalf("implants: %d %s", code, out)
	}
	if r := rs[0]; r.Item != stent+".S88" || r.Record != "BA-77" || r.Surgeon != "李医生" || r.Registration != "国械注准20213130999" ||
		r.Serial != "88" || r.Lot != "2405" || r.Supplier != "华东医药" {
		t.Errorf("record %+v", r)
	}
	csvPath := filepath.Join(dir, "implants.csv")
	if code, out, errOut := runMain(t, "", "implants", "--store", store, "--format", "csv", "-o", csvPath); code != ExitOK || !strings.Contains(out, "1 implant record(s)") {
		t.Fatalf("implants csv: %d %s %s", code, out, errOut)
	}
	b, err := os.ReadFile(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(b), "\ufeff"))).ReadAll()
	if err != nil || len(rows) != 2 || rows[0][0] != "patient" || rows[1][0] != "P-4711" || rows[1][1] != "BA-77" {
		t.Errorf("csv: %v %q", err, rows)
	}
	if fi, err := os.Stat(csvPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the record holds personal data: mode %v", fi.Mode())
	}
	if code, _, _ := runMain(t, "", "implants", "--store", store, "--format", "xml"); code != ExitUsage {
		t.Errorf("bad format: exit %d", code)
	}

	// Volume-based procurement: the stent's agreed volume against its
	// use in the period; none before it.
	code, out, errOut = runMain(t, "", "procurement", "--store", store, "--from", "2026-11-01", "--to", "2026-11-30")
	if code != ExitOK || !strings.Contains(out, "冠脉支架") || !strings.Contains(out, "0.8% of the agreed volume") {
		t.Fatalf("procurement: %d\n%s\n%s", code, out, errOut)
	}
	code, out, _ = runMain(t, "", "procurement", "--store", store, "--to", "2026-11-24", "--json")
	var ls []audit.VolumeLine
	if code != ExitOK || json.Unmarshal([]byte(out), &ls) != nil || len(ls) != 1 || ls[0].Used != 0 || ls[0].Agreed != 120 {
		t.Fatalf("procurement before the use: %d %s", code, out)
	}
	if code, _, errOut := runMain(t, "", "procurement", "--store", store, "--from", "yesterday"); code != ExitUsage || !strings.Contains(errOut, "--from") {
		t.Errorf("bad --from: %d %s", code, errOut)
	}
}
