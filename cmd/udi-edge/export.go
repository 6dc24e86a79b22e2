package main

import (
	"context"
	"fmt"
	"os"

	"github.com/udi-edge/udi-edge/agent/core"
)

func exportCmd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "export", "epcis [flags]",
		"Export the ledger's movements as an EPCIS 2.0 JSON-LD document (GS1 EPCIS 2.0, CBV 2.0\n"+
			"business steps and dispositions). Patient, case and staff identifiers are left out\n"+
			"unless asked for; rejected reads, station context and uses the checks blocked (they\n"+
			"did not happen) have no event. Works on a running agent and on a stopped agent's file.")
	var cf configFlags
	cf.register(fs, false)
	output := fs.StringP("output", "o", "-", "write the document to this file (- for stdout)")
	from := fs.Uint64("from", 1, "first sequence number to export")
	withPatient := fs.Bool("include-patient", false, "include patient and case identifiers (personal data)")
	withActor := fs.Bool("include-actor", false, "include the staff badge of each movement")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 || fs.Arg(0) != "epcis" {
		return usagef("want: export epcis [flags]")
	}
	cfg, err := cf.load()
	if err != nil {
		return err
	}
	w := env.Stdout
	if *output != "-" {
		f, err := os.OpenFile(*output, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	g, _, closeG, err := openGateway(ctx, cfg, readOnly)
	if err != nil {
		return err
	}
	defer closeG()
	n, skipped, err := g.ExportEPCIS(ctx, w, core.ExportOptions{From: *from, IncludePatient: *withPatient, IncludeActor: *withActor})
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "exported %d event(s); %d movement(s) have no EPCIS event (rejected reads, station context, blocked attempts)\n", n, skipped)
	return nil
}
