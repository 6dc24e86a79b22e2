package main

import (
	"context"
	"encoding/json"
	"net"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/stock"
	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/wire"
)

// runService runs `udi-central run` in process with args and waits for
// its HTTP API and for ready, if given, to hold of its log. It returns
// the API's port, the log, and a stop that waits for a clean exit (also
// called at cleanup).
func runService(t *testing.T, ready func(log string) bool, args ...string) (port string, logs *syncBuffer, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs = &syncBuffer{}
	done := make(chan int, 1)
	go func() { done <- Main(ctx, append([]string{"run"}, args...), &syncBuffer{}, logs) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case code := <-done:
			if code != ExitOK {
				t.Errorf("run exit %d\n%s", code, logs.String())
			}
		case <-time.After(10 * time.Second):
			t.Error("run did not stop")
		}
	}
	t.Cleanup(stop)
	re := regexp.MustCompile(`msg="http listening" addr=(\S+)`)
	waitFor(t, "the HTTP API", func() bool {
		return re.MatchString(logs.String()) && (ready == nil || ready(logs.String()))
	})
	_, port, _ = net.SplitHostPort(re.FindStringSubmatch(logs.String())[1])
	return port, logs, stop
}

// publishBatch publishes a gateway's batch on its movements topic, as
// gateway or-3 of st-marys.
func publishBatch(t *testing.T, broker string, batch []byte) {
	t.Helper()
	gw := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + broker).SetClientID("or-3"))
	if tok := gw.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer gw.Disconnect(0)
	gw.Publish(wire.MovementsTopic("st-marys", "or-3"), 1, false, batch).Wait()
}

// TestStockFromRunningService runs the centre with HTTPS, tokens and a
// catalogue holding a package, feeds it a real gateway ledger's batch
// over MQTT, and asks `stock --http-url` for the site's stock: every
// filter prints exactly what `stock --store --master catalogue=FILE`
// prints once the service is stopped, text and JSON; the package is
// counted in its units by the running service's catalogue; a bad
// product is refused naming the parameter, a client without a token as
// on every route, --master beside --http-url as a usage error.
func TestStockFromRunningService(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "central.db")
	const boxGTIN = "06901234567052" // a box of 5 gauze
	catalogue := writeFile(t, dir, "catalogue.csv", "gtin,name,unit_price,supplier,consigned,package_of,package_quantity\n"+
		stentGTIN+",支架 Stent,750.00,华东医药,yes,,\n"+
		gauzeGTIN+",Gauze,1.00,,no,,\n"+
		boxGTIN+",Gauze box,5.00,,no,"+gauzeGTIN+",5\n", 0o600)
	files := newHTTPFiles(t)
	broker := startBroker(t)
	port, _, stop := runService(t, nil, append([]string{"--site", "st-marys", "--store", store, "--broker", "tcp://" + broker,
		"--http", "0.0.0.0:0", "--supply-catalogue", catalogue}, files.flags()...)...)
	api := []string{"--http-url", "https://127.0.0.1:" + port, "--http-ca", files.pki.CAFile, "--http-token-file", files.auditorFile}

	hd := agent.ConsignedFlag("华东医药")
	receive := func(gtin, serial, loc string, min int, flags ...string) agent.Movement {
		m := use(gtin, serial, min, flags...)
		m.Kind, m.Location, m.Case, m.Patient = agent.KindReceive, loc, "", ""
		return m
	}
	publishBatch(t, broker, gatewayBatch(t, []agent.Movement{
		receive(stentGTIN, "S1", "OR-3", 0, hd),
		receive(stentGTIN, "S2", "OR-3", 1, hd),
		receive(boxGTIN, "GB1", "OR-3", 2),
		receive(gauzeGTIN, "G1", "WARD-2", 3),
		use(stentGTIN, "S2", 4, hd),
		{Time: supplyDay.Add(5 * time.Minute), Kind: agent.KindContext, Item: stentGTIN, Location: "OR-3",
			Reason: agent.RequestReason(agent.Request{Quantity: 1, Urgency: agent.UrgencyRefill, Max: 2}), Flags: []string{agent.FlagReplenish, hd}},
	}))
	ask := func(args ...string) (int, string, string) {
		return runMain(t, append(append([]string{"stock", "--site", "st-marys"}, api...), args...)...)
	}
	waitFor(t, "the gateway's movements", func() bool {
		code, out, _ := ask("--json")
		return code == ExitOK && strings.Contains(out, `"as_of_seq":6`)
	})

	// The box is 5 units of gauze, by the service's catalogue.
	code, out, errs := ask("--json", "--location", "OR-3", "--product", gauzeGTIN)
	var rep central.SiteStockReport
	if code != ExitOK || json.Unmarshal([]byte(out), &rep) != nil || len(rep.Gateways) != 1 || !slices.EqualFunc(rep.Gateways[0].Lines,
		[]stock.Line{{Location: "OR-3", Product: gauzeGTIN, Name: "Gauze", Lot: "LGB1", Units: 5}},
		func(a, b stock.Line) bool { a.DaysLeft, a.Expiry = nil, ""; return a == b }) {
		t.Fatalf("gauze at OR-3: exit %d %s %s", code, out, errs)
	}
	queries := [][]string{
		{},
		{"--json"},
		{"--location", "OR-3"},
		{"--location", "WARD-2", "--json"},
		{"--product", stentGTIN[1:]}, // the GTIN-13 under the bars
		{"--product", boxGTIN, "--json"},
		{"--expiring", "30"},
		{"--expiring", "5000", "--json"},
		{"--gateway", "or-3", "--location", "OR-3"},
		{"--gateway", "ot-1"},
	}
	running := make([]string, len(queries))
	for i, q := range queries {
		code, out, errs := ask(q...)
		if code != ExitOK || errs != "" {
			t.Fatalf("%q: exit %d %s", q, code, errs)
		}
		running[i] = out
	}
	if !strings.Contains(running[0], "open replenishment requests: 1") || !strings.Contains(running[0], "consigned:华东医药") {
		t.Errorf("the site's stock:\n%s", running[0])
	}

	// Refused: a bad product by the service, naming the parameter; no
	// token as on every route; the store's master data beside the service.
	if code, _, errs := ask("--product", "6901234567046"); code != ExitFailure || !strings.Contains(errs, "400 Bad Request") ||
		!strings.Contains(errs, `parameter product: bad stock query: product "6901234567046"`) {
		t.Errorf("a bad product: exit %d %s", code, errs)
	}
	if code, _, errs := runMain(t, "stock", "--site", "st-marys", "--http-url", api[1], "--http-ca", files.pki.CAFile); code != ExitFailure ||
		!strings.Contains(errs, "401 Unauthorized: authentication required") {
		t.Errorf("without a token: exit %d %s", code, errs)
	}
	if code, _, errs := ask("--master", "catalogue="+catalogue); code != ExitUsage || !strings.Contains(errs, "--master reads the store") {
		t.Errorf("--master with --http-url: exit %d %s", code, errs)
	}

	// The stopped store with the same catalogue prints the same.
	stop()
	for i, q := range queries {
		code, out, errs := runMain(t, append([]string{"stock", "--site", "st-marys", "--store", store, "--master", "catalogue=" + catalogue}, q...)...)
		if code != ExitOK || out != running[i] {
			t.Errorf("%q: exit %d %s; the store's\n%s\nthe running service's\n%s", q, code, errs, out, running[i])
		}
	}
	if code, _, errs := runMain(t, "stock", "--site", "st-marys", "--store", store, "--master", "recalls="+catalogue); code != ExitUsage ||
		!strings.Contains(errs, "stock takes the catalogue only") {
		t.Errorf("--master recalls=: exit %d %s", code, errs)
	}
}
