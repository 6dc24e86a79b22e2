package core_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent/core"
)

// TestOtherGatewaysParsNotShown: the stock and the forecasts show the
// par levels of the locations the gateway serves only, not those of
// another gateway's the centre publishes to it; a location it neither
// serves nor holds anything at is refused, naming the known ones.
func TestOtherGatewaysParsNotShown(t *testing.T) {
	now := time.Date(2026, 12, 6, 9, 0, 0, 0, time.FixedZone("CST", 8*3600))
	var log syncBuffer
	g, _, stop := supplyGateway(t, filepath.Join(t.TempDir(), "ledger.db"), func() time.Time { return now }, &log)
	defer stop()
	ctx := context.Background()
	if _, err := g.Import(ctx, "par", strings.NewReader("location,gtin,min,max\nCATH-LAB,"+stent+",2,4\nOR-3,"+stent+",2,4\n"), core.ImportOptions{Format: "csv"}); err != nil {
		t.Fatal(err)
	}
	rep, err := g.Stock(ctx, core.StockQuery{})
	if err != nil || len(rep.Pars) != 1 || rep.Pars[0].Location != "OR-3" {
		t.Fatalf("pars %+v %v, want OR-3's only", rep.Pars, err)
	}
	fs, err := g.Forecast(ctx, core.ForecastQuery{})
	if err != nil || len(fs) != 1 || fs[0].Location != "OR-3" {
		t.Fatalf("forecasts %+v %v, want OR-3's only", fs, err)
	}
	for _, loc := range []string{"Typo", "CATH-LAB"} {
		_, err := g.Stock(ctx, core.StockQuery{Location: loc})
		if !errors.Is(err, core.ErrStockQuery) || !strings.Contains(err.Error(), `"`+loc+`"`) || !strings.Contains(err.Error(), "known: OR-3") {
			t.Errorf("stock at %s: %v, want it refused naming it and OR-3", loc, err)
		}
		_, err = g.Forecast(ctx, core.ForecastQuery{Location: loc})
		if !errors.Is(err, core.ErrStockQuery) || !strings.Contains(err.Error(), `"`+loc+`"`) || !strings.Contains(err.Error(), "known: OR-3") {
			t.Errorf("forecast at %s: %v, want it refused naming it and OR-3", loc, err)
		}
	}
	if _, err := g.Stock(ctx, core.StockQuery{Location: "OR-3"}); err != nil {
		t.Errorf("stock at its own empty location: %v", err)
	}
}
