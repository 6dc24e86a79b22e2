package central_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/audit"
	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/central/boltstore"
	"github.com/udi-edge/udi-edge/sync/central/internal/testkit"
)

// storeLedger appends every movement of l to st, as the service does.
func storeLedger(t *testing.T, st central.Store, l *testkit.Ledger) {
	t.Helper()
	var recs []central.Stored
	for i, rec := range l.Records {
		m := l.Movements[i]
		recs = append(recs, central.NewStored(m.Seq, [central.HashSize]byte(m.PrevHash), [central.HashSize]byte(m.Hash), &m, rec))
	}
	if _, _, err := st.Append(context.Background(), l.Site, l.Gateway, l.Created, recs); err != nil {
		t.Fatal(err)
	}
}

// TestSiteAnomaliesAcrossGateways: an implant received at the warehouse's
// gateway and used in OR 3 is no "never received" at the centre (each
// gateway alone would say so), and the same unique code used again in OR
// 5 is used twice, which neither gateway sees alone. Another site's
// ledgers play no part.
func TestSiteAnomaliesAcrossGateways(t *testing.T) {
	path := filepath.Join(t.TempDir(), "central.db")
	st, err := boltstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	at := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	const x, y = "(01)09506000134352(21)X1", "(01)09506000134352(21)Y1"
	mv := func(k agent.Kind, item, loc string, min int) agent.Movement {
		return agent.Movement{Time: at.Add(time.Duration(min) * time.Minute), Kind: k, Item: item, Location: loc, Decision: "accepted"}
	}
	wh := testkit.NewLedger("st-marys", "wh", 1)
	wh.Add(t, mv(agent.KindReceive, x, "warehouse", 0))
	wh.Add(t, mv(agent.KindReceive, y, "warehouse", 1))
	or3 := testkit.NewLedger("st-marys", "or-3", 2)
	or3.Add(t, mv(agent.KindUse, x, "OR-3", 60))
	or5 := testkit.NewLedger("st-marys", "or-5", 3)
	or5.Add(t, mv(agent.KindUse, y, "OR-5", 70))
	or5.Add(t, mv(agent.KindUse, x, "OR-5", 90))
	other := testkit.NewLedger("st-johns", "or-1", 4)
	other.Add(t, mv(agent.KindUse, x, "OR-1", 30))
	for _, l := range []*testkit.Ledger{wh, or3, or5, other} {
		storeLedger(t, st, l)
	}
	fs, err := central.SiteAnomalies(context.Background(), st, "st-marys", nil, at.Add(24*time.Hour), 4*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, f := range fs {
		kinds = append(kinds, f.Kind+" "+f.Gateway)
		if f.Kind == audit.UsedTwice && (f.Item != x || f.Gateway != "or-5" || f.Seq != 2) {
			t.Errorf("used twice: %+v", f)
		}
	}
	if !slices.Equal(kinds, []string{audit.UsedTwice + " or-5"}) {
		t.Fatalf("findings %v, want the second use of X at OR 5 only (no never-received)", fs)
	}
	// The other site alone: its use was never received there.
	fs, err = central.SiteAnomalies(context.Background(), st, "st-johns", nil, at.Add(24*time.Hour), 0)
	if err != nil || len(fs) != 1 || fs[0].Kind != audit.NeverReceived || fs[0].Gateway != "or-1" {
		t.Fatalf("st-johns: %+v %v", fs, err)
	}
	// The same through the command, on the stopped service's store.
	st.Close()
	code, out, errs := runBin(t, "anomalies", "--store", path, "--site", "st-marys")
	if code != 1 || !regexp.MustCompile(`used-twice\s+or-5/2\s+\(01\)09506000134352\(21\)X1`).MatchString(out) || strings.Contains(out, "never-received") {
		t.Fatalf("udi-central anomalies: exit %d\n%s%s", code, out, errs)
	}
}

// TestSiteReconcileAcrossGateways: the uses of every gateway of a site are
// reconciled with its settlement records: X, issued at the store's
// gateway and used in OR 3, is billed; Y, used in OR 5, is not; Z is
// billed and was never used anywhere. The same through the service's
// API and through the command on the stopped service's store; a
// settlements file with a bad row is refused naming the row.
func TestSiteReconcileAcrossGateways(t *testing.T) {
	f := newFixture(t)
	at := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	const x, y, z = "(01)09506000134352(21)X1", "(01)09506000134352(21)Y1", "(01)09506000134352(21)Z1"
	mv := func(k agent.Kind, item, loc, cs string, min int) agent.Movement {
		return agent.Movement{Time: at.Add(time.Duration(min) * time.Minute), Kind: k, Item: item, Location: loc,
			Case: cs, Patient: secret, Decision: "accepted"}
	}
	store := testkit.NewLedger(site, "store", 1)
	store.Add(t, mv(agent.KindReceive, x, "store", "", 0))
	store.Add(t, mv(agent.KindReceive, y, "store", "", 1))
	store.Add(t, mv(agent.KindIssue, x, "OR-3", "", 30))
	or3 := testkit.NewLedger(site, "or-3", 2)
	or3.Add(t, mv(agent.KindUse, x, "OR-3", "K1", 60))
	or5 := testkit.NewLedger(site, "or-5", 3)
	or5.Add(t, mv(agent.KindUse, y, "OR-5", "K2", 70))
	for _, l := range []*testkit.Ledger{store, or3, or5} {
		storeLedger(t, f.store, l)
	}
	settlements := "id,patient,case,item,quantity,amount\n" +
		"JS1," + secret + ",K1," + x + ",1,6850.00\n" +
		"JS2," + secret + ",K2," + z + ",1,5320.50\n"
	want := func(t *testing.T, fs []audit.Finding) {
		t.Helper()
		var got []string
		for _, f := range fs {
			got = append(got, f.Kind+" "+f.Item+" "+f.Gateway+" "+f.Settlement)
		}
		slices.Sort(got)
		wantGot := []string{audit.BilledNeverScanned + " " + z + "  JS2", audit.UsedNotBilled + " " + y + " or-5 "}
		if !slices.Equal(got, wantGot) {
			t.Fatalf("findings\n%q\nwant\n%q", got, wantGot)
		}
	}
	data, err := central.ReadMaster(map[string][]byte{"settlements": []byte(settlements)}, map[string]string{"settlements": "csv"})
	if err != nil {
		t.Fatal(err)
	}
	fs, err := central.SiteReconcile(context.Background(), f.store, site, data, at.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want(t, fs)
	if _, err := central.SiteReconcile(context.Background(), f.store, site, nil, at); !errors.Is(err, central.ErrInvalid) {
		t.Errorf("reconcile without settlements: %v", err)
	}

	// Through the API.
	srv := httptest.NewServer(f.svc.Handler())
	defer srv.Close()
	post := func(q, body string) (int, []byte) {
		resp, err := http.Post(srv.URL+"/v1/reconcile?"+q, "text/csv", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	code, body := post("site="+site+"&format=csv", settlements)
	var r central.FindingsResponse
	if code != http.StatusOK || json.Unmarshal(body, &r) != nil || r.Site != site {
		t.Fatalf("POST /v1/reconcile: %d %s", code, body)
	}
	want(t, r.Findings)
	if bytes.Contains(body, []byte(secret)) {
		t.Error("the reconciliation's answer holds a patient identifier")
	}
	for _, c := range []struct{ q, body, want string }{
		{"site=elsewhere&format=csv", settlements, "not one of the sites served"},
		{"site=" + site + "&format=xml", settlements, "parameter format"},
		{"site=" + site + "&format=csv", "id,patient,case,item,quantity,amount\nJS1,P,K1," + x + ",one,1\n", "line 2"},
	} {
		if code, body := post(c.q, c.body); code != http.StatusBadRequest || !strings.Contains(string(body), c.want) {
			t.Errorf("POST /v1/reconcile?%s: %d %s; want 400 saying %q", c.q, code, body, c.want)
		}
	}
	resp, err := http.Get(srv.URL + "/v1/anomalies?site=" + site)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &r) != nil || len(r.Findings) != 0 {
		t.Fatalf("GET /v1/anomalies: %d %s; want no findings (every use was received on some gateway)", resp.StatusCode, body)
	}

	// Through the command, on the stopped service's store.
	f.stop()
	file := filepath.Join(t.TempDir(), "js.csv")
	if err := os.WriteFile(file, []byte(settlements), 0o600); err != nil {
		t.Fatal(err)
	}
	code2, out, errs := runBin(t, "reconcile", "--store", f.path, "--site", site, "--settlements", file)
	if code2 != 1 || !regexp.MustCompile(`used-not-billed\s+or-5/1\s+\(01\)09506000134352\(21\)Y1`).MatchString(out) ||
		!strings.Contains(out, "billed-never-scanned") || strings.Contains(out, "X1 ") {
		t.Fatalf("udi-central reconcile: exit %d\n%s%s", code2, out, errs)
	}
	f.start()
}
