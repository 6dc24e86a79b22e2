package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/api"
	"github.com/udi-edge/udi-edge/agent/core"
)

// TestStockOverTheAPI: the stock on hand through the local API, in pages
// of one line (the client reads them all), one page asked for, filtered
// by location, product and expiry, and bad parameters refused by name.
func TestStockOverTheAPI(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	var ms []agent.Movement
	for i, loc := range []string{"WH", "WH", "W5", "OR-3"} {
		ms = append(ms, agent.Movement{Time: now, Kind: agent.KindReceive, Item: fmt.Sprintf("(01)09520123456788(21)S%d", i),
			GTIN: "09520123456788", Lot: "L1", Expiry: fmt.Sprintf("2026-12-%02d", 10+5*i), Location: loc})
	}
	l := ledgerWith(t, ms)
	g, err := core.New(core.Config{Now: func() time.Time { return now }}, core.Deps{Store: l, Master: l})
	if err != nil {
		t.Fatal(err)
	}
	srv := serveCore(t, g, api.Limits{MaxPage: 1})
	c, ctx := srv.client, context.Background()

	all, err := c.Stock(ctx, core.StockQuery{})
	if err != nil || all.Total != 4 || len(all.Lines) != 4 || all.AsOf != 4 || all.Day != "2026-12-01" || len(all.Locations) != 3 {
		t.Fatalf("every page: %+v %v", all, err)
	}
	if l := all.Lines[0]; l.Location != "OR-3" || l.Units != 1 || *l.DaysLeft != 24 {
		t.Errorf("first line %+v", l)
	}
	page, err := c.Stock(ctx, core.StockQuery{Offset: 2, Limit: 5})
	if err != nil || page.Offset != 2 || len(page.Lines) != 1 || page.Lines[0].Location != "WH" || page.Total != 4 {
		t.Fatalf("the page at 2, cut to the server's 1: %+v %v", page, err)
	}
	soon, err := c.Stock(ctx, core.StockQuery{Location: "WH", Product: "09520123456788", ExpiringDays: 10})
	if err != nil || soon.Total != 1 || soon.Lines[0].Expiry != "2026-12-10" {
		t.Fatalf("expiring within 10 days at WH: %+v %v", soon, err)
	}
	for q, want := range map[string]string{"expiring_days=0": "expiring_days", "expiring_days=soon": "expiring_days", "limit=-1": "limit"} {
		resp, err := srv.httpClient().Get("http://agent/v1/stock?" + q)
		if err != nil {
			t.Fatal(err)
		}
		var e api.ErrorResponse
		err = json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusBadRequest || e.Kind != api.KindBadRequest || !strings.Contains(e.Error, want) {
			t.Errorf("%s: %d %+v %v", q, resp.StatusCode, e, err)
		}
	}
	var ae *api.Error
	if _, err := c.Stock(ctx, core.StockQuery{ExpiringDays: -3}); !errors.As(err, &ae) || ae.Kind != api.KindBadRequest {
		t.Errorf("a negative window through the client: %v", err)
	}
}
