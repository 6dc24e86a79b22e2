package main

import (
	"context"
	"fmt"
	"os"
	"strconv"

	"github.com/udi-edge/udi-edge/agent/core"
)

func exportCmd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "export", "epcis|insurance [flags]",
		"epcis: export the ledger's movements as an EPCIS 2.0 JSON-LD document (GS1 EPCIS 2.0, CBV\n"+
			"2.0 business steps and dispositions). Patient, case and staff identifiers are left out\n"+
			"unless asked for; rejected reads, station context and uses the checks blocked (they\n"+
			"did not happen) have no event.\n"+
			"insurance: export the records of the insurance platform's purchase–stock–sale\n"+
			"interfaces 3501–3506 (JSON, one list of call inputs per interface, with the movements\n"+
			"left out and the records' problems), each with the trace codes of its items, for the\n"+
			"movements from --from to --to; or, with --case, the trace codes the case's settlement\n"+
			"uploads. Works on a running agent and on a stopped agent's file.")
	var cf configFlags
	cf.register(fs, false)
	output := fs.StringP("output", "o", "-", "write the document to this file (- for stdout)")
	from := fs.String("from", "", "epcis: the first sequence number (default 1); insurance: the first day (2026-03-12, China time)\nor time (RFC 3339) exported")
	to := fs.String("to", "", "insurance: the last day exported, or the time (RFC 3339) before which it ends")
	caseID := fs.String("case", "", "insurance: write the trace codes of this case's settlement instead")
	dropGS := fs.Bool("drop-gs", false, "insurance: write trace codes without their GS separators")
	withPatient := fs.Bool("include-patient", false, "epcis: include patient and case identifiers (personal data)")
	withActor := fs.Bool("include-actor", false, "epcis: include the staff badge of each movement")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 || fs.Arg(0) != "epcis" && fs.Arg(0) != "insurance" {
		return usagef("want: export epcis|insurance [flags]")
	}
	format := fs.Arg(0)
	var epcis core.ExportOptions
	var ins core.InsuranceOptions
	switch format {
	case "epcis":
		if *to != "" || *caseID != "" || *dropGS {
			return usagef("--to, --case and --drop-gs are insurance's")
		}
		epcis = core.ExportOptions{From: 1, IncludePatient: *withPatient, IncludeActor: *withActor}
		if *from != "" {
			n, err := strconv.ParseUint(*from, 10, 64)
			if err != nil {
				return usagef("--from: %q is not a sequence number", *from)
			}
			epcis.From = n
		}
	case "insurance":
		if *withPatient || *withActor {
			return usagef("--include-patient and --include-actor are epcis's")
		}
		var err error
		if ins.From, err = core.ParseTimeBound(*from, false); err != nil {
			return usagef("--from: %v", err)
		}
		if ins.To, err = core.ParseTimeBound(*to, true); err != nil {
			return usagef("--to: %v", err)
		}
		if !ins.To.IsZero() && !ins.To.After(ins.From) {
			return usagef("--to %s is not after --from %s", *to, *from)
		}
		if *caseID != "" && (*from != "" || *to != "") {
			return usagef("--case writes a case's trace codes, whenever its uses were: no --from or --to")
		}
		ins.Case, ins.DropGS = *caseID, *dropGS
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
	if format == "insurance" {
		return exportInsurance(ctx, env, cfg, w, ins)
	}
	g, _, closeG, err := openGateway(ctx, cfg, readOnly)
	if err != nil {
		return err
	}
	defer closeG()
	n, skipped, err := g.ExportEPCIS(ctx, w, epcis)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "exported %d event(s); %d movement(s) have no EPCIS event (rejected reads, station context, blocked attempts)\n", n, skipped)
	return nil
}
