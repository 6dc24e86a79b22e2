package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/udi-edge/udi-edge/agent/api"
	"github.com/udi-edge/udi-edge/cmd/internal/show"
)

func statusCmd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "status", "[flags]",
		"Print what a running agent is doing: its gateway and last movement, the state of its\n"+
			"ledger, which scanners and readers have their port open, its master data, and its link\n"+
			"to the central service (connected, acknowledged up to, movements waiting). Exit code 1\n"+
			"when no agent runs (what the ledger file holds is printed).")
	var cf configFlags
	cf.register(fs, false)
	asJSON := fs.Bool("json", false, "print the status as one JSON object")
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
	g, remote, closeG, err := openGateway(ctx, cfg, readOnly)
	if err != nil {
		return err
	}
	defer closeG()
	st, err := g.Status(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		if err := json.NewEncoder(env.Stdout).Encode(st); err != nil {
			return err
		}
	} else {
		show.Status(env.Stdout, st, remote)
	}
	if !remote {
		return fmt.Errorf("%w (%s)", api.ErrNoAgent, cfg.SocketPath())
	}
	return nil
}
