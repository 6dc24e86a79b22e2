package main

import (
	"context"
	"fmt"
)

func doorCmd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "door", "[flags] ZONE open|closed",
		"Tell the running agent that the door of the cabinet zone ZONE opened or closed (for a\n"+
			"door switch wired to a script, or a cabinet controller). While a door is open, and for\n"+
			"the rescan rounds after it closes, inventory rounds do not count toward removals.")
	var cf configFlags
	cf.register(fs, false)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 || (fs.Arg(1) != "open" && fs.Arg(1) != "closed") {
		return usagef("want ZONE open|closed")
	}
	g, closeG, err := cf.open(ctx, readOnly)
	if err != nil {
		return err
	}
	defer closeG()
	if err := g.Door(ctx, fs.Arg(0), fs.Arg(1) == "open"); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "door of %s %s\n", fs.Arg(0), fs.Arg(1))
	return nil
}

func inventoryCmd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "inventory", "[flags] ZONE",
		"Print the tags a running agent sees present in the cabinet zone ZONE, one item key a\n"+
			"line: what the cabinet holds now, for a cycle count against the ledger.")
	var cf configFlags
	cf.register(fs, false)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want ZONE")
	}
	g, closeG, err := cf.open(ctx, readOnly)
	if err != nil {
		return err
	}
	defer closeG()
	items, err := g.Inventory(ctx, fs.Arg(0))
	if err != nil {
		return err
	}
	for _, t := range items {
		fmt.Fprintln(env.Stdout, t)
	}
	fmt.Fprintf(env.Stderr, "%d item(s) present in %s\n", len(items), fs.Arg(0))
	return nil
}
