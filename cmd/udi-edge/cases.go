package main

import (
	"context"

	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/cmd/internal/show"
)

func costCmd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "cost", "[flags] CASE",
		"List the consumables used in a surgical case with their prices and totals: the\n"+
			"materials inside the case payment and, when the schedule gives the case's DRG/DIP\n"+
			"group and payment standard, their share of it; devices paid outside DRG/DIP apart.\n"+
			"Works on a running agent and on a stopped agent's file.")
	var cf configFlags
	cf.register(fs, false)
	asJSON := fs.Bool("json", false, "the cost as one JSON object")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want: cost CASE")
	}
	g, closeG, err := cf.open(ctx, readOnly)
	if err != nil {
		return err
	}
	defer closeG()
	c, err := g.CaseCost(ctx, fs.Arg(0))
	if err != nil {
		return err
	}
	return show.CaseCost(env.Stdout, c, *asJSON)
}

func implantsCmd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "implants", "[flags]",
		"Export the implant record regulation requires to be kept: every implant used, with\n"+
			"the patient, medical record number, case, surgeon, item, registration number, lot,\n"+
			"serial, expiry, manufacturer and supplier (implants as the catalogue marks them; the\n"+
			"record number and surgeon from the case schedule). It holds personal data.\n"+
			"Works on a running agent and on a stopped agent's file.")
	var cf configFlags
	cf.register(fs, false)
	patient := fs.String("patient", "", "only this patient's implants")
	format := fs.String("format", "table", "table, json or csv")
	outPath := fs.StringP("output", "o", "", "write to this file (0600) instead of standard output")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *format != "table" && *format != "json" && *format != "csv" {
		return usagef("--format: %q: want table, json or csv", *format)
	}
	g, closeG, err := cf.open(ctx, readOnly)
	if err != nil {
		return err
	}
	defer closeG()
	rs, err := g.Implants(ctx, *patient)
	if err != nil {
		return err
	}
	return show.ImplantsTo(env.Stdout, *outPath, rs, *format)
}

func procurementCmd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "procurement", "[flags]",
		"Report volume-based procurement (集采): for each product the catalogue marks selected,\n"+
			"the volume agreed for the year against the units used; and the use of products not\n"+
			"selected that share a generic name with a selected one. Works on a running agent and\n"+
			"on a stopped agent's file.")
	var cf configFlags
	cf.register(fs, false)
	fromS := fs.String("from", "", "count the uses from this day (2026-01-01, China time) or RFC 3339 time")
	toS := fs.String("to", "", "count the uses up to this day, included, or RFC 3339 time, excluded")
	asJSON := fs.Bool("json", false, "the report as a JSON array")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	from, err := core.ParseTimeBound(*fromS, false)
	if err != nil {
		return usagef("--from: %v", err)
	}
	to, err := core.ParseTimeBound(*toS, true)
	if err != nil {
		return usagef("--to: %v", err)
	}
	g, closeG, err := cf.open(ctx, readOnly)
	if err != nil {
		return err
	}
	defer closeG()
	ls, err := g.Procurement(ctx, from, to)
	if err != nil {
		return err
	}
	return show.Procurement(env.Stdout, ls, *asJSON)
}
