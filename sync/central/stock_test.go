package central_test

import (
	"context"
	"errors"
	"reflect"
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
