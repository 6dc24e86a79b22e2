package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/udi-edge/udi-edge/agent/api"
	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/cmd/internal/show"
)

func traceCmd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "trace", "[flags] CODE",
		"Print the movements of one item, oldest first, with the decision of each point-of-use\n"+
			"check. CODE is any form of the item's code that decode reads: as a scanner sends it\n"+
			"(AIM prefix, GS as the byte or as \\x1d or <GS>), the human-readable form (01)...(21)...,\n"+
			"a GS1 Digital Link URI, an HIBC code, an item key as trace and anomalies print it, or\n"+
			"the EPC of the item's RFID tag (hex, with or without its PC word, or an urn:epc: URI).\n"+
			"A code without a serial (a bare GTIN) lists every item of that product. Works on a\n"+
			"running agent (through its local API) and on a stopped agent's ledger file. The\n"+
			"settlement lines that bill the item follow its movements (with --json, as\n"+
			"{\"settlement_line\": {...}} objects).")
	var cf configFlags
	cf.register(fs, false)
	asJSON := fs.Bool("json", false, "one JSON object per movement")
	isKey := fs.Bool("key", false, "CODE is an item key exactly as stored")
	limit := fs.Int("limit", core.DefaultTraceLimit, fmt.Sprintf("at most this many movements when listing a product (up to %d)", core.MaxTraceLimit))
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want exactly one CODE, got %d arguments", fs.NArg())
	}
	if *limit < 1 || *limit > core.MaxTraceLimit {
		return usagef("--limit %d: want 1 to %d", *limit, core.MaxTraceLimit)
	}
	cfg, err := cf.load()
	if err != nil {
		return err
	}
	q := core.TraceQuery{Code: fs.Arg(0), Limit: *limit}
	if *isKey {
		q = core.TraceQuery{Key: fs.Arg(0), Limit: *limit}
	}
	g, _, closeG, err := openGateway(ctx, cfg, readOnly)
	if err != nil {
		return err
	}
	defer closeG()
	res, err := g.Trace(ctx, q)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		for _, m := range res.Movements {
			if err := enc.Encode(api.FromMovement(m)); err != nil {
				return err
			}
		}
		for _, s := range res.Settlements {
			if err := enc.Encode(map[string]api.Settlement{"settlement_line": api.FromSettlement(s)}); err != nil {
				return err
			}
		}
		if res.Retained != nil {
			if err := enc.Encode(map[string]any{"retained": res.Retained}); err != nil {
				return err
			}
		}
	} else {
		show.Trace(env.Stdout, res.Key, res.Movements)
		show.Settlements(env.Stdout, res.Settlements)
		show.Retained(env.Stdout, res.Retained)
	}
	if res.Truncated {
		fmt.Fprintf(env.Stderr, "more than %d movements: only the first %d are shown (--limit)\n", *limit, *limit)
	}
	if len(res.Movements) == 0 && res.Retained == nil && !*asJSON {
		return fmt.Errorf("no movement of %s in %s", res.Key, cfg.Store)
	}
	return nil
}
