package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent/insurance"
	"github.com/udi-edge/udi-edge/cmd/internal/edge"
)

// feeFindings parses reconcile --fees --json.
func feeFindings(t *testing.T, out string) []insurance.Finding {
	t.Helper()
	var fs []insurance.Finding
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var f insurance.Finding
		if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
			t.Fatalf("reconcile --json line %q: %v", sc.Text(), err)
		}
		fs = append(fs, f)
	}
	return fs
}

// writeFile writes content to name in dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestReconcileFeesAndExportInsurance: a nurse scans a case barcode and
// five items at a real agent on real ptys, cancelling one; the fee detail
// the hospital uploads for that visit is reconciled with the uses: a
// line billing an old code (the release's old→new table replaces it) of
// the hip stem matches its use on 20 characters, a knee billed was never
// scanned, the stent is billed under its hospital code with a 27-character
// code that is not the item's, the screw under a code the release
// withdrew, and the cup used is billed by no line; the cancelled stent
// counts nowhere. The 3505 sales carry the codes scanned. A fee file with
// a bad line is refused, naming the line and the field. All of it on the
// running agent and on its stopped file alike.
func TestReconcileFeesAndExportInsurance(t *testing.T) {
	start := time.Now().Add(-time.Minute)
	cfg := edge.Config{Patterns: edge.PatternsConfig{Case: `^CASE-(\w+)$`, Commands: map[string]string{"CMD-CANCEL": "cancel-last"}}}
	p := newAgentProc(t, cfg, procScanner{"desk", "warehouse", "receive"}, procScanner{"or3", "OR-3", "use"})
	if c, _, errOut := p.run("import", "catalogue", "../../agent/master/testdata/catalogue.csv"); c != ExitOK {
		t.Fatalf("import catalogue: %s", errOut)
	}
	hip := label("06901234100013", "281231", "L1", "H1")
	cup := label("06901234100020", "281231", "L2", "K1")
	stent := label("06901234200010", "281231", "B1", "S1")
	stent2 := label("06901234200010", "281231", "B1", "S2")
	screw := label("06901234100044", "281231", "W1", "W1")
	for _, code := range []string{hip, cup, stent, stent2, screw} {
		if b := p.scan("desk", code); b != ansAccepted {
			t.Fatalf("receive %q: answer %#x", code, b)
		}
	}
	for _, code := range []string{"]C0CASE-MDT0001", hip, cup, stent, stent2, "]C0CMD-CANCEL", screw} {
		if b := p.scan("or3", code); b != ansAccepted {
			t.Fatalf("OR scans %q: answer %#x", code, b)
		}
	}
	const (
		hipOld   = "C03019900100001000010000012" // replaced by the hip stem's 27-character code
		hipNew   = "C03010100100001000010000012"
		knee     = "C0301020010000300001"
		stentBad = "C02010100100009999990000001" // 27 characters, not the stent's
		screwOld = "C03010300100006000010000001" // withdrawn
	)
	dir := t.TempDir()
	fees := writeFile(t, dir, "fees.csv", feeHeader+
		"F1,MDT0001,P004217,2026-03-12 10:00:00,"+hipOld+",HC310401,6850.00,1,6850.00\n"+
		"F2,MDT0001,P004217,2026-03-12 10:01:00,"+knee+",HC310403,7980.00,1,7980.00\n"+
		"F3,MDT0001,P004217,2026-03-12 10:02:00,"+stentBad+",HC220101,798.00,1,798.00\n"+
		"F4,MDT0001,P004217,2026-03-12 10:03:00,"+screwOld+",HC310601,236.00,1,236.00\n")
	withdrawn := writeFile(t, dir, "withdrawn.csv", "27位码,原码状态\n"+screwOld+",停用\n")
	transcode := writeFile(t, dir, "transcode.csv", "原27位码,27位码,类型\n"+hipOld+","+hipNew+",变更\n")
	badFees := writeFile(t, dir, "fees-bad.csv", feeHeader+
		"F1,MDT0001,P004217,2026-03-12 10:00:00,"+hipOld+",HC310401,6850.00,1,6850.00\n"+
		"F2,MDT0001,P004217,2026-03-12 10:01:00,"+knee+",HC310403,7980.00,one,7980.00\n")
	want := []string{
		"outdated-code F1  " + hipOld,
		"billed-not-scanned F2  " + knee,
		"code-mismatch F3 (01)06901234200010(21)S1 " + stentBad,
		"withdrawn-code F4  " + screwOld,
		"scanned-not-billed  (01)06901234100020(21)K1 C0301010020000200001",
	}
	scanned := func(code string) string { return strings.TrimPrefix(code, "]d2") }
	check := func(where string) {
		t.Helper()
		c, out, errOut := p.run("reconcile", "--fees", fees, "--withdrawn", withdrawn, "--transcode", transcode, "--json")
		var got []string
		for _, f := range feeFindings(t, out) {
			if f.Case != "MDT0001" {
				t.Errorf("%s finding in case %q", where, f.Case)
			}
			got = append(got, f.Kind+" "+f.Line+" "+f.Item+" "+f.Code)
		}
		if c != ExitFailure || !slices.Equal(got, want) || !strings.Contains(errOut, "5 finding(s)") {
			t.Fatalf("%s reconcile --fees: exit %d\n%q\nwant\n%q\n%s", where, c, got, want, errOut)
		}
		if strings.Contains(out, "P004217") {
			t.Errorf("%s findings name the insured person", where)
		}
		c, out, errOut = p.run("reconcile", "--fees", badFees)
		if c != ExitFailure || !strings.Contains(errOut, "fees-bad.csv: line 3: field cnt") || !strings.Contains(errOut, "nothing reconciled") || out != "" {
			t.Fatalf("%s a bad fee file: exit %d\n%s%s", where, c, out, errOut)
		}
		c, doc, errOut := p.run("export", "insurance", "--from", start.Format(time.RFC3339))
		var e struct {
			Purchases []json.RawMessage `json:"3503"`
			Sales     []struct {
				Sel struct {
					VisitNo string                `json:"mdtrt_sn"`
					Traces  []insurance.TraceInfo `json:"drugtracinfo"`
				} `json:"selinfo"`
			} `json:"3505"`
		}
		if c != ExitOK || json.Unmarshal([]byte(doc), &e) != nil || !strings.Contains(errOut, "exported 8 record(s)") {
			t.Fatalf("%s export insurance: exit %d %s\n%s", where, c, errOut, doc)
		}
		var traces []string
		for _, s := range e.Sales {
			if s.Sel.VisitNo != "MDT0001" {
				t.Errorf("%s a sale in visit %q", where, s.Sel.VisitNo)
			}
			for _, tr := range s.Sel.Traces {
				traces = append(traces, tr.Code)
			}
		}
		if len(e.Purchases) != 4 || !slices.Equal(traces, []string{scanned(hip), scanned(cup), scanned(stent), scanned(screw)}) {
			t.Fatalf("%s %d purchases, sales' trace codes %q:\n%s", where, len(e.Purchases), traces, doc)
		}
		c, doc, _ = p.run("export", "insurance", "--case", "MDT0001")
		var ct struct {
			Codes []string `json:"codes"`
			Uses  int      `json:"uses"`
		}
		if c != ExitOK || json.Unmarshal([]byte(doc), &ct) != nil || ct.Uses != 4 || !slices.Equal(ct.Codes, traces) {
			t.Fatalf("%s export insurance --case: exit %d\n%s", where, c, doc)
		}
	}
	check("running agent:")
	p.stop()
	check("stopped agent's file:")
}

const feeHeader = "feedetl_sn,mdtrt_id,psn_no,fee_ocur_time,med_list_codg,medins_list_codg,det_item_fee_sumamt,cnt,pric\n"

// TestInsuranceUsage: the flags of the fee reconciliation and of the
// insurance export go only where they mean something.
func TestInsuranceUsage(t *testing.T) {
	store := filepath.Join(t.TempDir(), "ledger.db")
	for _, args := range [][]string{
		{"reconcile", "--store", store, "--withdrawn", "w.csv"},
		{"reconcile", "--store", store, "--fees", "fees.xlsx"},
		{"export", "insurance", "--store", store, "--include-patient"},
		{"export", "epcis", "--store", store, "--case", "V1"},
		{"export", "insurance", "--store", store, "--from", "12/03/2026"},
		{"export", "insurance", "--store", store, "--from", "2026-03-12", "--to", "2026-03-11"},
		{"export", "insurance", "--store", store, "--case", "V1", "--from", "2026-03-12"},
	} {
		if code, _, errOut := runMain(t, "", args...); code != ExitUsage {
			t.Errorf("%q: exit %d %s, want a usage error", args, code, errOut)
		}
	}
}
