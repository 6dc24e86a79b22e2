package central_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/agent/stock"
	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/central/internal/testkit"
	"github.com/udi-edge/udi-edge/sync/central/storetest"
)

// TestSiteStock: the centre folds each gateway's current history (its
// current branch: the parent's movements before the fork, then its own)
// as the gateway does, owners and open requests included; another
// site's gateways are not in it.
func TestSiteStock(t *testing.T) {
	f := newFixture(t)
	at := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	mv := func(k agent.Kind, item string, flags ...string) agent.Movement {
		return agent.Movement{Time: at, Kind: k, Item: item, Location: "OR-3", Decision: "accepted", Flags: flags}
	}
	consigned := agent.ConsignedFlag("华东医药")
	req := agent.Movement{Time: at, Kind: agent.KindContext, Item: "06901234567892", Location: "OR-3",
		Flags: []string{agent.FlagReplenish, consigned}, Reason: agent.RequestReason(agent.Request{Quantity: 2, Urgency: agent.UrgencyRefill, OnHand: 1, Max: 3})}
	l := testkit.NewLedger(site, "or-gw", created)
	l.Add(t, mv(agent.KindReceive, "(01)06901234567892(21)S1", consigned))
	l.Add(t, mv(agent.KindReceive, "(01)06901234567892(21)S2", consigned))
	l.Add(t, mv(agent.KindUse, "(01)06901234567892(21)S2", consigned))
	l.Add(t, req)
	restored := testkit.NewLedger(site, "or-gw", created) // a restored ledger forks after movement 2
	restored.Add(t, l.Movements[0])
	restored.Add(t, l.Movements[1])
	restored.Add(t, mv(agent.KindReceive, "(01)06901234567892(21)S3"))
	elsewhere := testkit.NewLedger("north", "n-gw", created)
	elsewhere.Add(t, mv(agent.KindReceive, "(01)06901234000015(21)N1"))
	storetest.MustAppend(t, f.store, l, 1, 4)
	ctx := context.Background()
	q := stock.Query{Location: "OR-3"}
	rep, err := central.SiteStock(ctx, f.store, site, q, nil)
	if err != nil || len(rep.Gateways) != 1 {
		t.Fatalf("%+v %v", rep, err)
	}
	want := stock.New()
	for _, m := range l.Movements {
		want.Apply(m)
	}
	g := rep.Gateways[0]
	if g.Gateway != "or-gw" || g.AsOf != 4 || !reflect.DeepEqual(g.Lines, want.Lines(q, nil)) || !reflect.DeepEqual(g.Requests, want.Requests("OR-3")) {
		t.Fatalf("centre's fold\n%+v\nwant lines %+v requests %+v", g, want.Lines(q, nil), want.Requests("OR-3"))
	}
	if len(g.Lines) != 1 || g.Lines[0].Owner != "华东医药" || g.Lines[0].Units != 1 || len(g.Requests) != 1 || g.Requests[0].Quantity != 2 {
		t.Fatalf("lines %+v requests %+v", g.Lines, g.Requests)
	}
	// The product as a person types it (the GTIN-13 under the bars) asks
	// the same; a text naming no product is refused, naming it.
	byGTIN13, err := central.SiteStock(ctx, f.store, site, stock.Query{Location: "OR-3", Product: "6901234567892"}, nil)
	if err != nil || len(byGTIN13.Gateways) != 1 || !reflect.DeepEqual(byGTIN13.Gateways[0], g) {
		t.Errorf("product 6901234567892: %+v, %v; want %+v", byGTIN13, err, g)
	}
	if _, err := central.SiteStock(ctx, f.store, site, stock.Query{Product: "6901234567893"}, nil); !errors.Is(err, core.ErrStockQuery) || !strings.Contains(err.Error(), "6901234567893") {
		t.Errorf("a product with a wrong check digit: %v, want a bad query naming it", err)
	}

	// The restored ledger's history is the current one.
	if h, _, err := f.store.Append(ctx, site, "or-gw", created, storetest.Stored(t, restored, 3, 3)); err != nil || h.Branch != 1 {
		t.Fatalf("branch %d, %v", h.Branch, err)
	}
	storetest.MustAppend(t, f.store, elsewhere, 1, 1)
	rep, err = central.SiteStock(ctx, f.store, site, q, nil)
	if err != nil || len(rep.Gateways) != 1 {
		t.Fatalf("%+v %v", rep, err)
	}
	want = stock.New()
	for _, m := range restored.Movements {
		want.Apply(m)
	}
	g = rep.Gateways[0]
	if g.AsOf != 3 || !reflect.DeepEqual(g.Lines, want.Lines(q, nil)) || len(g.Requests) != 0 {
		t.Fatalf("after the fork\n%+v\nwant %+v", g, want.Lines(q, nil))
	}
	var units int
	for _, l := range g.Lines {
		units += l.Units
	}
	if units != 3 {
		t.Errorf("units %d, want 3 (S1, S2, S3)", units)
	}
}

// TestStockAPI: a running centre's GET /v1/stock, over HTTP with
// authentication, answers what SiteStock reads from its store, packages
// resolved with the service's catalogue, for every filter; a bad
// parameter is refused naming it, and a client without a valid
// credential as on every route.
func TestStockAPI(t *testing.T) {
	cat := supplyCatalogue(t)
	f := newFixtureWith(t, func(c *central.Config) { c.Catalogue = cat })
	l := supplyLedger(t)
	f.send(l, 1, uint64(len(l.Records)))
	f.published(1)
	f.wantStored(l, uint64(len(l.Records)))
	tokens, err := central.LoadTokens(tokensFile(t))
	if err != nil {
		t.Fatal(err)
	}
	s := serveAPI(t, f, central.APIConfig{Tokens: tokens, AuthAlways: true}, "127.0.0.1:0")
	c, ctx := http.DefaultClient, context.Background()
	get := func(query, token string) (int, string) {
		t.Helper()
		code, body, _ := call(t, c, http.MethodGet, s.url+"/v1/stock?"+query, token, "")
		return code, body
	}

	// The movements expire on 2028-01-31, 432 days after the service's
	// clock.
	for _, q := range []stock.Query{
		{},
		{Location: "OR-3"},
		{Location: "WARD-2"},
		{Product: gtinGauze[1:]}, // the GTIN-13 under the bars
		{Product: gtinGauzeBox},  // a package asks for what it packs
		{Product: "(01)" + gtinCatheter + "(21)X"}, // a whole item code asks for its product
		{Location: "OR-3", Product: gtinUnknown},
		{ExpiringDays: 431},
		{ExpiringDays: 432},
	} {
		code, body := get(central.StockParams(site, q).Encode(), auditorToken)
		q.Now = f.clock.Now()
		rep, err := central.SiteStock(ctx, f.store, site, q, cat)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(rep)
		if code != http.StatusOK || body != string(want)+"\n" {
			t.Errorf("%+v: %d\n%s\nwant the store's\n%s", q, code, body, want)
		}
	}
	// What the answers hold: the box of gauze received at OR-3 is 5 units
	// of gauze by the service's catalogue (the box itself without one),
	// the catheters' request open with 1 of 2 arrived.
	var rep central.SiteStockReport
	code, body := get("site="+site+"&location=OR-3&product="+gtinGauze, operatorToken)
	if err := json.Unmarshal([]byte(body), &rep); code != http.StatusOK || err != nil || len(rep.Gateways) != 1 {
		t.Fatalf("%d %s %v", code, body, err)
	}
	if g := rep.Gateways[0]; g.Gateway != "or-3" || g.AsOf != uint64(len(l.Records)) || !slices.ContainsFunc(g.Lines, func(l stock.Line) bool {
		return l.Lot == "L-GB1" && l.Units == 5 && l.Name == "Gauze" && l.Product == gtinGauze
	}) || len(g.Requests) != 0 {
		t.Errorf("gauze at OR-3: %+v", g)
	}
	bare, err := central.SiteStock(ctx, f.store, site, stock.Query{Location: "OR-3", Product: gtinGauzeBox}, nil)
	if err != nil || len(bare.Gateways) != 1 || len(bare.Gateways[0].Lines) != 1 || bare.Gateways[0].Lines[0].Units != 1 {
		t.Fatalf("without a catalogue: %+v %v", bare, err)
	}
	code, body = get("site="+site+"&product="+gtinCatheter, auditorToken)
	if err := json.Unmarshal([]byte(body), &rep); code != http.StatusOK || err != nil || len(rep.Gateways) != 1 ||
		len(rep.Gateways[0].Requests) != 1 || rep.Gateways[0].Requests[0].Arrived != 1 || rep.Gateways[0].Requests[0].Quantity != 2 {
		t.Errorf("the catheters: %d %s %v", code, body, err)
	}
	if code, body = get("site="+site+"&expiring=431", auditorToken); code != http.StatusOK || strings.Contains(body, `"lot"`) {
		t.Errorf("expiring within 431 days: %d %s, want no line", code, body)
	}

	for _, c := range []struct{ query, want string }{
		{"", `parameter site: \"\" is not one of the sites served (st-marys)`},
		{"site=north", `parameter site: \"north\" is not one of the sites served`},
		{"site=" + site + "&expiring=-1", `parameter expiring: \"-1\" is not a whole number of days, 0 or more`},
		{"site=" + site + "&expiring=soon", `parameter expiring: \"soon\"`},
		{"site=" + site + "&expiring=99999999999999999999", `parameter expiring: \"99999999999999999999\"`},
		{"site=" + site + "&product=6901234567046", `parameter product: bad stock query: product \"6901234567046\"`},
		{"site=" + site + "&product=gauze", `parameter product: bad stock query: product \"gauze\"`},
	} {
		if code, body := get(c.query, auditorToken); code != http.StatusBadRequest || !strings.Contains(body, c.want) {
			t.Errorf("%q: %d %s, want 400 saying %s", c.query, code, body, c.want)
		}
	}
	// Refused as every route refuses a client without a valid credential.
	if code, body := get("site="+site, ""); code != http.StatusUnauthorized || !strings.Contains(body, "authentication required: send an Authorization: Bearer token") {
		t.Errorf("without a token: %d %s", code, body)
	}
	if code, body := get("site="+site, "not-a-token-but-long-enough-to-be-one"); code != http.StatusUnauthorized || !strings.Contains(body, "unknown bearer token") {
		t.Errorf("an unknown token: %d %s", code, body)
	}
}

// TestSiteReadsTakeTheLongDeadline: the requests that read every
// movement of a site run under the long deadline, not the short one of
// a trace: with a short deadline too short for any read, they still
// answer.
func TestSiteReadsTakeTheLongDeadline(t *testing.T) {
	f := newFixture(t)
	l := supplyLedger(t)
	f.send(l, 1, uint64(len(l.Records)))
	f.published(1)
	s := serveAPI(t, f, central.APIConfig{Limits: central.APILimits{Timeout: time.Nanosecond}}, "127.0.0.1:0")
	for _, path := range []string{"/v1/stock?site=" + site, "/v1/anomalies?site=" + site} {
		if code, body, _ := call(t, http.DefaultClient, http.MethodGet, s.url+path, "", ""); code != http.StatusOK {
			t.Errorf("%s: %d %s", path, code, body)
		}
	}
}
