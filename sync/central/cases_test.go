package central_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/audit"
	"github.com/udi-edge/udi-edge/agent/testkit"
	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/central/boltstore"
	ctk "github.com/udi-edge/udi-edge/sync/central/internal/testkit"
)

// TestSiteCaseCostAndImplants: one case's uses on two gateways, priced
// and recorded as one case; the same through the command on the stopped
// store.
func TestSiteCaseCostAndImplants(t *testing.T) {
	path := filepath.Join(t.TempDir(), "central.db")
	st, err := boltstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	const stem, gauze = "(01)06901234100013(21)S1", "(01)06901234100020(10)G1"
	mv := func(item, loc string, min int) agent.Movement {
		return agent.Movement{Time: at.Add(time.Duration(min) * time.Minute), Kind: agent.KindUse, Item: item, Location: loc,
			Case: "K1", Patient: "P-9", Decision: "accepted"}
	}
	or3 := ctk.NewLedger("st-marys", "or-3", 1)
	or3.Add(t, mv(stem, "OR-3", 10))
	or5 := ctk.NewLedger("st-marys", "or-5", 2)
	or5.Add(t, mv(gauze, "OR-5", 20))
	for _, l := range []*ctk.Ledger{or3, or5} {
		storeLedger(t, st, l)
	}
	cat := "gtin,name,unit_price,implant,registration\n06901234100013,hip stem,7000.00,true,国械注准1\n06901234100020,gauze,2.50,,\n"
	sched := "case,patient,room,start,end,group,payment_standard,surgeon,record_no\nK1,P-9,OR-3,2026-12-06T07:00:00Z,2026-12-06T10:00:00Z,IC29,52000.00,王医生,BA-1\n"
	data, err := central.ReadMaster(map[string][]byte{"catalogue": []byte(cat), "schedules": []byte(sched)}, map[string]string{"catalogue": "csv", "schedules": "csv"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := central.SiteCaseCost(context.Background(), st, "st-marys", "K1", data)
	if err != nil || len(c.Lines) != 2 || c.Total != 700250 || c.Group != "IC29" || c.Lines[1].Gateway != "or-5" {
		t.Fatalf("cost %+v %v", c, err)
	}
	rs, err := central.SiteImplants(context.Background(), st, "st-marys", "", data)
	if err != nil || len(rs) != 1 || rs[0].Record != "BA-1" || rs[0].Surgeon != "王医生" || rs[0].Gateway != "or-3" {
		t.Fatalf("implants %+v %v", rs, err)
	}
	if _, err := central.SiteCaseCost(context.Background(), st, "st-marys", "K1", nil); !errors.Is(err, central.ErrInvalid) {
		t.Errorf("no catalogue: %v", err)
	}
	st.Close()

	catFile := testkit.WriteFile(t, "catalogue.csv", cat)
	schedFile := testkit.WriteFile(t, "schedules.csv", sched)
	code, out, errs := runBin(t, "cost", "--store", path, "--site", "st-marys", "--master", "catalogue="+catFile, "--master", "schedules="+schedFile, "--json", "K1")
	var got audit.CaseCost
	if code != 0 || json.Unmarshal([]byte(out), &got) != nil || got.Total != 700250 || got.Standard != 5200000 {
		t.Fatalf("udi-central cost: %d\n%s%s", code, out, errs)
	}
	code, out, errs = runBin(t, "implants", "--store", path, "--site", "st-marys", "--master", "catalogue="+catFile, "--master", "schedules="+schedFile, "--format", "json")
	var recs []audit.ImplantRecord
	if code != 0 || json.Unmarshal([]byte(out), &recs) != nil || len(recs) != 1 || recs[0].Patient != "P-9" {
		t.Fatalf("udi-central implants: %d\n%s%s", code, out, errs)
	}
}
