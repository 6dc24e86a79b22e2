package main

import (
	"context"

	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/cmd/internal/show"
)

func stockCmd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "stock", "[flags]",
		"Show the stock on hand, folded from the ledger's movements: for each location, product,\n"+
			"lot and expiry, the units on hand and quarantined, the first to expire first, and\n"+
			"each location's totals, its par levels and open replenishment requests (with\n"+
			"--forecast, the demand forecasts and reorder points). An item with a serial is one unit; a scan of a lot is one\n"+
			"unit of it; a package's DI counts the units it packs (the catalogue's package_of).\n"+
			"Works on a running agent and on a stopped agent's file.")
	var cf configFlags
	cf.register(fs, false)
	location := fs.String("location", "", "only this location")
	product := fs.String("product", "", "only this product: a GTIN, an HIBC product key or an MA DI (a package's DI: its product)")
	expiring := fs.Int("expiring", 0, "only what expires within this many days (expired included)")
	withForecast := fs.Bool("forecast", false, "show the demand forecast of each product and location instead: its pattern, method, basis and the reorder point it gives")
	asJSON := fs.Bool("json", false, "the report as one JSON object")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if fs.Changed("expiring") && *expiring < 1 {
		return usagef("--expiring %d: want a whole number of days, 1 or more", *expiring)
	}
	g, closeG, err := cf.open(ctx, readOnly)
	if err != nil {
		return err
	}
	defer closeG()
	if *withForecast {
		if *expiring != 0 {
			return usagef("--forecast and --expiring: ask one at a time")
		}
		ls, err := g.Forecast(ctx, core.ForecastQuery{Location: *location, Product: *product})
		if err != nil {
			return err
		}
		return show.Forecast(env.Stdout, ls, *asJSON)
	}
	r, err := g.Stock(ctx, core.StockQuery{Location: *location, Product: *product, ExpiringDays: *expiring})
	if err != nil {
		return err
	}
	return show.Stock(env.Stdout, r, *expiring, *asJSON)
}
