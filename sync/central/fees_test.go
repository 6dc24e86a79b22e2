package central_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/api"
	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/agent/insurance"
	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/central/internal/testkit"
)

// TestSiteReconcileFeesAcrossGateways: the fee detail of visit V1 is
// reconciled with its uses on two OR gateways: the hip stem used in OR 3
// is billed under its 27-character code, the cup used in OR 5 is billed
// twice, the knee billed was used nowhere and the stent used in OR 5 is
// billed by no line; visit V2 bills a code the release withdrew. Neither
// gateway alone could tell. The same through the service's API and
// through the command on the stopped service's store; a form without the
// catalogue is refused.
func TestSiteReconcileFeesAcrossGateways(t *testing.T) {
	f := newFixture(t)
	at := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	const hip, cup, stent = "(01)06901234100013(21)H1", "(01)06901234100020(21)K1", "(01)06901234200010(21)S1"
	mv := func(k agent.Kind, item, loc, cs string, min int) agent.Movement {
		return agent.Movement{Time: at.Add(time.Duration(min) * time.Minute), Kind: k, Item: item, Location: loc,
			Case: cs, Patient: secret, Decision: "accepted"}
	}
	store := testkit.NewLedger(site, "store", 1)
	store.Add(t, mv(agent.KindReceive, hip, "store", "", 0))
	store.Add(t, mv(agent.KindReceive, cup, "store", "", 1))
	or3 := testkit.NewLedger(site, "or-3", 2)
	or3.Add(t, mv(agent.KindUse, hip, "OR-3", "V1", 60))
	or5 := testkit.NewLedger(site, "or-5", 3)
	or5.Add(t, mv(agent.KindUse, cup, "OR-5", "V1", 70))
	or5.Add(t, mv(agent.KindUse, stent, "OR-5", "V1", 71))
	for _, l := range []*testkit.Ledger{store, or3, or5} {
		storeLedger(t, f.store, l)
	}
	const screwGone = "C03010300100006000010000001"
	fees := "feedetl_sn,mdtrt_id,psn_no,fee_ocur_time,med_list_codg,medins_list_codg,det_item_fee_sumamt,cnt,pric\n" +
		"F1,V1," + secret + ",2026-12-06 10:00:00,C03010100100001000010000012,HC310401,6850.00,1,6850.00\n" +
		"F2,V1," + secret + ",2026-12-06 10:01:00,C0301010020000200001,HC310402,10641.00,2,5320.50\n" +
		"F3,V1," + secret + ",2026-12-06 10:02:00,C0301020010000300001,HC310403,7980.00,1,7980.00\n" +
		"F4,V2," + secret + ",2026-12-06 11:00:00," + screwGone + ",HC310601,236.00,1,236.00\n"
	withdrawn := "27位码\n" + screwGone + "\n"
	catalogue, err := os.ReadFile("../../agent/master/testdata/catalogue.csv")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"V1 quantity-mismatch F2 ",
		"V1 billed-not-scanned F3 ",
		"V1 scanned-not-billed  " + stent,
		"V2 withdrawn-code F4 ",
		"V2 billed-not-scanned F4 ",
	}
	check := func(how string, fs []insurance.Finding) {
		t.Helper()
		var got []string
		for _, x := range fs {
			got = append(got, x.Case+" "+x.Kind+" "+x.Line+" "+x.Item)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%s: findings\n%q\nwant\n%q", how, got, want)
		}
	}
	data, err := central.ReadMaster(map[string][]byte{"catalogue": catalogue}, map[string]string{"catalogue": "csv"})
	if err != nil {
		t.Fatal(err)
	}
	lines, mapCode, err := core.ReadFeeFiles(context.Background(), strings.NewReader(fees), "fees.csv", "",
		core.FeeOptions{Tables: []core.ReleaseTable{{Kind: core.TableWithdrawn, Name: "w.csv", File: strings.NewReader(withdrawn)}}})
	if err != nil {
		t.Fatal(err)
	}
	fs, err := central.SiteReconcileFees(context.Background(), f.store, site, data, lines, mapCode)
	if err != nil {
		t.Fatal(err)
	}
	check("SiteReconcileFees", fs)
	if _, err := central.SiteReconcileFees(context.Background(), f.store, site, nil, lines, mapCode); !errors.Is(err, central.ErrInvalid) {
		t.Errorf("without a catalogue: %v", err)
	}

	// Through the API.
	srv := httptest.NewServer(f.svc.Handler())
	defer srv.Close()
	post := func(parts ...api.Part) (int, []byte) {
		t.Helper()
		body, ctype := api.FormBody(parts)
		defer body.Close()
		resp, err := http.Post(srv.URL+"/v1/reconcile/fees?site="+site, ctype, body)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	code, body := post(api.Part{Field: central.FieldCatalogue, File: "catalogue.csv", Body: strings.NewReader(string(catalogue))},
		api.Part{Field: core.TableWithdrawn, File: "w.csv", Body: strings.NewReader(withdrawn)},
		api.Part{Field: api.FieldFees, File: "fees.csv", Body: strings.NewReader(fees)})
	var r central.FeeFindingsResponse
	if code != http.StatusOK || json.Unmarshal(body, &r) != nil || r.Site != site {
		t.Fatalf("POST /v1/reconcile/fees: %d %s", code, body)
	}
	check("the API", r.Findings)
	if strings.Contains(string(body), secret) {
		t.Error("the reconciliation's answer holds a patient identifier")
	}
	if code, body := post(api.Part{Field: api.FieldFees, File: "fees.csv", Body: strings.NewReader(fees)}); code != http.StatusBadRequest ||
		!strings.Contains(string(body), "no catalogue") {
		t.Errorf("a form without the catalogue: %d %s", code, body)
	}
	bad := strings.Replace(fees, "10641.00,2,", "10641.00,two,", 1)
	if code, body := post(api.Part{Field: central.FieldCatalogue, File: "catalogue.csv", Body: strings.NewReader(string(catalogue))},
		api.Part{Field: api.FieldFees, File: "fees.csv", Body: strings.NewReader(bad)}); code != http.StatusBadRequest ||
		!strings.Contains(string(body), `"rows":["fees.csv: line 3: field cnt`) || strings.Contains(string(body), secret) {
		t.Errorf("a fee file with a bad line: %d %s", code, body)
	}

	// Through the command, on the stopped service's store.
	f.stop()
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	code2, out, errs := runBin(t, "reconcile", "--store", f.path, "--site", site, "--fees", write("fees.csv", fees),
		"--withdrawn", write("w.csv", withdrawn), "--master", "catalogue="+write("catalogue.csv", string(catalogue)), "--json")
	var got []insurance.Finding
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var x insurance.Finding
		if err := json.Unmarshal([]byte(line), &x); err != nil {
			t.Fatalf("udi-central reconcile --fees: %q: %v\n%s", line, err, errs)
		}
		got = append(got, x)
	}
	if code2 != 1 || !strings.Contains(errs, "5 finding(s)") {
		t.Fatalf("udi-central reconcile --fees: exit %d\n%s%s", code2, out, errs)
	}
	check("udi-central reconcile --fees", got)
	if code2, _, errs := runBin(t, "reconcile", "--store", f.path, "--site", site, "--fees", write("fees.csv", fees)); code2 != 2 ||
		!strings.Contains(errs, "--master catalogue=FILE") {
		t.Errorf("without the catalogue: exit %d %s", code2, errs)
	}
	f.start()
}
