package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/udi-edge/udi-edge/agent/stock"
	"github.com/udi-edge/udi-edge/cmd/internal/show"
	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/wire"
)

func stockCmd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "stock", "--site SITE [--master catalogue=FILE] [flags]",
		"Show the stock on hand of every gateway of a site, as the centre folds it from the\n"+
			"movements it holds (the gateways' own rule: what they show, up to what they have\n"+
			"sent): per gateway, location, product, lot, expiry and owner, and the open\n"+
			"replenishment requests. The catalogue resolves packages to their units. Asks a\n"+
			"running service (--http-url), which resolves with its --supply-catalogue, or reads\n"+
			"the store (--store), resolving with --master catalogue=FILE.")
	var sf sourceFlags
	sf.register(fs)
	site := fs.String("site", "", "the site (required)")
	gateway := fs.String("gateway", "", "only this gateway")
	location := fs.String("location", "", "only this location")
	product := fs.String("product", "", "only this product")
	expiring := fs.Int("expiring", 0, "only what expires within this many days (expired included)")
	asJSON := fs.Bool("json", false, "the report as one JSON object")
	files := masterFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if err := siteFlag(*site); err != nil {
		return err
	}
	if fs.Changed("expiring") && *expiring < 1 {
		return usagef("--expiring %d: want a whole number of days, 1 or more", *expiring)
	}
	q := stock.Query{Location: *location, Product: *product, ExpiringDays: *expiring, Now: time.Now()}
	var rep central.SiteStockReport
	if sf.httpURL != "" {
		if len(*files) > 0 {
			return usagef("--master reads the store (--store): the service resolves packages with its own --supply-catalogue")
		}
		if err := sf.getJSON(ctx, "/v1/stock?"+central.StockParams(*site, q).Encode(), &rep); err != nil {
			return err
		}
	} else {
		if otherSet(*files, wire.SetCatalogue) {
			return usagef("stock takes the catalogue only: --master catalogue=FILE")
		}
		st, data, err := sf.openWith(*files)
		if err != nil {
			return err
		}
		defer st.Close()
		if rep, err = central.SiteStock(ctx, st, *site, q, data); err != nil {
			return err
		}
	}
	if *gateway != "" {
		rep.Gateways = slices.DeleteFunc(rep.Gateways, func(g central.GatewayStock) bool { return g.Gateway != *gateway })
	}
	return printSiteStock(env.Stdout, rep, *asJSON)
}

// printSiteStock prints the stock of a site's gateways as the centre folds
// it: a line per gateway, location, product, lot, expiry and owner, then
// the open replenishment requests; or the report as one JSON object.
func printSiteStock(w io.Writer, r central.SiteStockReport, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(w).Encode(r)
	}
	if len(r.Gateways) == 0 {
		fmt.Fprintf(w, "site %s: no gateway's movements held\n", r.Site)
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "GATEWAY\tAS OF\tLOCATION\tPRODUCT\tNAME\tLOT\tEXPIRY\tUNITS\tQUARANTINED\tOWNER")
	requests := 0
	for _, g := range r.Gateways {
		requests += len(g.Requests)
		for _, l := range g.Lines {
			owner := "hospital"
			if l.Owner != "" {
				owner = "consigned:" + l.Owner
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\n", g.Gateway, g.AsOf, show.Dash(l.Location), l.Product, show.Dash(l.Name), show.Dash(l.Lot), show.Dash(l.Expiry), l.Units, l.Quarantined, owner)
		}
	}
	tw.Flush()
	if requests > 0 {
		fmt.Fprintf(w, "\nopen replenishment requests: %d\n", requests)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "GATEWAY\tLOCATION\tPRODUCT\tQUANTITY\tURGENCY\tARRIVED\tSUPPLIER\tSEQ\tTIME")
		for _, g := range r.Gateways {
			for _, q := range g.Requests {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%d\t%s\t%d\t%s\n", g.Gateway, q.Location, q.Product, q.Quantity, q.Urgency, q.Arrived, show.Dash(q.Supplier), q.Seq, q.Time.Format("2006-01-02 15:04"))
			}
		}
		tw.Flush()
	}
	return nil
}
