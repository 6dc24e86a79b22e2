package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/udi-edge/udi-edge/cmd/internal/show"
)

func verifyCmd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "verify", "[flags]",
		"Check that no movement in a ledger was changed, removed, inserted or reordered since it\n"+
			"was written: recompute the hash chain from the first movement to the last, then check\n"+
			"the file's structure (batches, records, the item index, the master data). Prints\n"+
			"\"intact\" with the number of movements and the last hash, or the first broken movement\n"+
			"and every problem found. Works on a running agent (through its local API) and on a\n"+
			"stopped agent's file (opened read-only). Exit code 1 when the ledger is not intact.")
	var cf configFlags
	cf.register(fs, false)
	asJSON := fs.Bool("json", false, "print the result as one JSON object")
	wait := fs.Duration("wait", 2*time.Second, "how long to wait for another process to release a stopped agent's file")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("verify takes no arguments, got %d", fs.NArg())
	}
	cfg, err := cf.load()
	if err != nil {
		return err
	}
	g, _, closeG, err := openGateway(ctx, cfg, access{wait: *wait})
	if err != nil {
		return err
	}
	defer closeG()
	res, err := g.Verify(ctx)
	if err != nil {
		return err
	}
	if res.Store == "" {
		res.Store = cfg.Store
	}
	if *asJSON {
		if err := json.NewEncoder(env.Stdout).Encode(res); err != nil {
			return err
		}
	} else {
		show.Verify(env.Stdout, res)
	}
	if !res.Intact {
		if res.Broken != nil {
			return fmt.Errorf("ledger %s is not intact: movement %d %s", res.Store, res.Broken.Seq, res.Broken.Kind)
		}
		return fmt.Errorf("ledger %s is not intact: %d problem(s)", res.Store, len(res.Problems))
	}
	return nil
}
