package main

import (
	"context"
	"fmt"

	"github.com/udi-edge/udi-edge/cmd/internal/cli"
	"github.com/udi-edge/udi-edge/cmd/internal/edge"
)

func runCmd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "run", "[flags]",
		"Run the agent: read every configured scanner and reader, record each scan as a movement\n"+
			"in the ledger (answered only once fsynced), and serve the local API on the control\n"+
			"socket. With --check, validate the configuration, check what the agent will need of\n"+
			"this machine (devices, the ledger's directory, files, groups) as the user it runs as,\n"+
			"print a summary and exit: 0 ok, 1 problems found, 2 invalid configuration.")
	var cf configFlags
	cf.register(fs, true)
	check := fs.Bool("check", false, "validate the configuration, check the machine, print a summary and exit")
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
	if err := cfg.Validate(); err != nil {
		return err
	}
	if *check {
		fmt.Fprint(env.Stdout, cfg.Summary())
		ps := cfg.Check()
		for _, p := range ps {
			fmt.Fprintf(env.Stdout, "problem: %s\n", p)
		}
		if len(ps) > 0 {
			return fmt.Errorf("%d problem(s): the agent would not run as configured", len(ps))
		}
		fmt.Fprintf(env.Stdout, "configuration ok: gateway %s, %d scanner(s), %d reader(s), ledger %s\n",
			cfg.Gateway, len(cfg.Scanners), len(cfg.Readers), cfg.Store)
		return nil
	}
	log, err := cli.NewLogger(env.Stderr, cfg.Log.Level, cfg.Log.Format)
	if err != nil {
		return err
	}
	a := edge.NewAgent(cfg, log)
	if err := a.Open(); err != nil {
		return err
	}
	runErr := a.Run(ctx)
	if err := a.Close(); err != nil && runErr == nil {
		runErr = err
	}
	return runErr
}
