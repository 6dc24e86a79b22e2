package main

import (
	"context"
	"fmt"
	"time"

	"github.com/udi-edge/udi-edge/agent/audit"
	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/cmd/internal/fees"
	"github.com/udi-edge/udi-edge/cmd/internal/show"
)

func anomaliesCmd(ctx context.Context, env *Env, args []string) error {
	return auditCmd(ctx, env, args, "anomalies", nil,
		"List what an auditor should look at: items used twice, used after expiry or from a\n"+
			"recalled lot, used but never received, billed but never scanned, taken from a cabinet\n"+
			"and not used, returned, wasted or put back within --link-within. Works on a running\n"+
			"agent and on a stopped agent's file. Exits 1 when there are findings.",
		func(g gateway, link time.Duration) ([]audit.Finding, error) { return g.Anomalies(ctx, link) })
}

func reconcileCmd(ctx context.Context, env *Env, args []string) error {
	return auditCmd(ctx, env, args, "reconcile", new(fees.Flags),
		"Reconcile the uses in the ledger with the imported settlement records: used but not\n"+
			"billed, billed but never scanned, billed under another insurance code than the\n"+
			"catalogue's, quantities that differ from the uses, uses pending a justification.\n"+
			"With --fees, reconcile instead the fee detail the hospital uploads to the insurance\n"+
			"platform (interface 2301), visit (mdtrt_id) by case: billed but not scanned, scanned\n"+
			"but not billed, quantities, codes (20 or 27 characters, withdrawn or replaced with\n"+
			"--withdrawn and --transcode), prices; a file with a bad line is refused whole.\n"+
			"Works on a running agent and on a stopped agent's file. Exits 1 when there are findings.",
		func(g gateway, _ time.Duration) ([]audit.Finding, error) { return g.Reconcile(ctx) })
}

func auditCmd(ctx context.Context, env *Env, args []string, name string, ff *fees.Flags, summary string, report func(gateway, time.Duration) ([]audit.Finding, error)) error {
	fs := newFlags(env, name, "[flags]", summary)
	var cf configFlags
	cf.register(fs, false)
	asJSON := fs.Bool("json", false, "one JSON object per finding")
	link := fs.Duration("link-within", core.DefaultLinkWithin, "an item taken from a cabinet must be used, returned, wasted or put back within this")
	if ff != nil {
		ff.Register(fs)
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	cfg, err := cf.load()
	if err != nil {
		return err
	}
	if ff != nil {
		used, err := ff.Used()
		if err != nil {
			return err
		}
		if used {
			return reconcileFees(ctx, env, cfg, ff, *asJSON)
		}
	}
	g, _, closeG, err := openGateway(ctx, cfg, readOnly)
	if err != nil {
		return err
	}
	defer closeG()
	found, err := report(g, *link)
	if err != nil {
		return err
	}
	show.Findings(env.Stdout, found, *asJSON)
	if len(found) > 0 {
		return fmt.Errorf("%d finding(s)", len(found))
	}
	if !*asJSON {
		fmt.Fprintln(env.Stdout, "no findings")
	}
	return nil
}
