package main

import (
	"context"
	"fmt"
	"io"

	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/cmd/internal/edge"
	"github.com/udi-edge/udi-edge/cmd/internal/fees"
)

// reconcileFees runs reconcile --fees: the agent (or the core over its
// stopped file) reconciles the fee-detail file with the ledger's uses.
func reconcileFees(ctx context.Context, env *Env, cfg edge.Config, ff *fees.Flags, asJSON bool) error {
	files, err := ff.Open()
	if err != nil {
		return err
	}
	defer files.Close()
	g, _, closeG, err := openGateway(ctx, cfg, readOnly)
	if err != nil {
		return err
	}
	defer closeG()
	found, err := g.ReconcileFees(ctx, files.Fees, files.Name, files.Format, core.FeeOptions{Tables: files.Tables})
	if err != nil {
		return fees.Refused(env.Stderr, err)
	}
	return fees.Print(env.Stdout, found, asJSON)
}

// exportInsurance runs export insurance.
func exportInsurance(ctx context.Context, env *Env, cfg edge.Config, w io.Writer, opt core.InsuranceOptions) error {
	g, _, closeG, err := openGateway(ctx, cfg, readOnly)
	if err != nil {
		return err
	}
	defer closeG()
	n, err := g.ExportInsurance(ctx, w, opt)
	if err != nil {
		return err
	}
	if opt.Case != "" {
		fmt.Fprintf(env.Stderr, "exported %d trace code(s) of the case; %d use(s) left out (listed under skipped)\n", n.Records, n.Skipped)
		return nil
	}
	fmt.Fprintf(env.Stderr, "exported %d record(s); %d movement(s) left out (listed under skipped), %d problem(s) in the records (listed under problems)\n",
		n.Records, n.Skipped, n.Problems)
	return nil
}
