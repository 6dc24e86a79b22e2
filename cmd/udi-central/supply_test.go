package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/bolt"
	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/wire"
)

const (
	stentGTIN = "06901234567014" // consigned by 华东医药
	screwGTIN = "06901234567021" // in the loan sets of "BETA Co., Ltd."
	gauzeGTIN = "06901234567045" // the hospital's own
)

// supplyDay is the day of the test's movements: noon UTC stays on it in
// any zone the test runs in.
var supplyDay = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// gatewayBatch records ms in a real gateway ledger (agent/bolt) of
// gateway or-3 and returns its records as the batch its uplink sends.
func gatewayBatch(t *testing.T, ms []agent.Movement) []byte {
	t.Helper()
	l, err := bolt.Open(bolt.Options{Path: filepath.Join(t.TempDir(), "ledger.db"), Gateway: "or-3"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, m := range ms {
		if _, err := l.Append(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	recs, err := l.ReadRecords(1, len(ms), 1<<20)
	if err != nil || len(recs) != len(ms) {
		t.Fatalf("%d records, %v", len(recs), err)
	}
	b, err := wire.AppendBatch(nil, &wire.Batch{Gateway: "or-3", Site: "st-marys", Created: l.Created().UnixNano(), First: 1, Records: recs})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func use(gtin, serial string, min int, flags ...string) agent.Movement {
	return agent.Movement{Time: supplyDay.Add(time.Duration(min) * time.Minute), Kind: agent.KindUse,
		Item: "(01)" + gtin + "(21)" + serial, GTIN: gtin, Serial: serial, Lot: "L" + serial, Expiry: "2028-01-31",
		Location: "OR-3", Station: "scanner-1", Case: "case-7", Patient: "PATIENT-SECRET-42", Decision: agent.DecisionAccepted, Flags: flags}
}

// TestSupplyExport runs the centre with the supply flags on a broker,
// feeds it a gateway ledger's batch over MQTT, and exports each
// supplier's records from the running service (HTTP) and from its
// stopped store: files per supplier (CSV parsed back, line by line;
// JSON), standard output, and bad input refused naming the flag.
func TestSupplyExport(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "central.db")
	catalogue := writeFile(t, dir, "catalogue.csv", "gtin,name,unit_price,supplier,consigned\n"+
		stentGTIN+",支架 Stent,750.00,华东医药,yes\n"+
		screwGTIN+",\"Screw, 4mm\",1200.50,\"BETA Co., Ltd.\",yes\n"+
		gauzeGTIN+",Gauze,1.00,,no\n", 0o600)
	broker := startBroker(t)
	port, _, stop := runService(t, func(log string) bool { return strings.Contains(log, "supply publisher started on a new cursor") },
		"--site", "st-marys", "--store", store, "--broker", "tcp://"+broker,
		"--http", "127.0.0.1:0", "--supply-catalogue", catalogue, "--supplier-id", "hdyy=华东医药")
	api := "http://127.0.0.1:" + port

	// A supplier listening on its topic (this broker has no ACL).
	sub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + broker).SetClientID("hdyy"))
	if tok := sub.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer sub.Disconnect(0)
	topics := make(chan string, 16)
	sub.Subscribe("udi/supply/#", 1, func(_ mqtt.Client, m mqtt.Message) { topics <- m.Topic() }).Wait()

	hd, beta := agent.ConsignedFlag("华东医药"), agent.ConsignedFlag("BETA Co., Ltd.")
	batch := gatewayBatch(t, []agent.Movement{
		use(stentGTIN, "S1", 0, hd),
		use(gauzeGTIN, "G1", 1),
		use(screwGTIN, "B1", 2, beta, agent.FlagLoan),
		{Time: supplyDay.Add(3 * time.Minute), Kind: agent.KindContext, Item: stentGTIN, Location: "OR-3",
			Reason: agent.RequestReason(agent.Request{Quantity: 1, Urgency: agent.UrgencyRefill, Max: 1}), Flags: []string{agent.FlagReplenish, hd}},
	})
	publishBatch(t, broker, batch)

	day := supplyDay.In(time.Local).Format(central.DayLayout)
	window := []string{"--since", day, "--until", day}
	waitFor(t, "the consumption records", func() bool {
		code, out, _ := runMain(t, append([]string{"supply", "--http-url", api, "--only", "consumption"}, window...)...)
		return code == ExitOK && strings.Count(out, `"type": "consumption"`) == 2
	})
	// The supplier with an id got its use and its request; the other
	// supplier has no id: not published.
	var got []string
	for range 2 {
		select {
		case tp := <-topics:
			got = append(got, tp)
		case <-time.After(5 * time.Second):
			t.Fatalf("published: %q", got)
		}
	}
	if want := []string{"udi/supply/hdyy/consumption", "udi/supply/hdyy/requests"}; !slices.Equal(got, want) {
		t.Errorf("published on %q, want %q", got, want)
	}

	wantConsumption := map[string][][]string{
		"华东医药": {{"华东医药", "st-marys", "or-3", "LEDGER", "0", "1", supplyDay.In(time.Local).Format(time.RFC3339), stentGTIN,
			"支架 Stent", "(01)" + stentGTIN + "(21)S1", "LS1", "S1", "2028-01-31", "case-7", "OR-3", "false", "750.00"}},
		"BETA Co., Ltd.": {{"BETA Co., Ltd.", "st-marys", "or-3", "LEDGER", "0", "3", supplyDay.Add(2 * time.Minute).In(time.Local).Format(time.RFC3339),
			screwGTIN, "Screw, 4mm", "(01)" + screwGTIN + "(21)B1", "LB1", "B1", "2028-01-31", "case-7", "OR-3", "true", "1200.50"}},
	}
	check := func(t *testing.T, out string) {
		t.Helper()
		for supplier, rows := range wantConsumption {
			rs := readCSV(t, filepath.Join(out, fileName(supplier)+".consumption.csv"), consumptionColumns)
			if len(rs) != len(rows) {
				t.Fatalf("%s: %d rows, want %d", supplier, len(rs), len(rows))
			}
			for i, row := range rows {
				row[3] = rs[i][3] // the ledger's created time is the gateway's
				if !slices.Equal(rs[i], row) {
					t.Errorf("%s row %d:\n got %q\nwant %q", supplier, i, rs[i], row)
				}
			}
		}
		rs := readCSV(t, filepath.Join(out, "华东医药.requests.csv"), requestColumns)
		if len(rs) != 1 || rs[0][8] != stentGTIN || rs[0][10] != "1" || rs[0][11] != "refill" || rs[0][16] != "true" {
			t.Errorf("华东医药's requests: %q", rs)
		}
		if rs := readCSV(t, filepath.Join(out, "BETA Co., Ltd..requests.csv"), requestColumns); len(rs) != 0 {
			t.Errorf("BETA's requests: %q", rs)
		}
		b, err := os.ReadFile(filepath.Join(out, "华东医药.consumption.csv"))
		if err != nil || strings.Contains(string(b), "PATIENT-SECRET-42") {
			t.Errorf("the export holds the patient, or %v", err)
		}
	}
	t.Run("from the running service", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "export")
		code, stdout, errs := runMain(t, append([]string{"supply", "--http-url", api, "--format", "csv", "--out", out}, window...)...)
		if code != ExitOK {
			t.Fatalf("exit %d: %s", code, errs)
		}
		if !strings.Contains(stdout, "华东医药: 1 consumption record(s), 1 request(s)") {
			t.Errorf("stdout: %q", stdout)
		}
		check(t, out)
		// One supplier's JSON to standard output.
		code, stdout, errs = runMain(t, append([]string{"supply", "--http-url", api, "--supplier", "BETA Co., Ltd."}, window...)...)
		var x supplyExport
		if code != ExitOK || json.Unmarshal([]byte(stdout), &x) != nil {
			t.Fatalf("exit %d %q %s", code, stdout, errs)
		}
		if x.Version != central.SupplySchema || len(x.Consumption) != 1 || x.Consumption[0].Supplier != "BETA Co., Ltd." || !x.Consumption[0].Loan || len(x.Requests) != 0 {
			t.Errorf("BETA's export: %+v", x)
		}
	})
	stop()
	t.Run("from the stopped store", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "export")
		code, _, errs := runMain(t, append([]string{"supply", "--store", store, "--master", "catalogue=" + catalogue, "--format", "csv", "--out", out}, window...)...)
		if code != ExitOK {
			t.Fatalf("exit %d: %s", code, errs)
		}
		check(t, out)
		js := filepath.Join(t.TempDir(), "json")
		if code, _, errs := runMain(t, append([]string{"supply", "--store", store, "--master", "catalogue=" + catalogue, "--out", js}, window...)...); code != ExitOK {
			t.Fatalf("exit %d: %s", code, errs)
		}
		var x supplyExport
		b, err := os.ReadFile(filepath.Join(js, "华东医药.json"))
		if err != nil || json.Unmarshal(b, &x) != nil || len(x.Consumption) != 1 || len(x.Requests) != 1 || x.Since != day || x.Until != day {
			t.Errorf("华东医药.json: %s %v", b, err)
		}
		if st, err := os.Stat(filepath.Join(js, "华东医药.json")); err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("华东医药.json: %v %v", st.Mode(), err)
		}
		// The same gateway's stock as the centre folds it: its open
		// request, as the gateway has it.
		code, stdout, errs := runMain(t, "stock", "--site", "st-marys", "--store", store, "--json")
		var rep central.SiteStockReport
		if code != ExitOK || json.Unmarshal([]byte(stdout), &rep) != nil || len(rep.Gateways) != 1 || rep.Gateways[0].Gateway != "or-3" ||
			len(rep.Gateways[0].Requests) != 1 || rep.Gateways[0].Requests[0].Product != stentGTIN || rep.Gateways[0].Requests[0].Supplier != "华东医药" {
			t.Errorf("stock --json: exit %d %s %s", code, stdout, errs)
		}
		if code, stdout, _ := runMain(t, "stock", "--site", "st-marys", "--store", store); code != ExitOK || !strings.Contains(stdout, "open replenishment requests: 1") {
			t.Errorf("stock: exit %d\n%s", code, stdout)
		}
		if code, _, errs := runMain(t, "stock", "--store", store); code != ExitUsage || !strings.Contains(errs, "--site") {
			t.Errorf("stock without a site: exit %d %s", code, errs)
		}
	})
	t.Run("bad input", func(t *testing.T) {
		for _, c := range []struct {
			args []string
			want string
		}{
			{[]string{"--since", "2026-13-01"}, `--since: "2026-13-01" is not a day YYYY-MM-DD`},
			{[]string{"--until", "25/11/2026"}, `--until: "25/11/2026" is not a day YYYY-MM-DD`},
			{[]string{"--since", "2026-11-26", "--until", "2026-11-25"}, "--since 2026-11-26 is after --until 2026-11-25"},
			{[]string{"--since", "2024-01-01", "--until", "2026-01-01"}, "at most 400 days"},
			{[]string{"--format", "xml"}, `--format: "xml": want json or csv`},
			{[]string{"--format", "csv"}, "--format csv to standard output is one table"},
			{[]string{"--only", "invoices"}, `--only: "invoices"`},
			{[]string{"--master", "recalls=" + catalogue}, "supply takes the catalogue only"},
		} {
			code, _, errs := runMain(t, append([]string{"supply", "--store", store}, c.args...)...)
			if code != ExitUsage || !strings.Contains(errs, c.want) {
				t.Errorf("%q: exit %d %q, want 2 and %q", c.args, code, errs, c.want)
			}
		}
	})
}

// readCSV reads an export's CSV file: UTF-8 with a byte order mark, the
// header columns, and returns the rows.
func readCSV(t *testing.T, path string, columns []string) [][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	body, ok := strings.CutPrefix(string(b), "\ufeff")
	if !ok {
		t.Errorf("%s has no byte order mark", path)
	}
	rs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(rs) == 0 {
		t.Fatalf("%s: %v", path, err)
	}
	if !slices.Equal(rs[0], columns) {
		t.Errorf("%s header %q, want %q", path, rs[0], columns)
	}
	return rs[1:]
}

// TestSupplierIDsConfig: the configuration's suppliers key sets the
// supplier ids (names with commas kept whole), --check shows them, and a
// supplier id that is an enrolled gateway's is refused.
func TestSupplierIDsConfig(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "central.db")
	cfg := writeFile(t, dir, "c.json", `{"sites": ["st-marys"], "store": "`+store+`", "http": {"listen": ""},
  "suppliers": {"hdyy": "华东医药", "beta": "BETA Co., Ltd."}}`, 0o600)
	code, out, errs := runMain(t, "run", "--check", "--config", cfg)
	want := "supplier topics: beta=BETA Co., Ltd.,hdyy=华东医药 (cursor " + store + ".supply)\n"
	if code != ExitOK || !strings.HasSuffix(out, want) {
		t.Fatalf("exit %d %q %s, want a line %q", code, out, errs, want)
	}
	bad := writeFile(t, dir, "bad.json", `{"sites": ["st-marys"], "suppliers": {"a/b": "X"}}`, 0o600)
	if code, _, errs := runMain(t, "run", "--check", "--config", bad); code != ExitUsage || !strings.Contains(errs, `suppliers: invalid argument "a/b=X"`) {
		t.Errorf("bad id: exit %d %q", code, errs)
	}
	enrol := writeFile(t, dir, "gateways.txt", "st-marys hdyy ed25519:"+strings.Repeat("A", 43)+"=\n", 0o600)
	code, _, errs = runMain(t, "run", "--check", "--config", cfg, "--enrolment", enrol)
	if code != ExitUsage || !strings.Contains(errs, "--supplier-id hdyy: gateway hdyy of site st-marys has that id") {
		t.Errorf("an enrolled gateway's id: exit %d %q", code, errs)
	}
	if code, _, errs := runMain(t, "run", "--check", "--site", "s", "--store", "postgres://db/x", "--signing-key", "k", "--supplier-id", "a=A"); code != ExitUsage || !strings.Contains(errs, "--supply-cursor is required") {
		t.Errorf("database store without cursor: exit %d %q", code, errs)
	}
}
