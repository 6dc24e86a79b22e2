package main

import (
	"context"
	"fmt"

	"github.com/udi-edge/udi-edge/sync/sign"
)

func keyCmd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "key", "[flags]",
		"Print the line that enrols this gateway at the central service: its site, its id and\n"+
			"the public half of its signing key, which signs every batch of movements it sends.\n"+
			"The key is made when there is none yet (mode 0600, beside the ledger, or at\n"+
			"sync.signing_key); run this as the user the agent runs as. Add the line to the\n"+
			"centre's enrolment file (udi-central run --enrolment).")
	var cf configFlags
	cf.register(fs, false)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("key takes no arguments, got %d", fs.NArg())
	}
	cfg, err := cf.load()
	if err != nil {
		return err
	}
	if cfg.Site == "" {
		return usagef("key: the site is not set (--site or the configuration's site): the enrolment line names it")
	}
	priv, made, err := sign.LoadOrCreate(cfg.KeyPath())
	if err != nil {
		return err
	}
	if made {
		fmt.Fprintf(env.Stderr, "made a new signing key at %s\n", cfg.KeyPath())
	}
	fmt.Fprintln(env.Stdout, sign.Line(cfg.Site, cfg.Gateway, sign.Public(priv)))
	return nil
}
