package core_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/bolt"
	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/agent/master"
)

// gs1 is a GS1 DataMatrix as a scanner sends it: GTIN, expiry, lot and,
// when given, serial.
func gs1(gtin, expiry, lot, serial string) string {
	s := "]d201" + gtin + "17" + expiry + "10" + lot
	if serial != "" {
		s += "\x1d21" + serial
	}
	return s
}

func scan(g *core.Gateway, station, raw string, at time.Time) {
	g.Scan(agent.Read{Source: station, Time: at, Raw: []byte(raw), Symbology: raw[:3], Data: []byte(raw[3:])})
}

// TestStockKeptAndRebuilt: a running gateway keeps its stock as the
// stations write (receipts, a transfer, uses, a lot scanned box by box, a
// justification written by the core itself), and the stock rebuilt from
// the ledger file after a restart equals the one kept move by move.
func TestStockKeptAndRebuilt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	l, err := bolt.Open(bolt.Options{Path: path, Gateway: "gw-1"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.FixedZone("CST", 8*3600))
	stations := map[string]agent.Station{
		"desk": {ID: "desk", Location: "WH", Kind: agent.KindReceive},
		"ward": {ID: "ward", Location: "W5", Kind: agent.KindTransfer},
		"or":   {ID: "or", Location: "OR-3", Kind: agent.KindUse},
	}
	g, err := core.New(core.Config{Stations: stations, Live: true, Now: func() time.Time { return now }}, core.Deps{Store: l, Master: l})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r, err := g.Stock(ctx, core.StockQuery{})
	if err != nil || r.Total != 0 || r.AsOf != 0 {
		t.Fatalf("empty ledger: %+v %v", r, err)
	}
	cat := "gtin,name,unit_price,imported\n09520123456788,hip stem,6850.00,true\n06901234100013,gauze,2.50,\n"
	if _, err := g.Import(ctx, "catalogue", strings.NewReader(cat), core.ImportOptions{Format: "csv"}); err != nil {
		t.Fatal(err)
	}
	const stem, gauze = "09520123456788", "06901234100013"
	for _, s := range []struct{ station, raw string }{
		{"desk", gs1(stem, "271231", "L1", "S1")},
		{"desk", gs1(stem, "271231", "L1", "S2")},
		{"desk", gs1(stem, "261215", "L0", "S3")},
		{"desk", gs1(gauze, "261210", "G1", "")},
		{"desk", gs1(gauze, "261210", "G1", "")},
		{"desk", gs1(gauze, "261210", "G1", "")},
		{"ward", gs1(stem, "271231", "L1", "S1")},
		{"or", gs1(stem, "271231", "L1", "S2")}, // imported: pending a justification
		{"or", gs1(gauze, "261210", "G1", "")},
	} {
		scan(g, s.station, s.raw, now)
	}
	g.Wait()
	if _, err := g.Justify(ctx, "(01)"+stem+"(21)S2", "R01", "badge-7"); err != nil {
		t.Fatal(err)
	}
	kept, err := g.Stock(ctx, core.StockQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range kept.Lines {
		got = append(got, fmt.Sprintf("%s %s %s %s %d", l.Location, l.Name, l.Lot, l.Expiry, l.Units))
	}
	want := []string{"W5 hip stem L1 2027-12-31 1", "WH gauze G1 2026-12-10 2", "WH hip stem L0 2026-12-15 1"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("kept: %q, want %q", got, want)
	}
	if kept.AsOf != l.LastSeq() {
		t.Errorf("the stock holds movements up to %d of %d: the justification the core wrote was not folded", kept.AsOf, l.LastSeq())
	}
	if len(kept.Locations) != 2 || !reflect.DeepEqual(kept.Locations[1], core.StockTotal{Location: "WH", Lines: 2, Units: 3,
		Expiring: []core.HorizonUnits{{Days: 90, Units: 3}, {Days: 60, Units: 3}, {Days: 30, Units: 3}}}) {
		t.Errorf("totals: %+v", kept.Locations)
	}
	soon, err := g.Stock(ctx, core.StockQuery{ExpiringDays: 14, Location: "WH"})
	if err != nil || soon.Total != 2 || *soon.Lines[0].DaysLeft != 9 || soon.Lines[0].Name != "gauze" {
		t.Fatalf("expiring within 14 days at WH: %+v %v", soon, err)
	}
	page, err := g.Stock(ctx, core.StockQuery{Product: stem, Offset: 1, Limit: 1})
	if err != nil || page.Total != 2 || len(page.Lines) != 1 || page.Lines[0].Location != "WH" || len(page.Locations) != 2 {
		t.Fatalf("a page of the stem: %+v %v", page, err)
	}
	if _, err := g.Stock(ctx, core.StockQuery{ExpiringDays: -1}); !errors.Is(err, core.ErrStockQuery) {
		t.Errorf("a negative window: %v", err)
	}
	// The product as a person gives it: the GTIN-13 printed under the
	// bars, a Digital Link, an item's own code; a text naming no product
	// is refused, naming it, not answered "none".
	for _, p := range []string{stem[1:], "https://id.gs1.org/01/" + stem, "(01)" + stem + "(21)S9"} {
		r, err := g.Stock(ctx, core.StockQuery{Product: p})
		if err != nil || r.Total != 2 {
			t.Errorf("stock of product %q: %d line(s), %v; want the stem's 2", p, r.Total, err)
		}
		f, err := g.Forecast(ctx, core.ForecastQuery{Product: p})
		if err != nil || len(f) == 0 || f[0].Product != stem {
			t.Errorf("forecast of product %q: %+v, %v; want the stem's", p, f, err)
		}
	}
	for _, p := range []string{"09520123456789", "hip stem"} {
		if _, err := g.Stock(ctx, core.StockQuery{Product: p}); !errors.Is(err, core.ErrStockQuery) || !strings.Contains(err.Error(), p) {
			t.Errorf("stock of product %q: %v, want a bad query naming it", p, err)
		}
		if _, err := g.Forecast(ctx, core.ForecastQuery{Product: p}); !errors.Is(err, core.ErrStockQuery) || !strings.Contains(err.Error(), p) {
			t.Errorf("forecast of product %q: %v, want a bad query naming it", p, err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	ro, err := bolt.OpenReadOnly(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	g2, err := core.New(core.Config{Now: func() time.Time { return now }}, core.Deps{Store: ro, Master: ro})
	if err != nil {
		t.Fatal(err)
	}
	rebuilt, err := g2.Stock(ctx, core.StockQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rebuilt, kept) {
		t.Errorf("rebuilt %+v\nkept    %+v", rebuilt, kept)
	}
}

// TestForecastConfiguredPar: a par level the configuration gives
// (stock.par_levels) is forecast as one imported is: the stock shows it,
// so the forecast lists it too, with nothing to forecast from yet.
func TestForecastConfiguredPar(t *testing.T) {
	l, err := bolt.Open(bolt.Options{Path: filepath.Join(t.TempDir(), "ledger.db"), Gateway: "gw-1"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	par := master.ParLevel{Location: "W5", GTIN: "09520123456788", Max: 4}
	stations := map[string]agent.Station{"w5": {ID: "w5", Location: "W5", Kind: agent.KindUse}}
	g, err := core.New(core.Config{Stations: stations, Supply: core.SupplyConfig{Pars: []master.ParLevel{par}}}, core.Deps{Store: l, Master: l})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rep, err := g.Stock(ctx, core.StockQuery{})
	if err != nil || len(rep.Pars) != 1 {
		t.Fatalf("stock's par levels: %+v %v", rep.Pars, err)
	}
	f, err := g.Forecast(ctx, core.ForecastQuery{})
	if err != nil || len(f) != 1 || f[0].Location != "W5" || f[0].Product != "09520123456788" || f[0].Error == "" {
		t.Fatalf("forecasts %+v %v, want the configured par level's, with nothing to forecast from", f, err)
	}
}
