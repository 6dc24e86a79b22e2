package main

import (
	"context"

	"github.com/udi-edge/udi-edge/cmd/internal/show"
	"github.com/udi-edge/udi-edge/sync/central"
)

func costCmd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "cost", "--site SITE --master catalogue=FILE [--master schedules=FILE] [flags] CASE",
		"List the consumables used in a surgical case on every gateway of a site, with their\n"+
			"prices (the catalogue) and totals, against the case's DRG/DIP payment standard (the\n"+
			"schedules); devices paid outside DRG/DIP apart. Reads the store (--store).")
	var sf sourceFlags
	sf.register(fs)
	site := fs.String("site", "", "the site (required)")
	asJSON := fs.Bool("json", false, "the cost as one JSON object")
	files := masterFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want: cost --site SITE --master catalogue=FILE CASE")
	}
	if err := siteFlag(*site); err != nil {
		return err
	}
	if sf.httpURL != "" {
		return usagef("cost reads the store (--store), with the master data given")
	}
	st, data, err := sf.openWith(*files)
	if err != nil {
		return err
	}
	defer st.Close()
	c, err := central.SiteCaseCost(ctx, st, *site, fs.Arg(0), data)
	if err != nil {
		return err
	}
	return show.CaseCost(env.Stdout, c, *asJSON)
}

func implantsCmd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "implants", "--site SITE --master catalogue=FILE [--master schedules=FILE] [flags]",
		"Export the implant record of a site, its uses read on every gateway: patient, medical\n"+
			"record number, case, surgeon, item, registration number, lot, serial, expiry,\n"+
			"manufacturer and supplier. It holds personal data. Reads the store (--store).")
	var sf sourceFlags
	sf.register(fs)
	site := fs.String("site", "", "the site (required)")
	patient := fs.String("patient", "", "only this patient's implants")
	format := fs.String("format", "table", "table, json or csv")
	outPath := fs.StringP("output", "o", "", "write to this file (0600) instead of standard output")
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
	if *format != "table" && *format != "json" && *format != "csv" {
		return usagef("--format: %q: want table, json or csv", *format)
	}
	if sf.httpURL != "" {
		return usagef("implants reads the store (--store), with the master data given")
	}
	st, data, err := sf.openWith(*files)
	if err != nil {
		return err
	}
	defer st.Close()
	rs, err := central.SiteImplants(ctx, st, *site, *patient, data)
	if err != nil {
		return err
	}
	return show.ImplantsTo(env.Stdout, *outPath, rs, *format)
}
