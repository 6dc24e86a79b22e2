package main

import (
	"context"

	"github.com/udi-edge/udi-edge/cmd/internal/bench"
)

func benchCmd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "bench", "[flags]",
		"Measure the ingest workload on this machine's disk: scans -> parsed -> movements ->\n"+
			"fsynced ledger, beside two ceilings measured in the same run: raw bbolt puts of the\n"+
			"same record size in large transactions, and one transaction per scan. Then the\n"+
			"scan-to-durable latency at a paced rate, the RFID read pipeline, chain verification,\n"+
			"trace and point-of-use decisions in a large ledger. Run it on a gateway to judge its\n"+
			"disk. (The sync drain to a real broker and centre is udi-lab bench's.)")
	dir := fs.String("dir", "", "directory for the benchmark files (default: a temporary directory)")
	bf := bench.RegisterFlags(fs)
	asJSON := fs.Bool("json", false, "print figures as JSON lines")
	if err := parse(fs, args); err != nil {
		return err
	}
	p, err := bf.Params()
	if err != nil {
		return usagef("%v", err)
	}
	return bench.Command(ctx, env.Stdout, *dir, p, *asJSON)
}
