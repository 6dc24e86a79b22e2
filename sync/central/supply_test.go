package central_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/master"
	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/central/boltstore"
	"github.com/udi-edge/udi-edge/sync/central/internal/testkit"
	"github.com/udi-edge/udi-edge/sync/central/pgstore"
	"github.com/udi-edge/udi-edge/sync/internal/postgres"
	"github.com/udi-edge/udi-edge/sync/wire"
)

// Products of the supply tests (valid GTIN-14s).
const (
	gtinStent    = "06901234567014" // consigned by ACME, 750.00
	gtinScrew    = "06901234567021" // in BETA's loan sets, 1200.50
	gtinCatheter = "06901234567038" // consigned by ACME
	gtinGauze    = "06901234567045" // GAMMA's, not consigned
	gtinGauzeBox = "06901234567052" // a box of 5 gauze
	gtinUnknown  = "06901234567069" // not in the catalogue
)

// supplyCatalogue is the centre's catalogue of the supply tests.
func supplyCatalogue(t testing.TB) *master.Data {
	t.Helper()
	const file = "gtin,name,unit_price,supplier,consigned,package_of,package_quantity\n" +
		gtinStent + ",Stent,750.00,ACME,yes,,\n" +
		gtinScrew + ",Screw,1200.50,BETA,yes,,\n" +
		gtinCatheter + ",Catheter,80.00,ACME,yes,,\n" +
		gtinGauze + ",Gauze,1.00,GAMMA,no,,\n" +
		gtinGauzeBox + ",Gauze box,5.00,GAMMA,no," + gtinGauze + ",5\n"
	d, _, err := (&master.Data{}).Import(wire.SetCatalogue, strings.NewReader(file), master.ImportOptions{Format: master.FormatCSV})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// day0 is the day of the supply tests' movements (UTC).
var day0 = time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)

// supplyMovement returns a movement of kind of one item of gtin, at
// minute min of day0, at loc.
func supplyMovement(kind agent.Kind, gtin, serial, loc string, min int, flags ...string) agent.Movement {
	return agent.Movement{Time: day0.Add(8*time.Hour + time.Duration(min)*time.Minute), Kind: kind,
		Item: "(01)" + gtin + "(21)" + serial, GTIN: gtin, Serial: serial, Lot: "L-" + serial, Expiry: "2028-01-31",
		Location: loc, Station: "scanner-1", Case: "case-7", Patient: secret, Decision: agent.DecisionAccepted, Flags: flags}
}

// supplyRequest returns a replenishment request of gtin at loc.
func supplyRequest(gtin, loc string, min int, r agent.Request, flags ...string) agent.Movement {
	return agent.Movement{Time: day0.Add(8*time.Hour + time.Duration(min)*time.Minute), Kind: agent.KindContext,
		Item: gtin, Location: loc, Reason: agent.RequestReason(r), Flags: append([]string{agent.FlagReplenish}, flags...)}
}

// supplyLedger is the gateway or-3's ledger of the supply tests, with
// what each movement should give.
func supplyLedger(t testing.TB) *testkit.Ledger {
	l := testkit.NewLedger(site, "or-3", created)
	acme, beta := agent.ConsignedFlag("ACME"), agent.ConsignedFlag("BETA")
	// Before the requests: a catheter received (does not fill a later request).
	l.Add(t, supplyMovement(agent.KindReceive, gtinCatheter, "C0", "OR-3", 0, acme))
	l.Add(t, supplyMovement(agent.KindReceive, gtinStent, "S1", "OR-3", 1, acme))
	l.Add(t, supplyMovement(agent.KindUse, gtinStent, "S1", "OR-3", 10, acme)) // 3: ACME's consumption
	l.Add(t, supplyMovement(agent.KindUse, gtinStent, "S2", "OR-3", 11, acme)) // 4: cancelled by 5
	cancel := supplyMovement(agent.KindAdjust, gtinStent, "S2", "OR-3", 11, acme)
	cancel.Reason = agent.CancelReason(agent.KindUse, 4)
	l.Add(t, cancel)
	l.Add(t, supplyMovement(agent.KindUse, gtinGauze, "G1", "OR-3", 12))                       // 6: the hospital's own
	l.Add(t, supplyMovement(agent.KindUse, gtinScrew, "B1", "OR-3", 13, beta, agent.FlagLoan)) // 7: BETA's loan
	blocked := supplyMovement(agent.KindUse, gtinStent, "S3", "OR-3", 14, acme)                // 8: blocked
	blocked.Decision = agent.DecisionBlocked
	l.Add(t, blocked)
	l.Add(t, supplyRequest(gtinCatheter, "OR-3", 20, agent.Request{Quantity: 2, Urgency: agent.UrgencyRefill, OnHand: 0, ReorderPoint: 1, Max: 2}, acme))
	l.Add(t, supplyRequest(gtinGauze, "OR-3", 21, agent.Request{Quantity: 5, Urgency: agent.UrgencyRoutine, OnHand: 2, ReorderPoint: 3, Max: 7}))
	l.Add(t, supplyRequest(gtinUnknown, "OR-3", 22, agent.Request{Quantity: 1, Urgency: agent.UrgencyUrgent, Max: 1}))
	l.Add(t, supplyMovement(agent.KindReceive, gtinCatheter, "C1", "OR-3", 30, acme))   // 12: 1 of 2 catheters
	l.Add(t, supplyMovement(agent.KindReceive, gtinCatheter, "C2", "WARD-2", 31, acme)) // 13: elsewhere
	l.Add(t, supplyMovement(agent.KindReceive, gtinGauzeBox, "GB1", "OR-3", 32))        // 14: 5 gauze
	// 15: the gateway's stock saw the gauze request (10) met, and says so.
	l.Add(t, agent.Movement{Time: day0.Add(8*time.Hour + 33*time.Minute), Kind: agent.KindContext, Item: gtinGauze, Location: "OR-3",
		Flags: []string{agent.FlagMet}, Reason: agent.MetReason(10, 5)})
	// The next day: outside a window of day0.
	next := supplyMovement(agent.KindUse, gtinStent, "S4", "OR-3", 24*60, acme)
	l.Add(t, next)
	return l
}

// feed stores the ledgers in st through a real Service, as a gateway's
// batches, and waits until every movement is held.
func feed(t testing.TB, st central.Store, ls ...*testkit.Ledger) {
	t.Helper()
	conn := testkit.NewConn()
	svc, err := central.NewService(central.Config{Sites: []string{site}, Store: st, Conn: conn})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	for _, l := range ls {
		conn.Deliver(t, wire.MovementsFilter(site), wire.MovementsTopic(site, l.Gateway), l.Payload(t, 1, uint64(len(l.Records))))
	}
	testkit.WaitFor(t, 10*time.Second, "movements stored", func() bool {
		for _, l := range ls {
			h, err := st.Head(context.Background(), l.Gateway, l.Created)
			if err != nil || h.Seq != uint64(len(l.Records)) {
				return false
			}
		}
		return true
	})
}

// supplyStores opens each kind of store for the supply tests.
var supplyStores = []struct {
	name string
	open func(t *testing.T) central.Store
}{
	{"bbolt", func(t *testing.T) central.Store {
		st, err := boltstore.Open(filepath.Join(t.TempDir(), "central.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}},
	{"postgres", func(t *testing.T) central.Store {
		url := postgres.Start(t).NewDatabase(t)
		st, err := pgstore.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}},
}

// TestSupplyRecords: a centre fed a gateway's movements answers each
// supplier's consumption (consigned and loan-set uses, priced from the
// catalogue, never the patient; cancelled, blocked, hospital-owned and
// out-of-window uses left out) and the replenishment requests (the
// supplier from the flag or the catalogue, else unassigned; open until
// the gateway records them met), in pages, on both stores.
func TestSupplyRecords(t *testing.T) {
	for _, sk := range supplyStores {
		t.Run(sk.name, func(t *testing.T) {
			st := sk.open(t)
			l := supplyLedger(t)
			feed(t, st, l)
			data := supplyCatalogue(t)
			ctx := context.Background()
			day := central.SupplyQuery{Since: day0, Until: day0.AddDate(0, 0, 1)}

			cs, more, err := central.Consumption(ctx, st, data, day)
			if err != nil || more {
				t.Fatalf("consumption: %v (more %v)", err, more)
			}
			got := []string{}
			for _, c := range cs {
				got = append(got, c.Supplier+" "+c.Item+" "+c.Price)
			}
			want := []string{"ACME (01)" + gtinStent + "(21)S1 750.00", "BETA (01)" + gtinScrew + "(21)B1 1200.50"}
			if strings.Join(got, "|") != strings.Join(want, "|") {
				t.Fatalf("consumption:\n got %q\nwant %q", got, want)
			}
			s1 := cs[0]
			if s1.Seq != 3 || s1.Gateway != "or-3" || s1.Site != site || s1.Ledger != created || s1.Case != "case-7" ||
				s1.Lot != "L-S1" || s1.Serial != "S1" || s1.Expiry != "2028-01-31" || s1.Location != "OR-3" || s1.Loan ||
				s1.Product != gtinStent || s1.Name != "Stent" || s1.Version != central.SupplySchema || s1.Type != central.TypeConsumption {
				t.Errorf("stent's record: %+v", s1)
			}
			if !cs[1].Loan {
				t.Errorf("the screw's record is not a loan: %+v", cs[1])
			}
			b, _ := json.Marshal(cs)
			if strings.Contains(string(b), secret) {
				t.Errorf("a consumption record holds the patient: %s", b)
			}

			beta := day
			beta.Supplier = "BETA"
			if cs, _, _ := central.Consumption(ctx, st, data, beta); len(cs) != 1 || cs[0].Supplier != "BETA" {
				t.Errorf("BETA's consumption: %+v", cs)
			}
			// Pages.
			first := day
			first.Limit = 1
			p1, more, err := central.Consumption(ctx, st, data, first)
			if err != nil || len(p1) != 1 || !more || p1[0].Seq != 3 {
				t.Errorf("first page: %+v more %v err %v", p1, more, err)
			}
			first.Offset = 1
			p2, more, err := central.Consumption(ctx, st, data, first)
			if err != nil || len(p2) != 1 || more || p2[0].Seq != 7 {
				t.Errorf("second page: %+v more %v err %v", p2, more, err)
			}
			// Without the catalogue: no price, the supplier from the flag.
			if cs, _, _ := central.Consumption(ctx, st, nil, day); len(cs) != 2 || cs[0].Price != "" || cs[0].Supplier != "ACME" {
				t.Errorf("consumption without a catalogue: %+v", cs)
			}
			// The next day holds the fourth stent.
			next := central.SupplyQuery{Since: day0.AddDate(0, 0, 1), Until: day0.AddDate(0, 0, 2)}
			if cs, _, _ := central.Consumption(ctx, st, data, next); len(cs) != 1 || cs[0].Serial != "S4" {
				t.Errorf("the next day's consumption: %+v", cs)
			}

			rs, more, err := central.Requests(ctx, st, data, day)
			if err != nil || more {
				t.Fatalf("requests: %v (more %v)", err, more)
			}
			got = got[:0]
			for _, r := range rs {
				got = append(got, strings.Join([]string{r.Supplier, r.Product, r.Urgency, itoa(r.Quantity), itoa(r.Received), boolStr(r.Open)}, " "))
			}
			want = []string{
				"ACME " + gtinCatheter + " refill 2 0 open",
				"GAMMA " + gtinGauze + " routine 5 5 filled",
				" " + gtinUnknown + " urgent 1 0 open",
			}
			if strings.Join(got, "|") != strings.Join(want, "|") {
				t.Fatalf("requests:\n got %q\nwant %q", got, want)
			}
			unassigned := day
			unassigned.Supplier = central.Unassigned
			if rs, _, _ := central.Requests(ctx, st, data, unassigned); len(rs) != 1 || rs[0].Product != gtinUnknown {
				t.Errorf("unassigned requests: %+v", rs)
			}
		})
	}
}

// TestSupplyQueryRefused: a window backwards, too long, or a page out of
// range is refused, naming what is wrong.
func TestSupplyQueryRefused(t *testing.T) {
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "central.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, c := range []struct {
		q    central.SupplyQuery
		want string
	}{
		{central.SupplyQuery{Since: day0, Until: day0}, "is not after since"},
		{central.SupplyQuery{Since: day0, Until: day0.AddDate(2, 0, 0)}, "at most 400"},
		{central.SupplyQuery{Since: day0, Until: day0.AddDate(0, 0, 1), Limit: central.MaxSupplyLimit + 1}, "limit"},
		{central.SupplyQuery{Since: day0, Until: day0.AddDate(0, 0, 1), Offset: -1}, "offset"},
		{central.SupplyQuery{}, "needs since and until"},
	} {
		_, _, err := central.Consumption(context.Background(), st, nil, c.q)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want an error saying %q", c.q, err, c.want)
		}
	}
	for _, c := range []struct{ since, until, want string }{
		{"2026-13-01", "", "since \"2026-13-01\" is not a day"},
		{"", "yesterday", "until \"yesterday\" is not a day"},
		{"2026-11-26", "2026-11-25", "since 2026-11-26 is after until 2026-11-25"},
	} {
		_, _, err := central.SupplyWindow(c.since, c.until, time.UTC, day0)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("window %q..%q: %v, want %q", c.since, c.until, err, c.want)
		}
	}
	since, until, err := central.SupplyWindow("", "2026-11-25", time.UTC, day0)
	if err != nil || !since.Equal(day0.AddDate(0, 0, 1-central.DefaultSupplyDays)) || !until.Equal(day0.AddDate(0, 0, 1)) {
		t.Errorf("default window: %v..%v %v", since, until, err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func boolStr(open bool) string {
	if open {
		return "open"
	}
	return "filled"
}

// TestSupplyAPI: GET /v1/supply/consumption and /v1/supply/requests
// answer pages of the records (priced from the service's catalogue, the
// next page's offset), and refuse a bad day or page naming the
// parameter.
func TestSupplyAPI(t *testing.T) {
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "central.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	feed(t, st, supplyLedger(t))
	svc, err := central.NewService(central.Config{Sites: []string{site}, Store: st, Conn: testkit.NewConn(),
		Catalogue: supplyCatalogue(t), Now: func() time.Time { return day0.AddDate(0, 0, 2) }})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	h := svc.Handler()
	get := func(path string) (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec.Code, rec.Body.String()
	}
	// The service reads days in local time: the day of the movements
	// (08:00 to 08:32 UTC) there.
	d := day0.Add(8 * time.Hour).In(time.Local).Format(central.DayLayout)
	code, body := get("/v1/supply/consumption?" + central.SupplyParams("", d, d, 0, 1).Encode())
	var p central.ConsumptionPage
	if code != http.StatusOK || json.Unmarshal([]byte(body), &p) != nil {
		t.Fatalf("%d %s", code, body)
	}
	if len(p.Records) != 1 || p.Records[0].Price != "750.00" || !p.More || p.NextOffset != 1 || p.Since != d || p.Until != d {
		t.Errorf("first page: %s", body)
	}
	code, body = get("/v1/supply/consumption?" + central.SupplyParams("", d, d, 1, 1).Encode())
	if code != http.StatusOK || json.Unmarshal([]byte(body), &p) != nil || len(p.Records) != 1 || p.More || p.Records[0].Supplier != "BETA" {
		t.Errorf("second page: %d %s", code, body)
	}
	var rp central.RequestPage
	code, body = get("/v1/supply/requests?" + central.SupplyParams("ACME", d, d, 0, 0).Encode())
	if code != http.StatusOK || json.Unmarshal([]byte(body), &rp) != nil || len(rp.Records) != 1 || rp.Records[0].Received != 0 || !rp.Records[0].Open {
		t.Errorf("ACME's requests: %d %s", code, body)
	}
	for _, c := range []struct{ query, want string }{
		{"since=2026-02-30", `since \"2026-02-30\" is not a day`},
		{"until=tomorrow", `until \"tomorrow\" is not a day`},
		{"since=2026-11-26&until=2026-11-25", "since 2026-11-26 is after until 2026-11-25"},
		{"limit=many", "parameter limit"},
		{"limit=100000", "limit 100000"},
		{"offset=-3", "offset -3"},
	} {
		for _, path := range []string{"/v1/supply/consumption?", "/v1/supply/requests?"} {
			if code, body := get(path + c.query); code != http.StatusBadRequest || !strings.Contains(body, c.want) {
				t.Errorf("%s%s: %d %s, want 400 saying %s", path, c.query, code, body, c.want)
			}
		}
	}
}
